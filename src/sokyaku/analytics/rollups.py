"""Daily rollups: ``analytics.metrics`` stored per Tokyo day and source, kept current.

(Interface placeholder: reads compute from the raw tables until the rollup store lands.)
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sokyaku.analytics.metrics import Key, Metric, day_bounds, raw_counts


def listeners_install() -> None:
    """Register the reactions that mark days dirty (called from ``AppConfig.ready``)."""


def rollup_counts(
    first: date, last: date, *, by_day: bool = False, metrics: set[Metric] | None = None
) -> Counter[Key]:
    """The metrics of Tokyo days ``first`` … ``last`` (inclusive), keyed like ``raw_counts``."""
    start, end = day_bounds(first, last)
    return raw_counts(start, end, by_day=by_day, metrics=metrics)
