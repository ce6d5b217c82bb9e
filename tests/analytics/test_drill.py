"""Drill-down: the contacts behind every number, as far as the asking user may see them; and
the time series the charts draw."""

from __future__ import annotations

from datetime import date

import pytest

from sokyaku.analytics.period import Filters, Period, filters_resolve
from sokyaku.analytics.selectors.drill import DRILL_METRICS, drill_contacts
from sokyaku.analytics.selectors.funnel import funnel
from sokyaku.analytics.selectors.kpis import kpis
from sokyaku.analytics.selectors.series import timeseries
from sokyaku.campaigns.models import Channel
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
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


def test_the_won_deals_of_one_channel_of_the_example(admin_user) -> None:  # type: ignore[no-untyped-def]
    example_channels_load()
    seo = filters_resolve(channel=Channel.objects.get(key="seo-blog").pk)

    won = drill_contacts("won", APRIL, seo, user=admin_user)

    assert won.count() == 25
    assert {c.first_touch_channel.key for c in won} == {"seo-blog"}  # type: ignore[union-attr]
    assert drill_contacts("leads", APRIL, seo, user=admin_user).count() == 500


def test_each_count_of_people_has_as_many_contacts_behind_it(admin_user) -> None:  # type: ignore[no-untyped-def]
    people = [f.contact(f.tokyo(2026, 4, day, 10), channel_key="webinar") for day in (2, 3, 4)]
    f.move(people[0], Stage.MQL, f.tokyo(2026, 4, 5, 10))
    f.move(people[0], Stage.SQL, f.tokyo(2026, 4, 6, 10))
    f.move(people[1], Stage.MQL, f.tokyo(2026, 4, 7, 10))
    f.move(people[1], Stage.RECYCLED, f.tokyo(2026, 4, 8, 10), reason="予算なし")
    f.move(people[1], Stage.MQL, f.tokyo(2026, 4, 9, 10))
    f.won_deal(people[0], f.tokyo(2026, 4, 20, 10))
    f.handoff(people[2], f.tokyo(2026, 4, 10, 10))
    f.band(people[2], "cold", "hot", f.tokyo(2026, 4, 11, 10))

    figures = kpis(APRIL, Filters()).as_dict()

    for metric in (
        "leads", "mqls", "sqls", "opportunities", "customers", "leads_converted", "won",
        "handoffs",
    ):  # fmt: skip
        assert drill_contacts(metric, APRIL, Filters(), user=admin_user).count() == figures[metric]
    assert drill_contacts("hot", APRIL, Filters(), user=admin_user).count() == figures["hot_leads"]
    assert list(drill_contacts("hot", APRIL, Filters(), user=admin_user)) == [people[2]]


def test_a_funnel_stage_opens_as_its_contacts_in_either_mode(admin_user) -> None:  # type: ignore[no-untyped-def]
    early = f.contact(f.tokyo(2026, 3, 20, 10))
    f.move(early, Stage.MQL, f.tokyo(2026, 4, 2, 10))
    skipper = f.contact(f.tokyo(2026, 4, 3, 10))
    f.move(skipper, Stage.SQL, f.tokyo(2026, 4, 4, 10))

    cohort = drill_contacts("mql", APRIL, Filters(), user=admin_user)
    entries = drill_contacts("mql", APRIL, Filters(), user=admin_user, mode="period")

    assert list(cohort) == [skipper]  # created in April, got past MQL
    assert list(entries) == [early]  # became an MQL in April
    assert cohort.count() == funnel(APRIL, Filters()).stages[1].count


def test_nurtured_leads_open_as_a_list(admin_user) -> None:  # type: ignore[no-untyped-def]
    warmed, cold = f.contact(f.tokyo(2026, 3, 2, 10)), f.contact(f.tokyo(2026, 3, 3, 10))
    f.band(warmed, "cold", "warm", f.tokyo(2026, 4, 12, 10))

    assert list(drill_contacts("nurtured", APRIL, Filters(), user=admin_user)) == [warmed]
    assert set(drill_contacts("nurture_base", APRIL, Filters(), user=admin_user)) == {
        warmed,
        cold,
    }


def test_a_rep_sees_only_their_own_contacts_behind_a_number(admin_user) -> None:  # type: ignore[no-untyped-def]
    rep = core_services.user_create(
        username="rep", password="x", role=roles.SALES_REP, check_password=False
    )
    mine = f.contact(f.tokyo(2026, 4, 2, 10), owner=rep)
    f.contact(f.tokyo(2026, 4, 3, 10))

    assert list(drill_contacts("leads", APRIL, Filters(), user=rep)) == [mine]
    assert drill_contacts("leads", APRIL, Filters(), user=admin_user).count() == 2


def test_an_unknown_metric_is_refused(admin_user) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as error:
        drill_contacts("likes", APRIL, Filters(), user=admin_user)
    assert "metric" in error.value.field_errors
    assert {"leads", "won", "lead", "customer", "hot", "nurtured"} <= set(DRILL_METRICS)


# --- time series ------------------------------------------------------------------------------


def test_daily_series_of_a_month_with_its_cost() -> None:
    f.cost("webinar", date(2026, 4, 1), 300_000)
    f.contact(f.tokyo(2026, 4, 2, 10), channel_key="webinar")
    f.contact(f.tokyo(2026, 4, 2, 11), channel_key="webinar")
    f.contact(f.tokyo(2026, 4, 30, 23), channel_key="webinar")

    series = timeseries(APRIL, Filters(), ["leads", "cost"])

    assert series.grain == "day" and len(series.dates) == 30
    assert series.values["leads"][1] == 2 and series.values["leads"][29] == 1
    assert sum(series.values["leads"]) == 3
    assert series.values["cost"][0] == 10_000 and sum(series.values["cost"]) == 300_000


def test_weekly_buckets_start_on_mondays_inside_the_period() -> None:
    f.contact(f.tokyo(2026, 4, 1, 10))  # a Wednesday
    f.contact(f.tokyo(2026, 4, 6, 10))  # the next Monday
    quarter = Period(first=date(2026, 4, 1), last=date(2026, 6, 30))

    series = timeseries(quarter, Filters(), ["leads"])

    assert series.grain == "week"
    assert series.dates[:3] == [date(2026, 4, 1), date(2026, 4, 6), date(2026, 4, 13)]
    assert series.values["leads"][:2] == [1, 1]


def test_an_unknown_series_metric_is_refused() -> None:
    with pytest.raises(ValidationError):
        timeseries(APRIL, Filters(), ["likes"])
