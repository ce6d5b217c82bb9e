"""A real Chromium drags deal cards on the pipeline board: a move is saved, and a card that
someone else moved meanwhile is refused — the page says so and shows where the deal really is,
and the other move stays."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sokyaku.deals import services
from sokyaku.deals.models import Deal
from tests.deals.factories import contact_make, deal_make, stage

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
    # Playwright's sync API runs an event loop in this thread; the ORM calls made here (test
    # data, assertions) are still plain synchronous code.
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


def _column(page, name: str):  # type: ignore[no-untyped-def]
    return page.locator(f'.board-col[data-stage="{stage(name).pk}"]')


def _drag(page, deal: Deal, to: str) -> None:  # type: ignore[no-untyped-def]
    card = page.locator(f'.deal-card[data-deal="{deal.pk}"]')
    # Grab the card by its edge (its padding), not by the link in it.
    card.drag_to(_column(page, to).locator("[data-cards]"), source_position={"x": 4, "y": 4})


def test_drag_a_card_to_the_next_stage_then_a_stale_drag_is_refused(page, live_server, sales_rep):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    # given a rep's deal in 商談開始 and the rep on the board
    contact = contact_make(owner=sales_rep, company_name="株式会社サンプル")
    deal = deal_make(owner=sales_rep, contact=contact, amount=1_200_000, name="基幹システム刷新")
    page.goto(f"{live_server.url}/login/?next=/deals/")
    page.fill("input[name=username]", "rep")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(r"/deals/$"))
    card = page.locator(f'.deal-card[data-deal="{deal.pk}"]')
    expect(_column(page, "商談開始").locator(card)).to_have_count(1)
    page.evaluate("window.__samePage = true")

    # when the card is dragged to 提案
    _drag(page, deal, "提案")

    # then the server confirms, the column sums follow, and the move is stored
    expect(page.locator(".board-notice--success")).to_be_visible()
    expect(_column(page, "提案").locator(card)).to_have_count(1)
    expect(_column(page, "提案").locator("[data-total]")).to_have_text("¥1,200,000")
    expect(_column(page, "商談開始").locator("[data-total]")).to_have_text("¥0")
    deal.refresh_from_db()
    assert deal.stage.name == "提案"
    assert page.evaluate("window.__samePage") is True

    # given someone else moves the deal to 交渉 behind the page's back
    services.deal_move(deal=deal, stage=stage("交渉"), version=deal.version, actor=None)

    # when the stale card (still shown in 提案) is dragged back to 商談開始
    _drag(page, deal, "商談開始")

    # then the page says so and shows the card where the deal really is; nothing is overwritten
    expect(page.locator(".board-notice--warning")).to_be_visible()
    expect(page.locator(".board-notice--warning")).to_contain_text("交渉")
    expect(_column(page, "交渉").locator(card)).to_have_count(1)
    expect(_column(page, "商談開始").locator(card)).to_have_count(0)
    deal.refresh_from_db()
    assert deal.stage.name == "交渉"
    assert page.evaluate("window.__samePage") is True


def test_dropping_on_lost_asks_for_the_reason_in_a_dialog(page, live_server, sales_rep):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    deal = deal_make(owner=sales_rep, contact=contact_make(owner=sales_rep), name="失注候補")
    page.goto(f"{live_server.url}/login/?next=/deals/")
    page.fill("input[name=username]", "rep")
    page.fill("input[name=password]", "x")
    page.click("button[type=submit].btn--primary")
    expect(page).to_have_url(re.compile(r"/deals/$"))

    _drag(page, deal, "失注")

    dialog = page.locator("#deal-lost-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("select[name=lost_reason]").select_option("competitor")
    dialog.locator("textarea[name=note]").fill("他社に決定")
    dialog.locator("button[type=submit]").click()
    expect(page.locator(".board-notice--success")).to_be_visible()
    expect(_column(page, "失注").locator(f'.deal-card[data-deal="{deal.pk}"]')).to_have_count(1)
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.close_note) == ("lost", "competitor", "他社に決定")
