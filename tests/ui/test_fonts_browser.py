"""Japanese is drawn with a Japanese font, never as boxes: a real Chromium reports which
installed font rendered the text of a staff page (in Japanese and in English) and of a public
form. Needs Debian's fonts-noto-cjk (``make test`` installs it as root)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from sokyaku.consent.models import ConsentTopic
from tests.capture.conftest import lead_form
from tests.conftest import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def context(live_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    fonts = (
        subprocess.run(["fc-list", ":lang=ja", "family"], capture_output=True, text=True).stdout
        if shutil.which("fc-list")
        else ""
    )
    if "Noto Sans CJK JP" not in fonts:
        skip_or_fail("fonts-noto-cjk not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(10_000)
        yield context
        browser.close()


def _fonts_drawing(page: Any, selector: str) -> set[str]:
    """The installed fonts Chromium used to draw the text directly in the first ``selector``."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {font["familyName"] for font in fonts}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_staff_pages_draw_japanese_with_a_japanese_font(context, live_server, marketer, language):  # type: ignore[no-untyped-def]
    marketer.last_name, marketer.first_name = "長谷川", "健太郎"
    marketer.save(update_fields=["last_name", "first_name"])
    client = Client()
    client.force_login(marketer)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": "django_language", "value": language, "url": live_server.url},
        ]
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/contacts/")

    # the user's name (Japanese on an English page too) and, in Japanese, the menu and title
    assert _fonts_drawing(page, ".whoami__name") == {"Noto Sans CJK JP"}
    if language == "ja":
        assert _fonts_drawing(page, "h1") == {"Noto Sans CJK JP"}


def test_a_public_form_draws_japanese_with_a_japanese_font(context, live_server):  # type: ignore[no-untyped-def]
    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    ConsentTopic.objects.create(key="seminars", name="セミナー案内")
    lead_form()
    page = context.new_page()
    page.goto(f"{live_server.url}/f/whitepaper")

    assert _fonts_drawing(page, ".skf-label") == {"Noto Sans CJK JP"}
