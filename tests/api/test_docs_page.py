"""The browsable API docs (/api/v1/docs) work without internet: Swagger UI comes from the
installed django-ninja package and is served by the app itself (whitenoise), never a CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client

DOCS_URL = "/api/v1/docs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

_ASSET_RE = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_the_docs_page_loads_its_assets_from_this_site_only(db) -> None:  # type: ignore[no-untyped-def]
    # when the docs page is opened
    response = Client().get(DOCS_URL)
    html = response.content.decode()
    assets = _ASSET_RE.findall(html)
    # then it names no other host: no CDN, no absolute address at all
    assert response.status_code == 200
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.IGNORECASE)
    assert {Path(urlsplit(a).path).name for a in assets} >= {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-init.js",
    }
    # and the app serves every script and stylesheet it names itself
    client = Client()
    served = {asset: client.get(asset) for asset in assets}
    assert {asset: r.status_code for asset, r in served.items()} == dict.fromkeys(assets, 200)
    assert all(b"".join(r.streaming_content) for r in served.values())  # type: ignore[attr-defined]


@pytest.fixture
def offline_page(live_server) -> Iterator[tuple[object, list[str]]]:  # type: ignore[no-untyped-def]
    """A Chromium page that can reach the test server and nothing else; the list collects the
    addresses it tried elsewhere."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    own = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []

    def guard(route) -> None:  # type: ignore[no-untyped-def]
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="ja-JP")
        context.set_default_timeout(20_000)
        context.route("**/*", guard)
        yield context.new_page(), elsewhere
        context.close()
        browser.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_docs_page_shows_the_operations_without_internet(
    live_server,  # type: ignore[no-untyped-def]
    offline_page: tuple[object, list[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    page, elsewhere = offline_page
    # when the docs page is opened in a browser that can reach nothing but this server
    page.goto(live_server.url + DOCS_URL)  # type: ignore[attr-defined]
    # then Swagger UI draws the API's operations, grouped, with their paths
    page.wait_for_selector(".opblock")  # type: ignore[attr-defined]
    paths = page.locator(".opblock-summary-path").all_inner_texts()  # type: ignore[attr-defined]
    assert "/api/v1/contacts" in paths
    assert "/api/v1/orders" in paths
    assert page.locator(".info .title").inner_text().startswith("sokyaku API")  # type: ignore[attr-defined]
    # and it never asked another host for anything
    assert elsewhere == []
