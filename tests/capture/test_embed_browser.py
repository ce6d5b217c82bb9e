"""A real Chromium loads a page of another site with the embed code: the form appears there,
is sent cross-origin without cookies, and the person is thanked in place."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sokyaku.activity.models import Visitor
from sokyaku.capture.models import Submission
from sokyaku.contacts.models import Contact
from tests.capture.conftest import lead_form

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def other_site(live_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Another origin (127.0.0.1 on its own port; sokyaku runs on localhost) whose page holds
    the embed code, and sets the tracking cookie as the tracking snippet would."""
    script = f"{live_server.url}/f/whitepaper/embed.js"
    html = (
        "<!DOCTYPE html><html lang='ja'><head><meta charset='utf-8'><title>Partner</title>"
        "<script>document.cookie = 'sk_vid=browser-visitor; path=/';</script></head><body>"
        "<h1>パートナーのページ</h1>"
        '<div data-sokyaku-form="whitepaper"></div>'
        f'<script src="{script}" async></script></body></html>'
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(locale="ja-JP")
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()


def test_a_form_embedded_on_an_allowed_site_is_filled_in_and_sent_there(page, other_site, topics):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # given a form that allows the other site (no minimum fill time: no sleeping in tests)
    lead_form(allowed_origins=[other_site], min_fill_seconds=0)
    # when the other site's page is opened, the form appears in it
    page.goto(f"{other_site}/campaign?utm_source=partner&utm_campaign=spring")
    form = page.locator("[data-sokyaku-form=whitepaper] form")
    expect(form).to_contain_text("個人情報の取り扱いについて")
    # and a required answer left out is reported in place
    page.fill("input[name=family_name]", "山田")
    page.fill("input[name=given_name]", "太郎")
    page.fill("input[name=email]", "taro.yamada@example.co.jp")
    page.check("input[name=_agree]")
    page.evaluate("document.querySelector('input[name=email]').removeAttribute('required')")
    page.fill("input[name=email]", "")
    page.click(".skf-submit")
    expect(form.locator(".skf-error")).to_contain_text("必須")
    # when it is completed and sent
    page.fill("input[name=email]", "taro.yamada@example.co.jp")
    page.click(".skf-submit")
    # then the person is thanked on the same page
    expect(page.locator(".skf-thanks")).to_contain_text("ありがとうございます")
    assert page.url.startswith(other_site)
    # and the submission carries the other site's page, its UTM and its visitor
    contact = Contact.objects.get()
    submission = Submission.objects.get()
    assert submission.page_url.startswith(f"{other_site}/campaign")
    assert submission.utm == {"utm_source": "partner", "utm_campaign": "spring"}
    assert Visitor.objects.get(id="browser-visitor").contact_id == contact.pk


def test_a_site_not_on_the_allow_list_cannot_show_the_form(page, other_site, topics):  # type: ignore[no-untyped-def]
    lead_form(allowed_origins=["https://www.example.co.jp"])
    page.goto(f"{other_site}/campaign")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-sokyaku-form=whitepaper] form").count() == 0
