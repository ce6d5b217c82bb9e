"""The demo's score bands as they changed over its history, not all on the day it was loaded.

The demo scores everyone once, after the events are in (``scoring_demo_rebuild``); that
recompute records each contact's band change (cold → warm or hot) at the demo's "now", as if
every lead had warmed up on load day. Reports that read temperatures in the past (the hot-lead
ratio at the end of last month, the nurturing rate of a month) then find everybody cold before
today. ``score_history_demo_write`` replays each contact's score ledger (the ``ScoreEntry`` rows
the recompute built, the ruleset's half-life and the contact's fit points) and stores every
band change at the instant it happened: upward when an event's points lift the score over an
edge, downward when decay takes it under one. The last change of each contact ends in the band
the recompute stored, so the history read backwards from the present agrees with it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sokyaku.activity import listeners
from sokyaku.activity import services as activity_services
from sokyaku.activity.events import NewEvent, event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.scoring import selectors as scoring_selectors
from sokyaku.scoring.models import ScoreEntry, ScoreState, Temperature

logger = logging.getLogger(__name__)

COLD, WARM, HOT = Temperature.COLD.value, Temperature.WARM.value, Temperature.HOT.value
_LOWER = {HOT: WARM, WARM: COLD}


@dataclass(frozen=True)
class Edges:
    """The ruleset's band edges and engagement half-life (seconds)."""

    warm: float
    hot: float
    half_life: float

    def band(self, total: float) -> str:
        if total >= self.hot:
            return HOT
        return WARM if total >= self.warm else COLD

    def floor(self, band: str) -> float:
        return self.hot if band == HOT else self.warm


@dataclass(frozen=True)
class Change:
    at: datetime
    before: str
    after: str
    score: float


def band_history(
    *,
    entries: list[tuple[datetime, int]],
    fit: float,
    created_at: datetime,
    now: datetime,
    edges: Edges,
) -> list[Change]:
    """The band changes of one contact from ``created_at`` to ``now``: ``entries`` are its
    behaviour points (time, points) oldest first; engagement halves every half-life."""
    changes: list[Change] = []
    band = edges.band(fit)
    if band != COLD:
        changes.append(Change(at=created_at, before=COLD, after=band, score=fit))
    eng, last = 0.0, created_at

    def decay_until(until: datetime) -> None:
        nonlocal band
        while band != COLD and eng > 0:
            room = edges.floor(band) - fit
            if room <= 0:  # fit alone keeps this band
                return
            seconds = edges.half_life * math.log2(eng / room)
            at = last + timedelta(seconds=max(seconds, 0.0))
            if at >= until:
                return
            lower = _LOWER[band]
            changes.append(Change(at=at, before=band, after=lower, score=edges.floor(band)))
            band = lower

    for at, points in entries:
        at = max(at, last)
        decay_until(at)
        eng = eng * 2.0 ** (-(at - last).total_seconds() / edges.half_life) + points
        last = at
        now_band = edges.band(eng + fit)
        if now_band != band:
            changes.append(Change(at=at, before=band, after=now_band, score=eng + fit))
            band = now_band
    decay_until(now)
    return changes


def _ledgers() -> Iterator[tuple[int, list[tuple[datetime, int]]]]:
    """Each scored contact's behaviour points, oldest first (streamed, one contact at a time)."""
    rows = ScoreEntry.objects.order_by("contact_id", "occurred_at", "id").values_list(
        "contact_id", "occurred_at", "points"
    )
    current: int | None = None
    entries: list[tuple[datetime, int]] = []
    for contact_id, at, points in rows.iterator(chunk_size=5000):
        if contact_id != current:
            if current is not None:
                yield current, entries
            current, entries = contact_id, []
        entries.append((at, points))
    if current is not None:
        yield current, entries


def score_history_demo_write(*, now: datetime) -> int:
    """Replace the band changes the demo's recompute recorded at ``now`` by the changes as they
    happened (see the module docstring). Returns how many band changes are stored."""
    ruleset = scoring_selectors.ruleset_active()
    if ruleset is None:
        return 0
    edges = Edges(
        warm=float(ruleset.warm_at),
        hot=float(ruleset.hot_at),
        half_life=float(ruleset.half_life_days) * 86_400,
    )
    states = {
        contact_id: (fit, temperature, created_at)
        for contact_id, fit, temperature, created_at in ScoreState.objects.values_list(
            "contact_id", "fit", "temperature", "contact__created_at"
        ).iterator(chunk_size=5000)
    }
    ledgers = dict(_ledgers())
    events: list[NewEvent] = []
    for contact_id, (fit, stored, created_at) in states.items():
        changes = band_history(
            entries=ledgers.get(contact_id, []),
            fit=float(fit),
            created_at=min(created_at, now),
            now=now,
            edges=edges,
        )
        final = changes[-1].after if changes else COLD
        if final != stored:  # rounding at an edge: end where the recompute did
            changes.append(Change(at=now, before=final, after=stored, score=edges.floor(stored)))
        events.extend(
            event_build(
                type=EventType.SCORE_BAND_CHANGED,
                occurred_at=change.at,
                source=EventSource.SYSTEM,
                properties={
                    "from": change.before,
                    "to": change.after,
                    "score": round(change.score, 1),
                },
                contact_id=contact_id,
            )
            for change in changes
        )
    at_load = list(
        Event.objects.filter(
            type=EventType.SCORE_BAND_CHANGED, occurred_at=now, source=EventSource.SYSTEM
        ).values_list("pk", flat=True)
    )
    # The lifecycle and the sales history were derived from the same events already.
    with listeners.paused():
        written = activity_services.events_replace(remove_ids=at_load, events=events)
    logger.info("demo.score_history", extra={"changes": written, "replaced": len(at_load)})
    return written
