"""Writes to the event stream: ingestion (one or a batch), stitching, re-pointing on merge.

Ingestion is set based: a batch is validated whole before anything is written, visitors are
resolved in one query, and rows go in with one ``bulk_create`` inside one transaction. The
reactions of ``sokyaku.reactions`` (scoring, lifecycle, handoff …) run on every stored batch
through ``listeners.listeners_run``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from django.db import IntegrityError, transaction
from django.db.models import Q

from sokyaku.activity import listeners
from sokyaku.activity.events import NewEvent
from sokyaku.activity.models import Event, Visitor
from sokyaku.core import clock

logger = logging.getLogger(__name__)

BULK_CHUNK = 1000


def _rows(events: Sequence[NewEvent]) -> list[Event]:
    """Event rows for ``events``; anonymous events of an identified visitor go to its contact."""
    received_at = clock.now()
    anonymous_visitors = {e.visitor_id for e in events if e.visitor_id and e.contact_id is None}
    known = (
        dict(
            Visitor.objects.filter(id__in=anonymous_visitors, contact__isnull=False).values_list(
                "id", "contact_id"
            )
        )
        if anonymous_visitors
        else {}
    )
    return [
        Event(
            contact_id=e.contact_id if e.contact_id is not None else known.get(e.visitor_id),
            visitor_id=e.visitor_id,
            type=e.type,
            occurred_at=e.occurred_at,
            received_at=received_at,
            source=e.source,
            properties=e.properties,
            idempotency_key=e.idempotency_key,
        )
        for e in events
    ]


def _visitors_touch(events: Sequence[NewEvent]) -> None:
    """Make sure every visitor id in the batch has a Visitor row (first-seen time)."""
    first_seen: dict[str, NewEvent] = {}
    for e in events:
        if e.visitor_id and (
            e.visitor_id not in first_seen or e.occurred_at < first_seen[e.visitor_id].occurred_at
        ):
            first_seen[e.visitor_id] = e
    if not first_seen:
        return
    existing = set(Visitor.objects.filter(id__in=first_seen).values_list("id", flat=True))
    Visitor.objects.bulk_create(
        [
            Visitor(id=vid, first_seen_at=e.occurred_at)
            for vid, e in first_seen.items()
            if vid not in existing
        ],
        ignore_conflicts=True,
    )


def event_ingest_batch(*, events: Sequence[NewEvent]) -> int:
    """Store ``events`` (already built and validated by ``events.event_build``) atomically.

    Events whose ``idempotency_key`` is already stored are skipped, so a retried batch stores
    nothing twice. Returns how many events were stored.
    """
    if not events:
        return 0
    keys = [e.idempotency_key for e in events if e.idempotency_key]
    if keys:
        seen = set(
            Event.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
        )
        fresh: list[NewEvent] = []
        for e in events:
            if e.idempotency_key and e.idempotency_key in seen:
                continue
            if e.idempotency_key:
                seen.add(e.idempotency_key)
            fresh.append(e)
        events = fresh
    with transaction.atomic():
        _visitors_touch(events)
        rows = _rows(events)
        Event.objects.bulk_create(rows, batch_size=BULK_CHUNK, ignore_conflicts=bool(keys))
        listeners.listeners_run(rows)
    logger.info("events.ingested", extra={"count": len(rows)})
    return len(rows)


def events_replace(*, remove_ids: Sequence[int], events: Sequence[NewEvent]) -> int:
    """Replace stored events by ``events`` in one transaction: delete the rows ``remove_ids``
    names and store the new ones (``event_ingest_batch``, listeners included).

    For bulk loads that derive state after the fact and first record the derived changes at load
    time (the demo's score bands): the same changes are then stored at the instants they
    happened. Returns how many events were stored.
    """
    with transaction.atomic():
        ids = list(remove_ids)
        for start in range(0, len(ids), BULK_CHUNK):
            Event.objects.filter(pk__in=ids[start : start + BULK_CHUNK]).delete()
        stored = event_ingest_batch(events=events)
    logger.info("events.replaced", extra={"removed": len(ids), "stored": stored})
    return stored


def event_ingest(*, event: NewEvent) -> Event | None:
    """Store one event. Returns it, or ``None`` when its idempotency key was already used."""
    with transaction.atomic():
        _visitors_touch([event])
        (row,) = _rows([event])
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError:
            if (
                event.idempotency_key
                and Event.objects.filter(idempotency_key=event.idempotency_key).exists()
            ):
                return None
            raise
        listeners.listeners_run([row])
    return row


def visitor_identify(*, visitor_id: str, contact_id: int) -> int:
    """Tie a visitor to the contact it turned out to be and attach its anonymous events.

    Later events from the visitor go to the contact at ingestion. If the visitor was tied to
    another contact before (a shared browser), only future events follow the new contact.
    Returns the number of events attached.
    """
    if not visitor_id:
        return 0
    now = clock.now()
    with transaction.atomic():
        visitor, _created = Visitor.objects.select_for_update().get_or_create(
            id=visitor_id, defaults={"first_seen_at": now}
        )
        if visitor.contact_id != contact_id:
            visitor.contact_id = contact_id
            visitor.identified_at = now
            visitor.save(update_fields=["contact", "identified_at"])
        # The ~Q(visitor_id="") repeats the partial index's condition: SQLite only uses a partial
        # index when the query names its condition (without it, this scans every anonymous event).
        anonymous = Event.objects.filter(
            ~Q(visitor_id=""), visitor_id=visitor_id, contact__isnull=True
        )
        ids = list(anonymous.values_list("id", flat=True))
        attached = anonymous.update(contact_id=contact_id)
        # To the contact these events are new: score them, evaluate rules and segments.
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            listeners.listeners_run(list(Event.objects.filter(id__in=chunk, contact_id=contact_id)))
    logger.info(
        "visitor.identified",
        extra={"visitor": visitor_id, "contact": contact_id, "attached": attached},
    )
    return attached


def events_move(*, from_contact_id: int, to_contact_id: int) -> dict[str, list[int | str]]:
    """Re-point every event and visitor of one contact to another (a merge).

    Returns the ids moved, which ``events_move_back`` takes to undo it.
    """
    event_ids = list(Event.objects.filter(contact_id=from_contact_id).values_list("id", flat=True))
    visitor_ids = list(
        Visitor.objects.filter(contact_id=from_contact_id).values_list("id", flat=True)
    )
    Event.objects.filter(contact_id=from_contact_id).update(contact_id=to_contact_id)
    Visitor.objects.filter(contact_id=from_contact_id).update(contact_id=to_contact_id)
    return {"events": list(event_ids), "visitors": list(visitor_ids)}


def events_move_back(*, moved: dict[str, Iterable[int | str]], to_contact_id: int) -> None:
    """Undo ``events_move``: the listed events and visitors go back to ``to_contact_id``."""
    for model, key in ((Event, "events"), (Visitor, "visitors")):
        ids = list(moved.get(key, []))
        # Chunked: SQLite caps the number of parameters in one statement.
        for start in range(0, len(ids), 500):
            model.objects.filter(id__in=ids[start : start + 500]).update(contact_id=to_contact_id)
