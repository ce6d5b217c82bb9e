"""A real Chromium drives the sales inbox: a rep sees their handoff with a countdown that keeps
counting in the page, opens it, gets the reject form's error, and logs a call."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sokyaku.core import clock
from sokyaku.core.calendar import TOKYO
from sokyaku.handoff import services
from sokyaku.handoff.models import SalesActivity
from tests.lifecycle.factories import contact_make

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
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
        context = browser.new_context(locale="en-US")
        context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
        context.set_default_timeout(10_000)
        yield context.new_page()
        context.close()
        browser.close()


def test_rep_works_a_handoff_with_a_live_countdown(  # type: ignore[no-untyped-def]
    page, live_server, sales_rep, admin_user
):
    from playwright.sync_api import expect

    # given a handoff assigned to the rep, due in 3 h 12 min
    with clock.frozen(datetime(2026, 6, 2, 10, 0, tzinfo=TOKYO)):
        trigger = services.trigger_save(
            trigger=None,
            data={
                "name": "デモ申し込み",
                "kind": "event",
                "event_type": "demo_requested",
                "conditions": [],
                "action_label": "デモ申し込み",
                "next_action": "24時間以内にご連絡ください。",
                "sla_hours": 24,
                "business_days_only": False,
                "reminder_minutes": 120,
                "is_active": True,
            },
            actor=None,
        )
        contact = contact_make(family_name="鈴木", given_name="一郎", company_name="株式会社テスト")
        handoff = services.handoff_create(contact=contact, trigger=trigger)
        handoff = services.handoff_reassign(
            handoff=handoff, to_user=sales_rep, reason="担当", actor=admin_user
        )

    # (half a minute inside "3 h 12 min", so a slow page load does not tip it to 3 h 11 min)
    with clock.frozen(handoff.sla_due_at - timedelta(hours=3, minutes=12, seconds=30)):
        page.clock.install()
        page.goto(f"{live_server.url}/login/?next=/handoffs/")
        page.fill("input[name=username]", "rep")
        page.fill("input[name=password]", "x")
        page.click("button[type=submit].btn--primary")
        row = page.locator(f'tr[data-handoff="{handoff.pk}"]')
        expect(row).to_contain_text("鈴木 一郎")
        expect(row.locator("[data-sla-due]")).to_have_text("3 h 12 min left")

        # (polled from here: the page's CSP forbids the eval a page-side wait would use)
        deadline = time.monotonic() + 10
        while not page.evaluate("() => window.sokyakuCountdown !== undefined"):
            assert time.monotonic() < deadline, "the countdown script never started"
            time.sleep(0.05)

        # when two hours pass in the browser, the countdown follows without a reload
        page.clock.run_for("02:01:00")
        expect(row.locator("[data-sla-due]")).to_have_text("1 h 11 min left")
        page.clock.run_for("01:15:00")
        expect(row.locator("[data-sla-due]")).to_have_text(re.compile(r"^Overdue by \d+ min$"))

        # when the rep opens the handoff and rejects it without a reason
        row.get_by_role("link", name="鈴木 一郎").click()
        expect(page.locator("h1")).to_contain_text("鈴木 一郎")
        page.locator(".handoff-reject summary").click()
        page.locator(".handoff-reject button[type=submit]").click()
        # then the reason field says so
        expect(page.locator(".handoff-reject .field--invalid .field__error")).to_be_visible()

        # when the rep logs a call
        page.locator(".handoff-log summary").click()
        page.select_option("select[name=kind]", "call")
        page.fill("input[name=subject]", "初回架電")
        page.get_by_role("button", name="Log activity").click()
        # then it is listed and the speed to lead is shown
        expect(page.locator("#activities")).to_contain_text("初回架電")
        expect(page.locator("[data-speed-to-lead]")).to_be_visible()
    assert SalesActivity.objects.filter(contact=contact, kind="call").exists()
