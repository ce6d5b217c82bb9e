"""A real Chromium builds a two-condition segment and sees the live count follow each edit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sokyaku.segments.models import Segment

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-sync",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def page(live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
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


def test_build_a_segment_and_watch_the_live_count(page, live_server, people) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    count = page.locator("#seg-builder-count [data-count]")
    # given a signed-in marketer on a new segment (starts with "title level ≥ director")
    page.goto(f"{live_server.url}/segments/new/")
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(r"/segments/new/$"))
    expect(count).to_have_attribute("data-count", "2")  # 山田 (部長), 田中 (社長)

    # when adding a second condition: industry is "information and communications"
    page.click("[data-add=condition]")
    page.select_option("select[name='conditions.1.field']", "company.industry")
    page.select_option("select[name='conditions.1.value']", "G")
    # then nobody is both
    expect(count).to_have_attribute("data-count", "0")

    # when matching any instead of all
    page.select_option("select[name=op]", "or")
    # then the director, the president and 鈴木 (an IT company) match
    expect(count).to_have_attribute("data-count", "3")

    # when a value is bad, the error shows next to the condition
    page.select_option("select[name='conditions.1.field']", "company.employees")
    page.fill("input[name='conditions.1.value']", "")
    expect(page.locator(".segbuilder__row.field--invalid .field__error")).to_be_visible()

    # when saving a valid segment
    page.fill("input[name='conditions.1.value']", "300")
    expect(count).to_have_attribute("data-count", "2")
    page.fill("#id_name", "部長以上か大企業")
    page.click("form#segment-form button[type=submit].btn--primary")
    # then its page lists the members
    expect(page.locator("h1")).to_contain_text("部長以上か大企業")
    expect(page.locator(".segment-members")).to_contain_text("山田 太郎")
    assert Segment.objects.get(name="部長以上か大企業").definition["op"] == "or"
