"""The weighted forecast per month and owner, the board's sums and company roll-ups, on a small
example computed by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from sokyaku.core import clock
from sokyaku.core.errors import NotFound
from sokyaku.deals import selectors, services
from sokyaku.deals.models import LostReason
from tests.deals.factories import contact_make, deal_make, pipeline, stage, tokyo, user_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def example():  # type: ignore[no-untyped-def]
    """Two reps in May–July 2026.

    佐藤: ¥1,000,000 in 提案 (30 %) closing 5/20 → ¥300,000 weighted in May;
          ¥500,000 in 交渉 (60 %) closing 6/10 → ¥300,000 in June.
    鈴木: ¥2,000,000 in 商談開始 (10 %) closing 5/31 → ¥200,000 in May;
          won ¥800,000 on 5/15 and ¥400,000 on 6/1 00:30 JST (still 5/31 in UTC: June);
          won ¥999 on 4/30 23:30 JST (April: outside).
    Not counted: a deal closing in September, a deal without an amount, a lost deal.
    """
    sato, suzuki = user_make(name="sato"), user_make(name="suzuki")
    with clock.frozen(tokyo(2026, 4, 30, 23, 30)):
        early = deal_make(owner=suzuki, amount=999)
        services.deal_win(deal=early, actor=suzuki)
    with clock.frozen(tokyo(2026, 5, 1, 10, 0)):
        deal_make(owner=sato, amount=1_000_000, stage_name="提案", expected_close=date(2026, 5, 20))
        deal_make(owner=sato, amount=500_000, stage_name="交渉", expected_close=date(2026, 6, 10))
        deal_make(owner=suzuki, amount=2_000_000, expected_close=date(2026, 5, 31))
        deal_make(owner=sato, amount=3_000_000, expected_close=date(2026, 9, 1))
        deal_make(owner=sato, amount=None, expected_close=date(2026, 5, 2))
        lost = deal_make(owner=sato, amount=700_000, expected_close=date(2026, 5, 3))
        services.deal_lose(deal=lost, actor=sato, reason=LostReason.PRICE)
        may_win = deal_make(owner=suzuki, amount=800_000)
        june_win = deal_make(owner=suzuki, amount=400_000)
    with clock.frozen(tokyo(2026, 5, 15, 10, 0)):
        services.deal_win(deal=may_win, actor=suzuki)
    with clock.frozen(tokyo(2026, 6, 1, 0, 30)):
        services.deal_win(deal=june_win, actor=suzuki)
    return sato, suzuki


def test_forecast_weights_by_probability_per_month_and_owner(example) -> None:  # type: ignore[no-untyped-def]
    sato, suzuki = example

    result = selectors.forecast(user=None, start=date(2026, 5, 17), months=3)

    assert result.months == [date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1)]
    rows = {row.owner_id: row for row in result.rows}
    assert rows[sato.pk].weighted == [300_000, 300_000, 0]
    assert rows[sato.pk].pipeline == [1_000_000, 500_000, 0]
    assert rows[sato.pk].won == [0, 0, 0]
    assert rows[suzuki.pk].weighted == [200_000, 0, 0]
    assert rows[suzuki.pk].won == [800_000, 400_000, 0]
    assert result.weighted == [500_000, 300_000, 0]
    assert result.pipeline == [3_000_000, 500_000, 0]
    assert result.won == [800_000, 400_000, 0]
    assert (result.weighted_total, result.pipeline_total, result.won_total) == (
        800_000,
        3_500_000,
        1_200_000,
    )


def test_a_rep_forecasts_only_their_own_deals(example) -> None:  # type: ignore[no-untyped-def]
    sato, _suzuki = example

    result = selectors.forecast(user=sato, start=date(2026, 5, 1), months=3)

    assert [row.owner_id for row in result.rows] == [sato.pk]
    assert result.weighted_total == 600_000
    assert result.won_total == 0


def test_board_columns_count_and_sum(example) -> None:  # type: ignore[no-untyped-def]
    with clock.frozen(tokyo(2026, 6, 2, 9, 0)):
        columns = selectors.board(user=None, pipeline=pipeline())

    summary = {c.stage.name: (c.count, c.total, c.weighted) for c in columns}
    assert summary["商談開始"] == (3, 5_000_000, 500_000)
    assert summary["提案"] == (1, 1_000_000, 300_000)
    assert summary["交渉"] == (1, 500_000, 300_000)
    # Closed in the last 30 days only: the April win and the loss of 5/1 have left the board.
    assert summary["受注"] == (2, 1_200_000, 1_200_000)
    assert summary["失注"] == (0, 0, 0)


def test_company_rollup() -> None:
    contact = contact_make(company_name="株式会社サンプル")
    deal_make(contact=contact, amount=1_000_000, stage_name="提案")
    deal_make(contact=contact, amount=500_000, stage_name="交渉")
    services.deal_win(deal=deal_make(contact=contact, amount=2_000_000), actor=None)
    services.deal_lose(deal=deal_make(contact=contact), actor=None, reason=LostReason.COMPETITOR)
    deal_make(amount=9_000_000)  # another company

    rollup = selectors.company_rollup(user=None, company_id=contact.company_id)  # type: ignore[arg-type]

    assert (rollup.open_count, rollup.open_amount, rollup.open_weighted) == (2, 1_500_000, 600_000)
    assert (rollup.won_count, rollup.won_amount, rollup.lost_count) == (1, 2_000_000, 1)
    assert len(rollup.deals) == 4


def test_a_rep_sees_only_their_deals_and_gets_404_for_others() -> None:
    mine, theirs = user_make(), user_make()
    own = deal_make(owner=mine)
    other = deal_make(owner=theirs)

    assert list(selectors.deal_list(user=mine)) == [own]
    assert selectors.contact_deals(user=mine, contact_id=other.contact_id) == []  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        selectors.deal_get(user=mine, id=other.pk)
    assert stage("商談開始").deals.count() == 2


def test_the_board_costs_two_queries_for_any_number_of_deals(
    django_assert_num_queries: Any,
) -> None:
    rep = user_make()
    for name in ("商談開始", "提案", "交渉", "提案"):
        deal_make(owner=rep, stage_name=name)
    board_pipeline = pipeline()

    with django_assert_num_queries(2):
        columns = selectors.board(user=None, pipeline=board_pipeline)
        names = [(d.name, d.contact.display_name, d.owner) for c in columns for d in c.deals]  # type: ignore[union-attr]

    assert len(names) == 4
