"""Metrics over time, for charts: the additive metrics (and the prorated cost) of a period in
buckets of a day, a week (from Monday) or a month.

A bucket is named by its first day inside the period, so a period starting on a Wednesday has
a first weekly bucket of Wednesday–Sunday. ``grain="auto"`` picks days up to two months,
weeks up to a year, months beyond.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from django.utils.translation import gettext as _

from sokyaku.analytics.metrics import Metric
from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.selectors.costs import daily_cost, yen
from sokyaku.analytics.selectors.scope import counts
from sokyaku.core.errors import ValidationError

DAY, WEEK, MONTH, AUTO = "day", "week", "month", "auto"
GRAINS = (DAY, WEEK, MONTH, AUTO)
COST = "cost"
SERIES_METRICS = (*Metric, COST)


@dataclass(frozen=True)
class Series:
    grain: str
    dates: list[date] = field(default_factory=list)
    values: dict[str, list[int]] = field(default_factory=dict)


def grain_for(period: Period, grain: str = AUTO) -> str:
    """The bucket size ``auto`` stands for, or ``grain`` itself."""
    if grain != AUTO:
        return grain
    if period.days <= 62:
        return DAY
    return WEEK if period.days <= 366 else MONTH


def bucket_of(day: date, grain: str, first: date) -> date:
    """The first day of ``day``'s bucket, not before ``first`` (the period's first day)."""
    if grain == WEEK:
        start = day - timedelta(days=day.weekday())
    elif grain == MONTH:
        start = day.replace(day=1)
    else:
        start = day
    return max(start, first)


def timeseries(
    period: Period, filters: Filters, metrics: Sequence[str], *, grain: str = AUTO
) -> Series:
    """``metrics`` (``Metric`` names and ``"cost"``) of ``period`` under ``filters`` per
    bucket. Raises ``ValidationError`` for an unknown metric or grain."""
    unknown = [m for m in metrics if m not in SERIES_METRICS]
    if unknown:
        message = _("Unknown metric: %(name)s.") % {"name": unknown[0]}
        raise ValidationError(message, field_errors={"metrics": message})
    if grain not in GRAINS:
        message = _("Choose the grain day, week, month or auto.")
        raise ValidationError(message, field_errors={"grain": message})
    size = grain_for(period, grain)
    dates: list[date] = []
    day = period.first
    while day <= period.last:
        bucket = bucket_of(day, size, period.first)
        if not dates or dates[-1] != bucket:
            dates.append(bucket)
        day += timedelta(days=1)
    index = {bucket: i for i, bucket in enumerate(dates)}
    values: dict[str, list[int]] = {m: [0] * len(dates) for m in metrics}
    wanted = [Metric(m) for m in metrics if m != COST]
    if wanted:
        rows = counts(period, filters, metrics=wanted, by_day=True)
        for (day_of, metric, _channel, _campaign), value in rows.items():
            if day_of is not None and metric in values:
                values[metric][index[bucket_of(day_of, size, period.first)]] += value
    if COST in values:
        cost: list[Fraction] = [Fraction(0)] * len(dates)
        for day_of, amount in daily_cost(
            period, channel_id=filters.channel_id, campaign_id=filters.campaign_id
        ).items():
            cost[index[bucket_of(day_of, size, period.first)]] += amount
        values[COST] = [yen(c) for c in cost]
    return Series(grain=size, dates=dates, values=values)
