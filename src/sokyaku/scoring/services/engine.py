"""Incremental scoring (the event listener) and scheduled band drops.

``events_score`` is registered as the ``scoring`` listener: it runs inside the transaction that
stores events, so a score always commits or rolls back with its events. Per batch: one query for
the active rule set, one to lock the contacts' score rows, and per matching (event, rule) a cap
check (when capped) and the ledger insert; fit is one query per batch when an attribute event
is among them. A batch touching more than ``BULK_CONTACTS`` contacts, and a merge, go through the
set-based rebuild restricted to those contacts (same result).

Caps: a (contact, rule) earns at most ``cap`` entries per Asia/Tokyo day or week. When a late
event arrives in a full period and happened before the latest entry of that period, it takes
that entry's place, exactly as a recompute (which keeps the first ``cap`` by time) would.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.db import connection, transaction

from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.scoring import decay
from sokyaku.scoring.compiled import Compiled, CompiledRule, compiled_active
from sokyaku.scoring.models import ScoreEntry, ScoreState, Temperature
from sokyaku.scoring.rules import (
    BEHAVIOUR_TYPES,
    cap_bounds,
    event_matches,
    fit_points_expression,
    is_machine_open,
)

logger = logging.getLogger(__name__)

BULK_CONTACTS = 300
FIT_TYPES = frozenset(
    {
        EventType.CONTACT_CREATED,
        EventType.CONTACT_UPDATED,
        EventType.IMPORTED,
        EventType.CONTACT_MERGED,
    }
)
RELEVANT = frozenset(BEHAVIOUR_TYPES) | FIT_TYPES


def fit_points_for(*, compiled: Compiled, contact_ids: Iterable[int]) -> dict[int, int]:
    """Fit points of live contacts under the compiled rule set, in one query."""
    ids = list(contact_ids)
    if not ids:
        return {}
    rows = (
        Contact.objects.filter(id__in=ids)
        .order_by()
        .annotate(fit_points=fit_points_expression(compiled.fit_rules))
        .values_list("id", "fit_points")
    )
    return {contact_id: int(points or 0) for contact_id, points in rows}


@dataclass
class _Pending:
    state: ScoreState
    exists: bool


def _lock_states(contact_ids: Iterable[int]) -> dict[int, _Pending]:
    ids = sorted(set(contact_ids))
    query = ScoreState.objects.filter(contact_id__in=ids)
    if connection.features.has_select_for_update:
        query = query.select_for_update()
    found = {state.contact_id: _Pending(state, True) for state in query}
    now = clock.now()
    for contact_id in ids:
        if contact_id not in found:
            found[contact_id] = _Pending(
                ScoreState(contact_id=contact_id, updated_at=now), exists=False
            )
    return found


def _apply_rule(*, compiled: Compiled, rule: CompiledRule, row: Event, state: ScoreState) -> None:
    """Give ``row`` the points of ``rule`` (within its cap), updating ``state`` exactly."""
    h = compiled.half_life
    at = row.occurred_at.timestamp()
    contact_id = cast(int, row.contact_id)  # only rows with a contact get here
    if rule.cap_period and rule.cap:
        start, end = cap_bounds(rule.cap_period, at)
        latest = list(
            ScoreEntry.objects.filter(
                rule_id=rule.id,
                contact_id=contact_id,
                occurred_at__gte=decay.to_datetime(start),
                occurred_at__lt=decay.to_datetime(end),
            )
            .order_by("-occurred_at", "-event_id")
            .values_list("id", "occurred_at", "event_id", "points")[: rule.cap]
        )
        if len(latest) >= rule.cap:
            entry_id, entry_at, entry_event, entry_points = latest[0]
            if (entry_at, entry_event or 0) < (row.occurred_at, row.pk):
                return  # the period is full with earlier events
            # This event came late but happened earlier: it takes the latest entry's place.
            ScoreEntry.objects.filter(pk=entry_id).delete()
            state.engagement -= decay.worth(
                entry_points, entry_at.timestamp(), state.engagement_epoch, h
            )
    ScoreEntry.objects.create(
        contact_id=contact_id,
        rule_id=rule.id,
        event_id=row.pk,
        points=rule.points,
        occurred_at=row.occurred_at,
    )
    state.engagement, state.engagement_epoch = decay.add(
        state.engagement, state.engagement_epoch, points=rule.points, at=at, half_life=h
    )


def _band_events(changes: Sequence[tuple[int, str, str, float, datetime]]) -> None:
    from sokyaku.activity.services import event_ingest_batch

    if not changes:
        return
    event_ingest_batch(
        events=[
            event_build(
                type=EventType.SCORE_BAND_CHANGED,
                occurred_at=at,
                source=EventSource.SYSTEM,
                properties={"from": old, "to": new, "score": round(total, 1)},
                contact_id=contact_id,
            )
            for contact_id, old, new, total, at in changes
        ]
    )


def state_settle(
    *, compiled: Compiled, state: ScoreState, now: datetime
) -> tuple[str, str, float] | None:
    """Set ``state``'s temperature and ``band_drops_at`` for ``now``; return a band change."""
    now_ts = now.timestamp()
    engagement = decay.worth(state.engagement, state.engagement_epoch, now_ts, compiled.half_life)
    total = engagement + state.fit
    band = decay.band_for(total, warm_at=compiled.warm_at, hot_at=compiled.hot_at)
    drop = decay.drops_at(
        value=state.engagement,
        epoch=state.engagement_epoch,
        fit=state.fit,
        band=band,
        warm_at=compiled.warm_at,
        hot_at=compiled.hot_at,
        half_life=compiled.half_life,
    )
    if drop is not None and drop <= now_ts:
        drop = now_ts + 1  # float rounding at the edge: look again a moment later
    state.band_drops_at = decay.to_datetime(drop) if drop is not None else None
    old = state.temperature or Temperature.COLD
    state.temperature = band
    state.ruleset_version = compiled.version
    state.updated_at = now
    return (old, band, total) if old != band else None


def events_score(rows: Sequence[Event]) -> None:
    """The ``scoring`` listener: score stored events in their own transaction."""
    relevant = [row for row in rows if row.contact_id is not None and row.type in RELEVANT]
    if not relevant:
        return
    compiled = compiled_active()
    if compiled is None:
        return
    from sokyaku.scoring.services.recompute import scores_recompute_contacts

    contact_ids = {row.contact_id for row in relevant if row.contact_id is not None}
    merged = {row.contact_id for row in relevant if row.type == EventType.CONTACT_MERGED}
    if len(contact_ids) > BULK_CONTACTS:
        scores_recompute_contacts(contact_ids=sorted(contact_ids), compiled=compiled)
        return
    if merged:
        # The loser's events now belong to the winner: rebuild the winner from its events.
        scores_recompute_contacts(contact_ids=sorted(c for c in merged if c), compiled=compiled)
    matches: list[tuple[Event, CompiledRule]] = []
    fit_ids: set[int] = set()
    for row in relevant:
        if row.contact_id in merged:
            continue
        if row.type in FIT_TYPES:
            fit_ids.add(row.contact_id)  # type: ignore[arg-type]
            continue
        if not compiled.score_machine_opens and is_machine_open(row.type, row.properties):
            continue
        for rule in compiled.by_type.get(row.type, ()):
            if event_matches(rule.conditions, source=row.source, properties=row.properties):
                matches.append((row, rule))
    touched = {row.contact_id for row, _rule in matches} | fit_ids
    if not touched:
        return
    # Inside the ingest transaction already: no savepoint of our own (it would cost 2 queries).
    with transaction.atomic(savepoint=False):
        pending = _lock_states(c for c in touched if c is not None)
        for row, rule in matches:
            _apply_rule(
                compiled=compiled,
                rule=rule,
                row=row,
                state=pending[row.contact_id].state,  # type: ignore[index]
            )
        for contact_id, points in fit_points_for(compiled=compiled, contact_ids=fit_ids).items():
            pending[contact_id].state.fit = points
        _settle_and_save(compiled, pending.values())


def _settle_and_save(compiled: Compiled, pending: Iterable[_Pending]) -> None:
    now = clock.now()
    changes: list[tuple[int, str, str, float, datetime]] = []
    fresh: list[ScoreState] = []
    for item in pending:
        change = state_settle(compiled=compiled, state=item.state, now=now)
        if change is not None:
            changes.append((item.state.contact_id, *change, now))
        if item.exists:
            item.state.save(
                update_fields=[
                    "engagement",
                    "engagement_epoch",
                    "fit",
                    "temperature",
                    "band_drops_at",
                    "ruleset_version",
                    "updated_at",
                ]
            )
        else:
            fresh.append(item.state)
    if fresh:
        ScoreState.objects.bulk_create(fresh)
    _band_events(changes)


def band_drops_process(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Move every score whose band has decayed away (``band_drops_at <= now``) down a band.

    Claims due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite serialises
    writers anyway), records ``score_band_changed`` (at the moment the band was left) and
    schedules the next drop. Returns how many scores moved.
    """
    now = now or clock.now()
    compiled = compiled_active()
    if compiled is None:
        return 0
    moved = 0
    with transaction.atomic():
        query = ScoreState.objects.filter(band_drops_at__lte=now).order_by("band_drops_at")
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True)
        changes: list[tuple[int, str, str, float, datetime]] = []
        for state in query[:limit]:
            left_at = state.band_drops_at or now
            change = state_settle(compiled=compiled, state=state, now=now)
            state.save(
                update_fields=["temperature", "band_drops_at", "ruleset_version", "updated_at"]
            )
            if change is not None:
                changes.append((state.contact_id, *change, left_at))
                moved += 1
        _band_events(changes)
    if moved:
        logger.info("scoring.bands_dropped", extra={"count": moved})
    return moved
