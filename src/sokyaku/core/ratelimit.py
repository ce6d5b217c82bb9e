"""Fixed-window rate limits counted in Django's cache, shared by every web process.

A ``Charge`` names a counter (``key``), how many units it allows per window (``limit``; 0 means
no limit), the window length in seconds and how many units this request costs. ``charge`` looks
at every counter first and admits the request only if all of them have room: a refused request
costs nothing, so one limit being reached never eats into another. Windows are aligned to the
clock in ``core.clock`` (tests move it), so a counter is simply a cache key per window that
expires with it.

The cache (settings ``CACHES``) is Redis when ``REDIS_URL`` is set, where counters are atomic
``INCR``s; otherwise the database cache (PostgreSQL) or files (embedded default), where a
counter is read, then written: requests racing in the same instant may all be admitted, which
overshoots a limit by at most the number of parallel requests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import cache

from sokyaku.core import clock

_PREFIX = "rl"


@dataclass(frozen=True)
class Charge:
    key: str
    limit: int
    window: int
    cost: int = 1


@dataclass(frozen=True)
class Decision:
    """What ``charge`` decided. ``refused`` is the first counter without room (else ``None``);
    ``remaining`` and ``reset`` (seconds to the end of its window) describe ``tightest``, the
    counter with the least room left after this request."""

    allowed: bool
    refused: Charge | None
    tightest: Charge | None
    remaining: int
    reset: int

    @property
    def retry_after(self) -> int:
        return max(1, self.reset)


def _window(charge: Charge, now: float) -> tuple[str, int]:
    start = int(now // charge.window) * charge.window
    reset = max(1, math.ceil(start + charge.window - now))
    return f"{_PREFIX}:{charge.key}:{charge.window}:{start}", reset


def _atomic_incr() -> bool:
    return cache.__class__.__name__ == "RedisCache"


def charge(charges: Sequence[Charge]) -> Decision:
    """Admit the request if every limited counter has room for its cost, and count it."""
    limited = [c for c in charges if c.limit > 0 and c.window > 0]
    if not limited:
        return Decision(allowed=True, refused=None, tightest=None, remaining=0, reset=0)
    now = clock.now().timestamp()
    windows = [(c, *_window(c, now)) for c in limited]
    used = cache.get_many([key for _c, key, _reset in windows])
    tightest: tuple[Charge, int] | None = None
    remaining = 0
    for c, key, reset in windows:
        left = c.limit - int(used.get(key, 0)) - c.cost
        if left < 0:
            return Decision(allowed=False, refused=c, tightest=c, remaining=0, reset=reset)
        if tightest is None or left < remaining:
            tightest, remaining = (c, reset), left
    atomic = _atomic_incr()
    for c, key, reset in windows:
        # The entry outlives its window by a little, so a counter is never read half-expired.
        timeout = reset + 1
        if atomic:
            cache.add(key, 0, timeout)
            cache.incr(key, c.cost)
        else:
            cache.set(key, int(used.get(key, 0)) + c.cost, timeout)
    assert tightest is not None
    return Decision(
        allowed=True, refused=None, tightest=tightest[0], remaining=remaining, reset=tightest[1]
    )


def exhausted(c: Charge) -> int | None:
    """Seconds until ``c``'s counter has room for its cost again, or ``None`` if it has room now.

    Counts nothing: for a limit on failures, which the caller charges only once it knows the
    request failed, but checks before doing the work."""
    if c.limit <= 0 or c.window <= 0:
        return None
    key, reset = _window(c, clock.now().timestamp())
    if int(cache.get(key, 0)) + c.cost > c.limit:
        return reset
    return None
