"""The demo's one random stream: every draw the demo makes goes through it, in a fixed order,
which is what makes a load with the same seed come out the same.

Besides the ``random.Random`` it holds the calendar and the serials of generated ids (messages,
orders), and knows when things happen: when a lead arrives, and how people keep office hours.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sokyaku.core import clock
from sokyaku.demo.marketing import GROWTH, Calendar, local_time

_T = TypeVar("_T")


class Weighted(Generic[_T]):
    """A fixed weighted choice (cumulative weights computed once, O(log n) per draw)."""

    def __init__(self, items: Sequence[_T], weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> _T:
        point = rng.random() * self.cumulative[-1]
        return self.items[bisect.bisect_right(self.cumulative, point)]


class Stream:
    def __init__(self, *, seed: int, cal: Calendar) -> None:
        self.rng = random.Random(f"sokyaku-demo:{seed}")
        self.cal = cal
        self._messages = 0
        self._orders = 0

    def lead_time(self) -> datetime:
        """When a lead arrives: more of them lately, mostly in business hours."""
        cal = self.cal
        at = cal.start + timedelta(seconds=cal.span * self.rng.random() ** GROWTH)
        return self.business_hours(at)

    def business_hours(self, at: datetime) -> datetime:
        """``at`` moved into office hours (weekdays 9–19 JST) on the same or an earlier day,
        most of the time; never outside the window."""
        rng = self.rng
        if rng.random() < 0.15:  # evenings and weekends happen too
            return at
        day = at.astimezone(clock.TOKYO).date()
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        moved = local_time(day, rng.randint(9, 18), rng.randint(0, 59))
        moved += timedelta(seconds=rng.randint(0, 59))
        return moved if self.cal.start <= moved < self.cal.now else at

    def between(self, start: datetime, end: datetime) -> datetime:
        """A uniformly random moment in [start, end)."""
        return start + (end - start) * self.rng.random()

    def visitor_id(self) -> str:
        return f"v-{self.rng.getrandbits(64):016x}"

    def message_id(self) -> str:
        self._messages += 1
        return f"<demo-{self._messages}@mail.demo-ma.example>"

    def order_id(self) -> str:
        self._orders += 1
        return f"DEMO-{self._orders:06d}"
