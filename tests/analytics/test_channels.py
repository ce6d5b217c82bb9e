"""The channel evaluation table: per channel figures, the seeds' worked example exactly, and the
ranking by cost per won deal."""

from __future__ import annotations

from datetime import date

import pytest

from sokyaku.analytics.models import DailyCount
from sokyaku.analytics.period import Filters, Period, filters_resolve
from sokyaku.analytics.selectors.channels import channel_table
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.demo.example import example_channels_load
from tests.analytics import kpi_factories as f

pytestmark = pytest.mark.django_db

NOW = f.tokyo(2026, 5, 14, 10, 0)
APRIL = Period(first=date(2026, 4, 1), last=date(2026, 4, 30))


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


def test_the_seeds_example_comes_out_exactly() -> None:
    example_channels_load()

    table = channel_table(APRIL, Filters())

    rows = {row.key: row for row in table.rows}
    seo, social, webinar = rows["seo-blog"], rows["paid-social"], rows["webinar"]
    assert (seo.leads, seo.cost, seo.cpl, seo.won, seo.win_rate) == (
        500,
        1_000_000,
        2_000,
        25,
        0.05,
    )
    assert (social.leads, social.cost, social.cpl, social.won, social.win_rate) == (
        300,
        600_000,
        2_000,
        6,
        0.02,
    )
    assert (webinar.leads, webinar.cost, webinar.cpl, webinar.won, webinar.win_rate) == (
        100,
        300_000,
        3_000,
        8,
        0.08,
    )
    assert len(table.rows) == 3 and table.no_data is False


def test_seo_and_webinar_rank_above_paid_social_on_cost_per_won_deal() -> None:
    example_channels_load()

    table = channel_table(APRIL, Filters())

    assert [(row.key, row.cac, row.rank) for row in table.rows] == [
        ("webinar", 37_500, 1),
        ("seo-blog", 40_000, 2),
        ("paid-social", 100_000, 3),
    ]


def test_every_stage_revenue_and_roi_per_channel_and_in_total() -> None:
    example_channels_load()

    table = channel_table(APRIL, Filters())

    seo = next(row for row in table.rows if row.key == "seo-blog")
    assert (seo.mqls, seo.sqls, seo.opportunities) == (25, 25, 25)
    assert seo.revenue == 25 * 600_000
    assert seo.roi == 14.0
    total = table.total
    assert total is not None
    assert (total.leads, total.cost, total.won, total.revenue) == (900, 1_900_000, 39, 23_400_000)
    assert total.cpl == 2_111 and total.rank == 0


def test_leads_without_a_channel_get_their_own_row(english: None) -> None:
    f.contact(f.tokyo(2026, 4, 2, 10))
    f.contact(f.tokyo(2026, 4, 3, 10), channel_key="webinar")

    table = channel_table(APRIL, Filters())

    assert sorted((row.channel_id == 0, row.channel, row.leads) for row in table.rows) == [
        (False, "ウェビナー", 1),
        (True, "No channel", 1),
    ]


def test_history_of_a_deleted_channel_is_labelled_as_deleted(english: None) -> None:
    # The rollups keep a deleted channel's days under its old id.
    DailyCount.objects.create(day=date(2026, 4, 5), metric="leads", channel_id=987_654, value=3)

    table = channel_table(APRIL, Filters())

    (row,) = table.rows
    assert (row.channel, row.leads, row.is_deleted) == ("Deleted channel #987654", 3, True)


def test_a_channel_with_a_cost_but_no_leads_is_listed_with_no_cpl() -> None:
    f.cost("trade-show", date(2026, 4, 1), 500_000)

    (row,) = channel_table(APRIL, Filters()).rows

    assert (row.key, row.leads, row.cost, row.cpl, row.win_rate) == (
        "trade-show",
        0,
        500_000,
        None,
        None,
    )


def test_won_deals_without_a_cost_rank_after_costed_ones_and_before_no_wins() -> None:
    f.cost("seo-blog", date(2026, 4, 1), 1_000_000)
    f.cost("webinar", date(2026, 4, 1), 100_000)
    seo = f.contact(f.tokyo(2026, 4, 2, 10), channel_key="seo-blog")
    referral = f.contact(f.tokyo(2026, 4, 2, 10), channel_key="referral")
    f.contact(f.tokyo(2026, 4, 2, 10), channel_key="webinar")
    f.won_deal(seo, f.tokyo(2026, 4, 20, 10))
    f.won_deal(referral, f.tokyo(2026, 4, 20, 10))

    table = channel_table(APRIL, Filters())

    assert [(row.key, row.rank, row.cac) for row in table.rows] == [
        ("seo-blog", 1, 1_000_000),
        ("referral", 2, None),
        ("webinar", 3, None),
    ]


def test_an_empty_period_has_no_rows_and_a_zero_total() -> None:
    table = channel_table(APRIL, Filters())

    assert table.rows == [] and table.no_data is True
    assert table.total is not None and (table.total.leads, table.total.cost) == (0, 0)


def test_an_owner_filter_counts_their_leads_and_divides_no_cost() -> None:
    rep = core_services.user_create(
        username="rep", password="x", role=roles.SALES_REP, check_password=False
    )
    f.cost("seo-blog", date(2026, 4, 1), 300_000)
    f.contact(f.tokyo(2026, 4, 3, 12), channel_key="seo-blog", owner=rep)
    f.contact(f.tokyo(2026, 4, 4, 12), channel_key="seo-blog")

    (row,) = channel_table(APRIL, filters_resolve(owner=rep.pk)).rows

    assert (row.leads, row.cost, row.cpl, row.roi) == (1, 300_000, None, None)
