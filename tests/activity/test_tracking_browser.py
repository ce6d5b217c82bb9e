"""A real Chromium runs the tracking snippet on a customer's page (another origin): the
first-party cookie sk_vid, page views with UTM parameters through sendBeacon, single-page-app
navigation, the visitor id for forms, and the opt-out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sokyaku.activity.models import Event, EventType

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The test server listens on 127.0.0.1; a real installation has a public address, which a
    # public website may load from. Chromium's private-network checks would stand in between.
    "--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,"
    "LocalNetworkAccessChecks",
]
CUSTOMER = "http://www.customer.example"
LANDING = f"{CUSTOMER}/lp/ma?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    html = (
        '<!doctype html><html><head><meta charset="utf-8"><title>MAツール比較</title>'
        f'<script async src="{live_server.url}/t/snippet.js"></script></head>'
        '<body><form id="f" action="/thanks"><input type="hidden" name="_vid"></form></body></html>'
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # Headless Chromium says so in its User-Agent, and robots are not counted.
        agent = browser.new_page().evaluate("navigator.userAgent").replace("Headless", "")
        context = browser.new_context(locale="ja-JP", user_agent=agent)
        context.set_default_timeout(10_000)
        # The customer's website, on its own origin.
        context.route(
            f"{CUSTOMER}/**",
            lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=html
            ),
        )
        yield context.new_page()
        context.close()
        browser.close()


def _views(count: int, timeout: float = 10.0) -> list[Event]:
    """The stored page views once there are ``count`` (the beacon arrives on its own time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        views = list(Event.objects.filter(type=EventType.PAGE_VIEW).order_by("id"))
        if len(views) >= count:
            return views
        time.sleep(0.05)
    return list(Event.objects.filter(type=EventType.PAGE_VIEW).order_by("id"))


def test_the_snippet_tracks_a_landing_and_a_spa_navigation(page) -> None:  # type: ignore[no-untyped-def]
    # when a visitor lands on the customer's page from a paid social ad
    page.goto(LANDING, referer="https://www.facebook.com/")
    page.wait_for_function("!!window.sokyaku && document.cookie.includes('sk_vid=')")
    # then the browser has a first-party visitor id, and the view is stored with the UTM
    visitor = page.evaluate("window.sokyaku.visitorId()")
    assert f"sk_vid={visitor}" in page.evaluate("document.cookie")
    assert page.evaluate("localStorage.getItem('sk_vid')") == visitor
    (view,) = _views(1)
    assert view.visitor_id == visitor
    assert view.properties["url"] == LANDING
    assert view.properties["title"] == "MAツール比較"
    assert (view.properties["utm_source"], view.properties["utm_campaign"]) == (
        "facebook",
        "spring",
    )
    # when the single-page app moves on, a second view is sent with the first as referrer
    page.evaluate("history.pushState({}, '', '/pricing')")
    views = _views(2)
    assert len(views) == 2
    assert views[1].properties["url"] == f"{CUSTOMER}/pricing"
    assert views[1].properties["referrer"] == LANDING
    # and a form on the page gets the visitor id when it is sent
    page.evaluate(
        "document.getElementById('f').dispatchEvent(new Event('submit', {cancelable: true}))"
    )
    assert page.evaluate("document.querySelector('input[name=_vid]').value") == visitor


def test_after_an_opt_out_nothing_is_sent(page) -> None:  # type: ignore[no-untyped-def]
    page.goto(LANDING)
    page.wait_for_function("!!(window.sokyaku && window.sokyaku.loaded)")
    _views(1)
    page.evaluate("window.sokyaku.optOut()")
    assert page.evaluate("window.sokyaku.visitorId()") == ""
    page.reload()
    page.wait_for_function("!!(window.sokyaku && window.sokyaku.loaded)")
    page.evaluate("history.pushState({}, '', '/other')")
    assert len(_views(2, timeout=1.0)) == 1
