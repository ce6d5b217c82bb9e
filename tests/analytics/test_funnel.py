"""The funnel lead → MQL → SQL → opportunity → customer: counts per stage (cohort or period),
conversion between stages, median days in each stage from the lifecycle history."""

from __future__ import annotations

from datetime import date

import pytest

from sokyaku.analytics.period import Filters, Period, filters_resolve
from sokyaku.analytics.selectors.funnel import funnel
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.demo.example import example_channels_load
from sokyaku.lifecycle.models import Stage
from tests.analytics import kpi_factories as f

pytestmark = pytest.mark.django_db

NOW = f.tokyo(2026, 5, 14, 10, 0)
APRIL = Period(first=date(2026, 4, 1), last=date(2026, 4, 30))


@pytest.fixture(autouse=True)
def _frozen():  # type: ignore[no-untyped-def]
    with clock.frozen(NOW):
        yield


def _april() -> None:
    """p1 goes all the way; p2 skips MQL; p3 is recycled and qualifies again; p4 stays a lead;
    p5 (created in March) becomes an MQL in April."""
    p1 = f.contact(f.tokyo(2026, 4, 2, 10), channel_key="webinar")
    f.move(p1, Stage.MQL, f.tokyo(2026, 4, 4, 10))
    f.move(p1, Stage.SQL, f.tokyo(2026, 4, 6, 10))
    f.move(p1, Stage.OPPORTUNITY, f.tokyo(2026, 4, 10, 10))
    f.won_deal(p1, f.tokyo(2026, 4, 20, 10))
    p2 = f.contact(f.tokyo(2026, 4, 3, 10))
    f.move(p2, Stage.SQL, f.tokyo(2026, 4, 8, 10))
    p3 = f.contact(f.tokyo(2026, 4, 5, 10))
    f.move(p3, Stage.MQL, f.tokyo(2026, 4, 7, 10))
    f.move(p3, Stage.RECYCLED, f.tokyo(2026, 4, 9, 10), reason="時期尚早")
    f.move(p3, Stage.MQL, f.tokyo(2026, 4, 20, 10))
    f.contact(f.tokyo(2026, 4, 6, 10))
    p5 = f.contact(f.tokyo(2026, 3, 20, 10))
    f.move(p5, Stage.MQL, f.tokyo(2026, 4, 3, 10))


def test_cohort_counts_each_lead_at_every_stage_it_reached() -> None:
    _april()

    result = funnel(APRIL, Filters())

    assert result.mode == "cohort"
    assert [(s.stage, s.count) for s in result.stages] == [
        ("lead", 4),
        ("mql", 3),  # p2 reached SQL without being an MQL: it got at least that far
        ("sql", 2),
        ("opportunity", 1),
        ("customer", 1),
    ]
    assert [s.conversion for s in result.stages] == [None, 0.75, pytest.approx(2 / 3), 0.5, 1.0]


def test_median_days_in_each_stage_until_the_next_one_forward() -> None:
    _april()

    result = funnel(APRIL, Filters())

    # lead: p1 2 d, p2 5 d (to SQL), p3 2 d; MQL: p1 2 d (p3 never moved on); SQL: p1 4 d;
    # opportunity: p1 10 d; nobody has moved on from customer.
    assert [s.median_days for s in result.stages] == [2.0, 2.0, 4.0, 10.0, None]


def test_period_mode_counts_the_stage_entries_in_the_period() -> None:
    _april()

    result = funnel(APRIL, Filters(), mode="period")

    assert [(s.stage, s.count) for s in result.stages] == [
        ("lead", 4),
        ("mql", 3),  # p1, p3 (once) and p5 from March
        ("sql", 2),
        ("opportunity", 1),
        ("customer", 1),
    ]
    assert result.stages[1].median_days == 2.0


def test_the_cohort_follows_the_channel_filter() -> None:
    _april()

    result = funnel(APRIL, filters_resolve(channel=f.channel("webinar").pk))

    assert [s.count for s in result.stages] == [1, 1, 1, 1, 1]


def test_the_seeds_example_as_a_funnel() -> None:
    example_channels_load(month=date(2026, 4, 1))

    result = funnel(APRIL, Filters())

    assert [s.count for s in result.stages] == [900, 39, 39, 39, 39]
    assert [s.median_days for s in result.stages] == [1.0, 2.0, 1.0, 7.0, None]


def test_an_empty_period_has_zero_stages_and_no_data() -> None:
    result = funnel(APRIL, Filters())

    assert result.no_data is True
    assert [s.count for s in result.stages] == [0, 0, 0, 0, 0]
    assert all(s.conversion is None and s.median_days is None for s in result.stages)


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValidationError) as error:
        funnel(APRIL, Filters(), mode="weekly")
    assert "mode" in error.value.field_errors
