"""A rep on a phone (390 × 844, Japanese): the sales inbox, a handoff and the pipeline board fit
the screen without sideways scrolling; the SLA countdown is on screen, and the handoff page has
tap-to-call (``tel:`` in E.164) and ``mailto:`` links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from sokyaku.core import clock
from sokyaku.core.calendar import TOKYO
from sokyaku.handoff import services
from tests.deals.factories import deal_make
from tests.lifecycle.factories import contact_make

PHONE = {"width": 390, "height": 844}
OVERFLOW = "document.scrollingElement.scrollWidth - window.innerWidth"
# What in the page content sticks out of the screen or out of its own box (text too wide for
# its button, say), outside containers that scroll on purpose.
STICKING_OUT = """() => [...document.querySelectorAll("main *")].filter((e) => {
  const r = e.getBoundingClientRect();
  if (!r.width || e.closest(".tablewrap, .board")) return false;
  const style = getComputedStyle(e);
  const clips = ["auto", "scroll", "hidden", "clip"].includes(style.overflowX);
  return r.left < -1 || r.right > innerWidth + 1 || (!clips && e.scrollWidth > e.clientWidth + 1);
}).map((e) => e.className || e.tagName)"""

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone(browser, live_server) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="ja-JP", viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_cookies([{"name": "django_language", "value": "ja", "url": live_server.url}])
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _on_screen(page, locator) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box


def test_a_rep_works_the_inbox_a_handoff_and_the_board_on_a_phone(  # type: ignore[no-untyped-def]
    phone, live_server, sales_rep, admin_user
):
    from playwright.sync_api import expect

    page = phone
    # given a handoff to the rep with a long company name, a phone number and a mail address
    with clock.frozen(datetime(2026, 6, 2, 10, 0, tzinfo=TOKYO)):
        trigger = services.trigger_save(
            trigger=None,
            data={
                "name": "デモ申し込み",
                "kind": "event",
                "event_type": "demo_requested",
                "conditions": [],
                "action_label": "デモ申し込み",
                "next_action": "24時間以内にメールまたは電話でご連絡ください。",
                "sla_hours": 24,
                "business_days_only": False,
                "reminder_minutes": 120,
                "is_active": True,
            },
            actor=None,
        )
        contact = contact_make(
            family_name="鈴木",
            given_name="一郎",
            company_name="株式会社サンプル製作所ホールディングスグループ情報システム統括本部",
            email="ichiro.suzuki.longaddress@sample-seisakusho-holdings.example.co.jp",
            phone="03-1234-5678",
            title="情報システム部 部長",
        )
        handoff = services.handoff_create(contact=contact, trigger=trigger)
        handoff = services.handoff_reassign(
            handoff=handoff, to_user=sales_rep, reason="担当", actor=admin_user
        )
        deal_make(owner=sales_rep, contact=contact, name="MA導入 サンプル製作所")

    page.goto(f"{live_server.url}/login/?next=/handoffs/")
    page.fill("input[name=username]", "rep")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")

    # the inbox: the row's SLA is on screen, nothing scrolls sideways
    row = page.locator(f'[data-handoff="{handoff.pk}"]')
    expect(row).to_contain_text("鈴木 一郎")
    _on_screen(page, row.locator("[data-sla-due]"))
    assert page.evaluate(OVERFLOW) <= 0
    assert page.evaluate(STICKING_OUT) == []

    # the handoff: SLA, tap-to-call and mail on screen
    row.get_by_role("link", name="鈴木 一郎").click()
    expect(page.locator("h1")).to_contain_text("鈴木 一郎")
    _on_screen(page, page.locator(".handoff-reach [data-sla-due]"))
    call = page.locator('.handoff-reach a[href="tel:+81312345678"]')
    _on_screen(page, call)
    expect(call).to_contain_text("03-1234-5678")
    _on_screen(
        page,
        page.locator(
            '.handoff-reach a[href="mailto:ichiro.suzuki.longaddress@'
            'sample-seisakusho-holdings.example.co.jp"]'
        ),
    )
    assert page.evaluate(OVERFLOW) <= 0
    assert page.evaluate(STICKING_OUT) == []

    # the board: the columns scroll inside the board, the page does not
    page.goto(f"{live_server.url}/deals/")
    expect(page.locator(".deal-card").first).to_be_visible()
    assert page.evaluate(OVERFLOW) <= 0

    # the forecast, the rep's fourth menu entry: the month navigation wraps, the page does not
    # scroll sideways
    page.goto(f"{live_server.url}/deals/forecast/")
    expect(page.locator(".monthnav")).to_be_visible()
    assert page.evaluate(OVERFLOW) <= 0
    assert page.evaluate(STICKING_OUT) == []
