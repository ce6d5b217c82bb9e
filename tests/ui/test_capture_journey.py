"""The lead-capture journey in a real Chromium, from a first anonymous visit to a known lead.

A visitor comes from a Google ad to the customer's own website (another origin), which carries
the tracking snippet and the embed code of a sokyaku form. They read a page, then fill in the
embedded form. Another person fills in the hosted form on sokyaku itself. Both end up as
contacts with their submission event, consent records that keep the hash of the exact
purpose-of-use text they saw, and — for the first — their earlier page views and first touch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.consent.models import ConsentRecord, ConsentTopic
from sokyaku.consent.services import text_sha256
from sokyaku.contacts.models import Contact
from tests.capture.conftest import PURPOSE_BODY, lead_form

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
LANDING = f"{CUSTOMER}/lp/ma?utm_source=google&utm_medium=cpc&utm_campaign=ma-spring"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    customer_page = (
        "<!doctype html><html lang='ja'><head><meta charset='utf-8'><title>MA導入ガイド</title>"
        f"<script async src='{live_server.url}/t/snippet.js'></script></head><body>"
        "<h1>MA導入ガイド</h1><div data-sokyaku-form='whitepaper'></div>"
        f"<script async src='{live_server.url}/f/whitepaper/embed.js'></script>"
        "</body></html>"
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        # Headless Chromium says so in its User-Agent, and robots are not counted.
        agent = browser.new_page().evaluate("navigator.userAgent").replace("Headless", "")
        context = browser.new_context(locale="ja-JP", user_agent=agent)
        context.set_default_timeout(15_000)
        context.route(
            f"{CUSTOMER}/**",
            lambda route: route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=customer_page
            ),
        )
        yield context.new_page()
        context.close()
        browser.close()


def _wait_for(query, count: int = 1, timeout: float = 30.0) -> list:  # type: ignore[no-untyped-def]
    """Rows of ``query`` once there are ``count`` (beacons and posts arrive on their own time;
    on SQLite a write may wait up to the 20 s busy timeout behind another connection)."""
    deadline = time.monotonic() + timeout
    rows = list(query.all())
    while len(rows) < count and time.monotonic() < deadline:
        time.sleep(0.05)
        rows = list(query.all())  # a fresh query each time: a QuerySet keeps its first result
    return rows


def _fill(page, *, family: str, given: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("input[name=family_name]", family)
    page.fill("input[name=given_name]", given)
    page.fill("input[name=email]", email)
    page.check("input[name=_agree]")
    page.check("input[name=_consent_newsletter]")


@pytest.fixture
def topics() -> list[ConsentTopic]:
    return [
        ConsentTopic.objects.create(key="newsletter", name="メールマガジン"),
        ConsentTopic.objects.create(key="seminars", name="セミナー案内"),
    ]


def test_a_visitor_becomes_a_lead_through_the_embedded_and_the_hosted_form(
    page, live_server, topics
):  # type: ignore[no-untyped-def]  # noqa: E501
    from playwright.sync_api import expect

    lead_form(allowed_origins=[CUSTOMER], min_fill_seconds=0)

    # given a visitor from a Google ad reading the customer's page (tracked anonymously)
    page.goto(LANDING)
    view = _wait_for(Event.objects.filter(type=EventType.PAGE_VIEW).order_by("id"))[0]
    assert view.contact_id is None
    assert view.properties["utm_source"] == "google"

    # when they fill in the form embedded on that page
    form = page.locator("[data-sokyaku-form=whitepaper] form")
    expect(form).to_contain_text("個人情報の取り扱いについて")
    _fill(page, family="山田", given="太郎", email="taro.yamada@example.co.jp")
    page.click(".skf-submit")
    expect(page.locator(".skf-thanks")).to_be_visible()

    # then they are a contact with the submission, the consent and their earlier page view
    (taro,) = _wait_for(Contact.objects.filter(email="taro.yamada@example.co.jp"))
    assert taro.display_name == "山田 太郎"
    assert Event.objects.filter(contact=taro, type=EventType.FORM_SUBMITTED).count() == 1
    consent = ConsentRecord.objects.get(contact=taro, topic__key="newsletter")
    assert consent.text_sha256 == text_sha256(PURPOSE_BODY)
    assert (consent.text_version, consent.legal_basis) == (1, "opt_in")
    assert Event.objects.get(pk=view.pk).contact_id == taro.pk
    taro.refresh_from_db()
    assert taro.first_touch_channel is not None
    assert taro.first_touch_channel.key == "paid-search"

    # when another person fills in the hosted form on sokyaku itself
    page.goto(f"{live_server.url}/f/whitepaper")
    _fill(page, family="佐藤", given="花子", email="hanako.sato@example.co.jp")
    page.click("form button[type=submit]")
    expect(page.locator("body")).to_contain_text("ありがとうございます")

    # then she is a contact with her submission and consent too
    (hanako,) = _wait_for(Contact.objects.filter(email="hanako.sato@example.co.jp"))
    assert Event.objects.filter(contact=hanako, type=EventType.FORM_SUBMITTED).count() == 1
    assert ConsentRecord.objects.get(contact=hanako, topic__key="newsletter").text_sha256 == (
        text_sha256(PURPOSE_BODY)
    )
