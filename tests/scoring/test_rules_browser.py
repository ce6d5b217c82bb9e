"""A real Chromium: a marketer edits a scoring rule and sees the recompute finish."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sokyaku.scoring.selectors import ruleset_active
from sokyaku.scoring.services import PRESET, ruleset_export, ruleset_publish
from tests.scoring.factories import make_contact

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

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


def test_marketer_edits_a_rule_and_sees_the_recompute_finish(page, live_server, marketer):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # given the preset and a few contacts
    ruleset_publish(definition=PRESET)
    for n in range(3):
        make_contact(n, title="部長", company="製造株式会社", industry="E", employees=120)
    page.goto(f"{live_server.url}/scoring/")
    page.fill("input[name=username]", "marketer")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(r"/scoring/$"))
    # when the marketer edits the webinar rule to give 20 points
    page.locator("#behaviour-rules tr", has_text="ウェビナー参加").get_by_role("link").click()
    page.fill("input[name=points]", "20")
    page.click("button[type=submit].btn--primary")
    # then version 2 is published and the recompute of every contact finishes
    expect(page).to_have_url(re.compile(r"/scoring/$"))
    expect(page.locator("#recompute-status")).to_contain_text("3")
    expect(page.locator(".scoring-run--done")).to_be_visible()
    expect(page.locator("#behaviour-rules")).to_contain_text("+20")
    rules = ruleset_export(ruleset=ruleset_active())["rules"]
    assert [r["points"] for r in rules if r["event_type"] == "webinar_attended"] == [20]
