"""The arithmetic of decaying engagement, bands and the moment a band drops (pure functions).

Engagement is a pair ``(value, epoch)`` worth ``value · 2^(-(t - epoch) / h)`` at time t (epoch
and t in epoch seconds, h the half-life in seconds). Points p earned at t_e are worth
``p · 2^(-(t - t_e) / h)`` at t, so adding them moves the epoch to ``max(epoch, t_e)`` and stays
exact whatever order events arrive in.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from sokyaku.scoring.models import Temperature

DAY = 86400.0


def worth(points: float, earned_at: float, at: float, half_life: float) -> float:
    """What ``points`` earned at ``earned_at`` are worth at ``at``."""
    return points * math.pow(2.0, (earned_at - at) / half_life)


def add(
    value: float, epoch: float, *, points: float, at: float, half_life: float
) -> tuple[float, float]:
    """``(value, epoch)`` after adding ``points`` earned at ``at``."""
    new_epoch = max(epoch, at)
    return worth(value, epoch, new_epoch, half_life) + worth(
        points, at, new_epoch, half_life
    ), new_epoch


def points_shown(value: float) -> int:
    """A score as people read it: whole points, rounded down.

    Every place that shows a score (contact list, inbox, score panel, alert mail and chat, API
    ``points``) shows this number, and the band shown beside it is ``band_for`` of this same
    number: 19.99 is shown as 19 and is cold, never "20 (cold)". Rounding down keeps the shown
    engagement plus fit equal to the shown total (fit is whole points).
    """
    return math.floor(value)


def band_for(total: float, *, warm_at: float, hot_at: float) -> str:
    if total >= hot_at:
        return Temperature.HOT
    if total >= warm_at:
        return Temperature.WARM
    return Temperature.COLD


def drops_at(
    *,
    value: float,
    epoch: float,
    fit: float,
    band: str,
    warm_at: float,
    hot_at: float,
    half_life: float,
) -> float | None:
    """When ``value·2^(-(t-epoch)/h) + fit`` falls below ``band``'s lower edge (epoch seconds).

    ``None`` when it never will: the band is cold, or fit alone keeps the total in the band.
    """
    if band == Temperature.COLD:
        return None
    edge = hot_at if band == Temperature.HOT else warm_at
    if fit >= edge:
        return None
    if value <= 0:
        return epoch
    # value · 2^(-(t - epoch)/h) = edge - fit  ⇔  t = epoch + h · log2(value / (edge - fit))
    return epoch + half_life * math.log2(value / (edge - fit))


def to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
