"""The one source of "now".

Every module asks ``clock.now()`` instead of ``timezone.now()`` so that tests and simulations can
move time (``with clock.frozen(at): ...``, ``clock.advance(...)``) without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

TOKYO = ZoneInfo("Asia/Tokyo")

_global_override: list[datetime] = []


def now() -> datetime:
    """The current time, timezone-aware (UTC inside, shown in Asia/Tokyo)."""
    if _global_override:
        return _global_override[-1]
    return timezone.now()


def local_now() -> datetime:
    """The current time in Asia/Tokyo."""
    return now().astimezone(TOKYO)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Stop the clock at ``at`` (aware) for the duration of the block, in every thread."""
    if timezone.is_naive(at):
        raise ValueError("clock.frozen needs an aware datetime")
    _global_override.append(at)
    try:
        yield
    finally:
        _global_override.pop()


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward by ``delta`` and return the new time."""
    if not _global_override:
        raise RuntimeError("clock.advance needs a frozen clock")
    _global_override[-1] = _global_override[-1] + delta
    return _global_override[-1]
