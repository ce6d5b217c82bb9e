"""What the first-week journeys share: Debian's Chromium driven by Playwright, and a browser
context signed in as a given user (the session cookie of a Django test client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """``(playwright, browser)``; the test's ORM calls run beside Playwright's event loop."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium not installed (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield playwright, browser
        browser.close()


def signed_in(browser: Any, live_server: Any, user: Any, **options: Any) -> Any:
    """A Japanese browser context in which ``user`` is signed in (``options``: viewport …)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="ja-JP", **options)
    context.set_default_timeout(20_000)
    context.add_cookies(
        [
            {
                "name": django_settings.SESSION_COOKIE_NAME,
                "value": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


@pytest.fixture
def browser(chromium: tuple[Any, Any]) -> Any:
    """The Chromium browser alone (see ``chromium``)."""
    return chromium[1]
