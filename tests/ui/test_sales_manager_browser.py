"""A sales manager's week in a real Chromium, in Japanese: from the menu to the team's handoff
report (SLA met %, speed to lead, 商談化率 and reject reasons per rep, another team nowhere), to
forecast against quota, to the quotas of the team — on a 1280 px screen and on a 390 px phone,
without sideways scrolling, raw values or English."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User

from sokyaku.core import clock, roles
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import ForecastCategory
from tests.analytics import reports_stories
from tests.analytics.reports_stories import SalesWeek
from tests.deals.factories import deal_make, tokyo
from tests.handoff.factories import rep_make, team_make
from tests.ui.conftest import signed_in
from tests.ui.page_checks import foreign_text, sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

sales_week = reports_stories.sales_week

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
JUNE = "from=2026-06-01&to=2026-06-30"


@pytest.fixture
def manager(sales_week: SalesWeek) -> User:
    """山本 manages 第一営業課 (田中, with June's handoffs, a quota and deals); 鈴木 is in
    第二営業課. 田中: quota ¥5,000,000, won ¥3,000,000, ¥1,000,000 committed in 提案."""
    yamamoto = rep_make("山本", "部長")
    team_make(sales_week.tanaka, manager=yamamoto, name="第一営業課")
    team_make(sales_week.suzuki, manager=rep_make("伊藤", "課長"), name="第二営業課")
    admin = rep_make("管理", "者", role=roles.ADMIN)
    deal_services.quotas_save(
        actor=admin,
        month=date(2026, 6, 1),
        amounts={sales_week.tanaka.pk: 5_000_000, sales_week.suzuki.pk: 4_000_000},
    )
    with clock.frozen(tokyo(2026, 6, 2, 10, 0)):
        won = deal_make(owner=sales_week.tanaka, amount=3_000_000, stage_name="交渉")
        committed = deal_make(
            owner=sales_week.tanaka,
            amount=1_000_000,
            stage_name="提案",
            expected_close=date(2026, 6, 20),
        )
    deal_services.deal_update(
        deal=committed, actor=None, version=None, forecast_category=ForecastCategory.COMMIT
    )
    with clock.frozen(tokyo(2026, 6, 10, 15, 0)):
        deal_services.deal_win(deal=won, actor=sales_week.tanaka)
    return yamamoto


def _fits_and_reads_japanese(page) -> None:  # type: ignore[no-untyped-def]
    assert sideways_overflow(page) == 0, page.url
    assert foreign_text(page) == [], page.url


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_manager_opens_the_teams_sla_report_and_forecast_vs_quota(  # type: ignore[no-untyped-def]
    browser, live_server, manager, viewport
):
    from playwright.sync_api import expect

    context = signed_in(browser, live_server, manager, viewport=viewport)
    page = context.new_page()
    # the team's handoff report, from the menu (the phone's menu button, the desktop's 分析)
    page.goto(f"{live_server.url}/handoffs/")
    if viewport is PHONE:
        page.locator("[data-menu=drawer] summary").click()
        page.locator("[data-menu=drawer] [data-menu-entry=handoffs_report]").click()
    else:
        page.locator("[data-menu=bar] [data-menu-group=analyse] summary").click()
        page.locator("[data-menu=bar] [data-menu-entry=handoffs_report]").click()
    expect(page).to_have_url(f"{live_server.url}/analytics/handoffs/")
    page.goto(f"{live_server.url}/analytics/handoffs/?{JUNE}")
    expect(page.locator("[data-report-scope]")).to_contain_text("第一営業課")
    reps = page.locator("#handoff-reps tbody tr")
    expect(reps).to_have_count(1)
    expect(reps.first).to_contain_text("田中 健太")
    expect(reps.first).to_contain_text("100%")  # SLA met
    expect(reps.first).to_contain_text("50%")  # 商談化率
    expect(page.locator("#handoff-reasons")).to_contain_text("予算なし")
    expect(page.get_by_text("鈴木 花子")).to_have_count(0)
    _fits_and_reads_japanese(page)
    # forecast against quota
    with clock.frozen(tokyo(2026, 6, 15, 9, 0)):
        page.goto(f"{live_server.url}/analytics/forecast/?{JUNE}")
    quota = page.locator("#forecast-quota")
    expect(quota).to_contain_text("目標達成率")
    row = quota.locator("tbody tr", has_text="田中 健太")
    expect(row.locator("[data-cell=quota]")).to_have_text("¥5,000,000")
    expect(row.locator("[data-cell=won]")).to_have_text("¥3,000,000")
    expect(row.locator("[data-cell=committed]")).to_have_text("¥1,000,000")
    expect(row.locator("[data-cell=quota_attainment]")).to_have_text("60%")
    expect(quota).not_to_contain_text("鈴木")
    _fits_and_reads_japanese(page)
    # the team's quotas, from the report
    page.get_by_role("link", name="目標を設定").click()
    expect(page.locator("#quotas")).to_contain_text("田中 健太")
    expect(page.locator("#quotas")).not_to_contain_text("鈴木")
    expect(page.get_by_label("田中 健太")).to_have_value("5000000")
    _fits_and_reads_japanese(page)
    # the board, filtered by a rep of the team
    page.goto(f"{live_server.url}/deals/")
    page.locator("#board-owner").select_option(label="田中 健太")
    page.locator("#board-owner").evaluate("select => select.form.submit()")
    expect(page.locator(".deal-card")).to_have_count(2)  # June's committed one, the week's
    expect(page.locator(".deal-card", has_text="田中 健太")).to_have_count(2)
    expect(page.locator(".deal-card [data-forecast-category=commit]")).to_have_text("コミット")
    _fits_and_reads_japanese(page)
    context.close()
