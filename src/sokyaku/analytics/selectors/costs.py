"""What channels cost in a period: monthly ``ChannelCost`` rows prorated by days.

A cost is entered per month (optionally for one campaign of the channel). A period that covers
a whole month gets the month's amount; one that covers part of it gets the share of its days
(10 of 30 days: a third). Channel-level and campaign-level rows of a channel add up, as the
campaigns app shows them. Sums are exact fractions until ``yen`` rounds them (half up), so a
cost split over days and added back never drifts by a yen.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from datetime import date, timedelta
from fractions import Fraction

from django.db.models import QuerySet

from sokyaku.analytics.period import Period
from sokyaku.campaigns.models import ChannelCost


def yen(value: Fraction | float | int) -> int:
    """Whole yen, rounded half up (¥2,999.5 → ¥3,000)."""
    return int((Fraction(value) + Fraction(1, 2)).__floor__())


def ratio_yen(amount: Fraction | int, count: int) -> int | None:
    """``amount ÷ count`` in whole yen (half up); ``None`` when ``count`` is zero."""
    return yen(Fraction(amount) / count) if count else None


def _month_days(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def _cost_rows(
    period: Period, *, channel_id: int | None, campaign_id: int | None
) -> QuerySet[ChannelCost]:
    """The cost rows of the months ``period`` touches (of one channel or campaign if given)."""
    rows = ChannelCost.objects.filter(
        month__gte=period.first.replace(day=1), month__lte=period.last
    )
    if channel_id is not None:
        rows = rows.filter(channel_id=channel_id)
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    return rows


def cost_by_channel(
    period: Period, *, channel_id: int | None = None, campaign_id: int | None = None
) -> dict[int, Fraction]:
    """Exact cost per channel id in ``period`` (channels without a cost row are absent).

    ``campaign_id`` keeps only that campaign's rows; ``channel_id`` only that channel's.
    """
    rows = _cost_rows(period, channel_id=channel_id, campaign_id=campaign_id)
    out: dict[int, Fraction] = defaultdict(Fraction)
    for channel, month, amount in rows.values_list("channel_id", "month", "amount_jpy"):
        days = _month_days(month)
        month_last = month + timedelta(days=days - 1)
        inside = (min(period.last, month_last) - max(period.first, month)).days + 1
        if inside > 0:
            out[channel] += Fraction(amount * inside, days)
    return dict(out)


def daily_cost(
    period: Period, *, channel_id: int | None = None, campaign_id: int | None = None
) -> dict[date, Fraction]:
    """Exact cost per day of ``period`` (all channels together), for charts."""
    rows = _cost_rows(period, channel_id=channel_id, campaign_id=campaign_id)
    per_month: dict[date, int] = defaultdict(int)
    for month, amount in rows.values_list("month", "amount_jpy"):
        per_month[month] += amount
    out: dict[date, Fraction] = {}
    day = period.first
    while day <= period.last:
        amount = per_month.get(day.replace(day=1), 0)
        if amount:
            out[day] = Fraction(amount, _month_days(day))
        day += timedelta(days=1)
    return out
