"""The sales manager's reports: the handoff report (SLA met %, speed to lead, 商談化率, reject
reasons per rep) and forecast against quota, each narrowed to the manager's own team — never
another team's — and to a rep's own numbers; marketing sees everyone, as before. On the pages
and through the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.selectors import reports
from sokyaku.analytics.selectors.scope import report_scope
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import ForecastCategory
from tests.analytics import reports_stories
from tests.analytics.reports_stories import SalesWeek
from tests.deals.factories import deal_make, tokyo
from tests.handoff.factories import rep_make, team_make

pytestmark = pytest.mark.django_db

sales_week = reports_stories.sales_week

JUNE = Period(first=date(2026, 6, 1), last=date(2026, 6, 30))
JUNE_QUERY = {"from": "2026-06-01", "to": "2026-06-30"}


@dataclass
class Org:
    """田中 in 第一営業課 (manager 山本), 鈴木 in 第二営業課 (manager 伊藤); managers are reps."""

    week: SalesWeek
    yamamoto: User
    ito: User
    marketer: User


@pytest.fixture
def org(sales_week: SalesWeek) -> Org:
    yamamoto, ito = rep_make("山本", "部長"), rep_make("伊藤", "課長")
    team_make(sales_week.tanaka, manager=yamamoto, name="第一営業課")
    team_make(sales_week.suzuki, manager=ito, name="第二営業課")
    marketer = rep_make("広瀬", "真理", role=roles.MARKETER)
    return Org(week=sales_week, yamamoto=yamamoto, ito=ito, marketer=marketer)


def _signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _key(user: User) -> Client:
    token = core_services.apikey_create(
        name="reports", scopes=[ApiScope.ANALYTICS_READ], created_by=user
    ).token
    return Client(headers={"Authorization": f"Bearer {token}"})


# --- the handoff report ---------------------------------------------------------------------


def test_a_manager_sees_their_teams_sla_speed_and_conversion(org: Org) -> None:
    report = reports.handoff_report(JUNE, Filters(), scope=report_scope(org.yamamoto))

    [tanaka] = report.by_rep
    assert tanaka.key == org.week.tanaka.pk
    counts = tanaka.counts
    assert (counts.handoffs, counts.accepted, counts.rejected) == (2, 1, 1)
    assert (counts.sla_met_rate, counts.median_speed_minutes, counts.opportunity_rate) == (
        1.0,
        75,
        0.5,
    )
    assert [(r.reason, r.count) for r in report.reject_reasons] == [("no_budget", 1)]
    assert report.total.handoffs == 2


def test_a_manager_does_not_see_another_team(org: Org) -> None:
    mine = reports.handoff_report(JUNE, Filters(), scope=report_scope(org.ito))

    assert [g.key for g in mine.by_rep] == [org.week.suzuki.pk]
    assert org.week.tanaka.pk not in {g.key for g in mine.by_rep}


def test_a_rep_sees_only_themselves(org: Org) -> None:
    report = reports.handoff_report(JUNE, Filters(), scope=report_scope(org.week.suzuki))

    assert [g.key for g in report.by_rep] == [org.week.suzuki.pk]
    assert (report.total.handoffs, report.total.open, report.total.sla_breached) == (2, 1, 1)


def test_marketing_sees_every_rep_as_before(org: Org) -> None:
    report = reports.handoff_report(JUNE, Filters(), scope=report_scope(org.marketer))

    assert report_scope(org.marketer) is None
    assert {g.key for g in report.by_rep} == {org.week.tanaka.pk, org.week.suzuki.pk}


def test_the_managers_page_shows_their_team_only(org: Org) -> None:
    page = _signed_in(org.yamamoto).get(reverse("analytics:handoffs"), JUNE_QUERY)

    text = page.content.decode()
    assert page.status_code == 200
    assert "田中 健太" in text and "鈴木 花子" not in text
    assert "第一営業課" in text and "第二営業課" not in text
    assert "予算なし" in text  # the reject reason, in Japanese


def test_naming_another_teams_rep_on_the_page_shows_nothing_of_them(org: Org) -> None:
    query = {**JUNE_QUERY, "owner": str(org.week.suzuki.pk)}

    page = _signed_in(org.yamamoto).get(reverse("analytics:handoffs"), query)

    text = page.content.decode()
    assert "鈴木 花子" not in text
    assert f"ユーザー {org.week.suzuki.pk} は存在しません" in text
    assert 'id="handoff-reps"' not in text


def test_the_managers_key_reads_the_team_report_and_not_another_team(org: Org) -> None:
    api = _key(org.yamamoto)

    body = api.get("/api/v1/analytics/handoffs", JUNE_QUERY).json()
    other = api.get("/api/v1/analytics/handoffs", {**JUNE_QUERY, "owner": org.week.suzuki.pk})

    assert [row["id"] for row in body["by_rep"]] == [org.week.tanaka.pk]
    assert body["total"]["sla_met_rate"] == 1.0
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["query", "owner"]


def test_the_sequence_report_stays_marketings(org: Org) -> None:
    assert _signed_in(org.yamamoto).get(reverse("analytics:sequences")).status_code == 403
    assert _key(org.yamamoto).get("/api/v1/analytics/sequences").status_code == 403


# --- forecast against quota -----------------------------------------------------------------


@dataclass
class Quarter:
    manager: User
    tanaka: User
    suzuki: User
    takahashi: User


@pytest.fixture
def quotas_and_deals(db: None) -> Quarter:
    """June 2026. 第一営業課 (manager 山本): 田中 and 鈴木; 第二営業課: 高橋.

    田中: quota ¥5,000,000; won ¥3,000,000 on 6/10; open in 提案 (30 %) ¥1,000,000 closing 6/20,
          committed; open in 交渉 (60 %) ¥2,000,000 closing 6/25; an omitted ¥9,000,000 deal
          closing 6/30 (counts nowhere).
    鈴木: quota ¥4,000,000, no deals.
    高橋: quota ¥1,000,000; won ¥2,000,000.
    """
    manager = rep_make("山本", "部長")
    tanaka, suzuki, takahashi = rep_make("田中"), rep_make("鈴木"), rep_make("高橋")
    team_make(tanaka, suzuki, manager=manager, name="第一営業課")
    team_make(takahashi, name="第二営業課")
    admin = rep_make("管理", role=roles.ADMIN)
    deal_services.quotas_save(
        actor=admin,
        month=date(2026, 6, 1),
        amounts={tanaka.pk: 5_000_000, suzuki.pk: "¥4,000,000", takahashi.pk: 1_000_000},
    )
    with clock.frozen(tokyo(2026, 6, 1, 10, 0)):
        won = deal_make(owner=tanaka, amount=3_000_000, stage_name="交渉")
        committed = deal_make(
            owner=tanaka, amount=1_000_000, stage_name="提案", expected_close=date(2026, 6, 20)
        )
        deal_make(
            owner=tanaka, amount=2_000_000, stage_name="交渉", expected_close=date(2026, 6, 25)
        )
        omitted = deal_make(
            owner=tanaka, amount=9_000_000, stage_name="交渉", expected_close=date(2026, 6, 30)
        )
        other_win = deal_make(owner=takahashi, amount=2_000_000)
    for deal, category in (
        (committed, ForecastCategory.COMMIT),
        (omitted, ForecastCategory.OMITTED),
    ):
        deal_services.deal_update(deal=deal, actor=tanaka, version=None, forecast_category=category)
    with clock.frozen(tokyo(2026, 6, 10, 15, 0)):
        deal_services.deal_win(deal=won, actor=tanaka)
        deal_services.deal_win(deal=other_win, actor=takahashi)
    return Quarter(manager=manager, tanaka=tanaka, suzuki=suzuki, takahashi=takahashi)


def _rows(report: Any) -> dict[int | None, Any]:
    return {row.owner_id: row.total for row in report.rows}


def test_quota_attainment_per_rep_of_the_managers_team(quotas_and_deals: Quarter) -> None:
    q = quotas_and_deals
    with clock.frozen(tokyo(2026, 6, 15, 9, 0)):
        report = reports.forecast_report(JUNE, scope=report_scope(q.manager))

    rows = _rows(report)
    assert set(rows) == {q.tanaka.pk, q.suzuki.pk}
    tanaka, suzuki = rows[q.tanaka.pk], rows[q.suzuki.pk]
    assert (tanaka.quota, tanaka.won, tanaka.quota_attainment) == (5_000_000, 3_000_000, 0.6)
    # ¥1,000,000 × 30 % + ¥2,000,000 × 60 %; the omitted ¥9,000,000 counts nowhere
    assert (tanaka.open_weighted, tanaka.committed) == (1_500_000, 1_000_000)
    assert tanaka.pipeline == 3_000_000
    assert (suzuki.quota, suzuki.won, suzuki.quota_attainment) == (4_000_000, 0, 0.0)
    assert (report.total.quota, report.total.won) == (9_000_000, 3_000_000)
    assert report.total.quota_attainment == pytest.approx(1 / 3)


def test_a_rep_sees_their_own_quota_only(quotas_and_deals: Quarter) -> None:
    q = quotas_and_deals
    with clock.frozen(tokyo(2026, 6, 15, 9, 0)):
        report = reports.forecast_report(JUNE, scope=report_scope(q.suzuki))

    assert list(_rows(report)) == [q.suzuki.pk]


def test_marketing_sees_every_reps_quota(quotas_and_deals: Quarter) -> None:
    q = quotas_and_deals
    with clock.frozen(tokyo(2026, 6, 15, 9, 0)):
        report = reports.forecast_report(JUNE)

    rows = _rows(report)
    assert rows[q.takahashi.pk].quota_attainment == 2.0
    assert report.total.quota == 10_000_000


def test_the_forecast_page_sets_won_against_quota_for_the_team(quotas_and_deals: Quarter) -> None:
    q = quotas_and_deals
    with clock.frozen(tokyo(2026, 6, 15, 9, 0)):
        page = _signed_in(q.manager).get(reverse("analytics:forecast"), JUNE_QUERY)

    text = page.content.decode()
    table = text[text.index('id="forecast-quota"') :]
    table = table[: table.index("</table>")]
    assert page.status_code == 200
    assert f'data-owner="{q.tanaka.pk}"' in table and f'data-owner="{q.takahashi.pk}"' not in table
    assert "¥5,000,000" in table and "60%" in table and "¥1,500,000" in table
    assert "目標達成率" in text and "目標を設定" in text


def test_the_forecast_api_gives_quota_and_attainment(quotas_and_deals: Quarter) -> None:
    q = quotas_and_deals
    with clock.frozen(tokyo(2026, 6, 15, 9, 0)):
        body = _key(q.manager).get("/api/v1/analytics/forecast", JUNE_QUERY).json()

    rows = {row["owner_id"]: row["total"] for row in body["rows"]}
    assert set(rows) == {q.tanaka.pk, q.suzuki.pk}
    tanaka = rows[q.tanaka.pk]
    assert (tanaka["quota"], tanaka["won"], tanaka["quota_attainment"]) == (
        5_000_000,
        3_000_000,
        0.6,
    )
    assert (tanaka["weighted_pipeline"], tanaka["committed"]) == (1_500_000, 1_000_000)


# --- the board, filtered by rep -------------------------------------------------------------


def test_a_manager_filters_the_board_by_a_rep_of_their_team(quotas_and_deals: Quarter) -> None:
    q = quotas_and_deals
    board = _signed_in(q.manager)

    with clock.frozen(tokyo(2026, 9, 1, 9, 0)):  # the June wins have left the board
        mine = board.get(reverse("deals:board"), {"owner": q.tanaka.pk}).content.decode()
        theirs = board.get(reverse("deals:board"), {"owner": q.takahashi.pk}).content.decode()

    owners = mine[mine.index('id="board-owner"') :]
    owners = owners[: owners.index("</select>")]
    assert f'value="{q.tanaka.pk}" selected' in owners
    assert f'value="{q.takahashi.pk}"' not in owners
    assert mine.count('class="deal-card"') == 3  # 田中's open deals (the omitted one too)
    assert theirs.count('class="deal-card"') == 0
