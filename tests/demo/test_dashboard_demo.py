"""The demo's numbers on the dashboard are ones a marketer would believe: a return on the
marketing spend and a forecast attainment in a plausible range, hot leads and nurtured leads
in the history (score bands change when they happened, not all on load day)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.analytics.period import Filters, Period, period_parse
from sokyaku.analytics.selectors.kpis import kpis
from sokyaku.analytics.selectors.reports import forecast_report
from sokyaku.core import clock
from sokyaku.demo.generator import demo_load
from sokyaku.demo.scores import Edges, band_history

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 0, 0, tzinfo=clock.TOKYO)
SIZE = 1000


def test_every_dashboard_card_of_the_demo_is_plausible() -> None:
    # given the demo loaded "today" (April 15)
    with clock.frozen(NOW):
        demo_load(contacts=SIZE, seed=42, now=NOW)
        this_month = period_parse(None, None)
        so_far = kpis(this_month.so_far(), Filters())
        last = kpis(Period(first=date(2026, 3, 1), last=date(2026, 3, 31)), Filters())
        forecast = forecast_report(this_month).total
        # then the return on the spend is a believable one, this month so far and last month
        for figures in (so_far, last):
            assert figures.cost > 0 and figures.revenue > 0
            assert figures.roi is not None and -1.0 <= figures.roi <= 20.0, figures.roi
        # the forecast of this month is neither missed nor beaten a hundredfold
        assert forecast.attainment is not None and 0.1 <= forecast.attainment <= 3.0
        # some leads are hot, now and at the end of last month
        assert so_far.hot_lead_ratio is not None and so_far.hot_lead_ratio > 0
        assert last.hot_lead_ratio is not None and last.hot_lead_ratio > 0
        # and some cold leads warmed up, in March and this month — not all of them
        for figures in (so_far, last):
            assert figures.nurturing_rate is not None and 0 < figures.nurturing_rate < 1
    # the band changes are spread over the history, not all at load time
    changes = Event.objects.filter(type=EventType.SCORE_BAND_CHANGED)
    assert changes.exists()
    assert changes.filter(occurred_at__lt=NOW).count() > changes.filter(occurred_at=NOW).count()
    assert not changes.filter(occurred_at__gt=NOW).exists()


def test_a_band_rises_with_the_points_and_falls_as_they_decay() -> None:
    # given warm at 20, hot at 40, a half-life of 10 days and no fit points
    edges = Edges(warm=20, hot=40, half_life=10 * 86_400)
    start = datetime(2026, 1, 1, 9, 0, tzinfo=clock.TOKYO)
    # when a contact earns 25 points on Jan 2 and 20 more on Jan 3
    changes = band_history(
        entries=[(datetime(2026, 1, 2, 9, 0, tzinfo=clock.TOKYO), 25),
                 (datetime(2026, 1, 3, 9, 0, tzinfo=clock.TOKYO), 20)],
        fit=0,
        created_at=start,
        now=datetime(2026, 3, 1, tzinfo=clock.TOKYO),
        edges=edges,
    )  # fmt: skip
    # then it warmed on Jan 2, got hot on Jan 3, and cooled back as the points halved
    assert [(c.before, c.after) for c in changes] == [
        ("cold", "warm"),
        ("warm", "hot"),
        ("hot", "warm"),
        ("warm", "cold"),
    ]
    assert changes[0].at.day == 2 and changes[1].at.day == 3
    assert changes[1].at < changes[2].at < changes[3].at < datetime(2026, 3, 1, tzinfo=clock.TOKYO)
