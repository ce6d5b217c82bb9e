"""The runner of the reactions table (``sokyaku.reactions``): who reacts to stored events is
written there, in order; this module only runs it.

Every event goes through ``services.event_ingest`` or ``services.event_ingest_batch``; right after
the rows are written, still inside that transaction, ``listeners_run`` gets them:

- each **in-transaction** reaction (``stored``) runs at once with the rows of the types it wants,
  so what it writes commits or rolls back with the events (the score: DESIGN.md's hot path
  scores in the same transaction);
- the **after-commit** reactions (``committed``) run **once per transaction**, with every event
  the transaction stored and the ids of their contacts. The first call in a transaction writes
  one ``PendingReaction`` row naming them; later calls add their events to it. After commit one
  queued task runs them in the worker (``tasks.reactions_run_task``) and deletes the row. When
  the queue loses that task, or a reaction fails, the row stays and the catch-up tick
  (``reactions_catch_up``) runs what is still owed once it is due. Reactions are idempotent, so
  a run that the crash of a worker cut short may be repeated.

``paused()`` turns reactions off for a bulk load that recomputes everything set-based afterwards
(the demo generator, imports).

The table is named by the ``SOKYAKU_REACTIONS`` setting and read when first needed, so this
module, low in the house, never imports the apps above it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from sokyaku.activity.models import Event, PendingReaction
from sokyaku.core import clock

logger = logging.getLogger(__name__)

StoredReaction = Callable[[Sequence[Event]], None]
CommittedReaction = Callable[[Sequence[Event], frozenset[int]], None]

# How long the queued run has before the catch-up tick takes a row over.
GRACE = timedelta(seconds=60)
# How long a runner holds a row it claimed (a crashed runner's claim runs out).
CLAIM = timedelta(minutes=5)
# The catch-up tick's batch per reaction run, and its back-off after a failure.
CATCH_UP_BATCH = 200
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


@dataclass(frozen=True)
class Reaction:
    """One line of the table: an app's reaction to stored events.

    ``types`` limits it to these event types (``None``: every type); ``ignores`` are types it
    never wants (usually the ones it writes itself, so it does not feed itself).
    """

    name: str
    stored: StoredReaction | None = None
    committed: CommittedReaction | None = None
    types: frozenset[str] | None = None
    ignores: frozenset[str] = frozenset()

    def wants(self, row: Event) -> bool:
        return (self.types is None or row.type in self.types) and row.type not in self.ignores


@cache
def table() -> tuple[Reaction, ...]:
    """The reactions table, in order (``settings.SOKYAKU_REACTIONS``)."""
    reactions: tuple[Reaction, ...] = tuple(import_string(settings.SOKYAKU_REACTIONS))
    names = [reaction.name for reaction in reactions]
    if len(set(names)) != len(names):
        raise ValueError("reaction names must be unique")
    return reactions


def _by_name() -> dict[str, Reaction]:
    return {reaction.name: reaction for reaction in table()}


# --- pausing ------------------------------------------------------------------------------------

_state = threading.local()


def _is_paused() -> bool:
    return bool(getattr(_state, "paused", 0))


@contextmanager
def paused() -> Iterator[None]:
    """Store events without reactions (in this thread) for the duration of the block."""
    _state.paused = getattr(_state, "paused", 0) + 1
    try:
        yield
    finally:
        _state.paused -= 1


# --- in the transaction -------------------------------------------------------------------------


@dataclass
class _Owed:
    """What the current transaction owes its after-commit reactions (one per transaction)."""

    row: PendingReaction
    event_ids: list[int] = field(default_factory=list)
    contact_ids: set[int] = field(default_factory=set)
    queued: bool = False

    def run(self) -> None:
        """After commit: queue the run (once, however many batches the transaction stored)."""
        if getattr(_state, "owed", None) is self:
            _state.owed = None
        if self.queued:
            return
        self.queued = True
        from sokyaku.activity.tasks import reactions_run_task

        reactions_run_task(self.row.pk)

    def pending(self) -> bool:
        """Is the transaction it began in still open (its after-commit run still registered)?"""
        return not self.queued and any(
            getattr(entry[1], "__self__", None) is self for entry in connection.run_on_commit
        )


def _ids(rows: Sequence[Event]) -> list[int]:
    """The stored rows' ids (a batch stored with ``ignore_conflicts`` has none: by key)."""
    ids = [row.pk for row in rows if row.pk is not None]
    keys = [str(row.idempotency_key) for row in rows if row.pk is None and row.idempotency_key]
    if keys:
        ids += Event.objects.filter(idempotency_key__in=keys).values_list("pk", flat=True)
    return ids


def _owe(rows: Sequence[Event]) -> None:
    """Add ``rows`` to the after-commit work of the current transaction (a durable row)."""
    committed = [r.name for r in table() if r.committed is not None and any(map(r.wants, rows))]
    if not committed:
        return
    ids = _ids([row for row in rows if row.contact_id is not None])
    contacts = {row.contact_id for row in rows if row.contact_id is not None}
    if not ids:
        return
    owed: _Owed | None = getattr(_state, "owed", None)
    if owed is not None and owed.pending():
        owed.event_ids += ids
        owed.contact_ids |= contacts
        owed_names = {*owed.row.reactions, *committed}
        names = [reaction.name for reaction in table() if reaction.name in owed_names]
        owed.row.event_ids, owed.row.contact_ids = owed.event_ids, sorted(owed.contact_ids)
        owed.row.reactions = names
        owed.row.save(update_fields=["event_ids", "contact_ids", "reactions"])
        # Registered again, so that it also runs where only the later part of the transaction
        # is run (a test's captured callbacks); it queues the work once.
        transaction.on_commit(owed.run, robust=True)
        return
    now = clock.now()
    row = PendingReaction.objects.create(
        created_at=now,
        due_at=now + GRACE,
        event_ids=ids,
        contact_ids=sorted(contacts),
        reactions=committed,
    )
    owed = _Owed(row=row, event_ids=list(ids), contact_ids=set(contacts))
    _state.owed = owed
    transaction.on_commit(owed.run, robust=True)


def listeners_run(rows: Sequence[Event]) -> None:
    """Called by the ingest services inside their transaction, after writing ``rows``."""
    if not rows or _is_paused():
        return
    for reaction in table():
        if reaction.stored is not None:
            wanted = [row for row in rows if reaction.wants(row)]
            if wanted:
                reaction.stored(wanted)
    if any(row.contact_id is not None for row in rows):
        _owe(rows)


# --- after commit -------------------------------------------------------------------------------


def _claim(pending_id: int) -> PendingReaction | None:
    """Take the row for this runner, unless another runner holds it."""
    now = clock.now()
    taken = PendingReaction.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now), pk=pending_id
    ).update(claimed_until=now + CLAIM)
    return PendingReaction.objects.filter(pk=pending_id).first() if taken else None


def _run(row: PendingReaction) -> list[str]:
    """Run the reactions the row still names; returns the names that failed."""
    events = list(
        Event.objects.filter(pk__in=row.event_ids, contact_id__isnull=False).order_by(
            "occurred_at", "id"
        )
    )
    by_name = _by_name()
    failed: list[str] = []
    errors: list[str] = []
    for name in row.reactions:
        reaction = by_name.get(name)
        if reaction is None or reaction.committed is None:
            continue  # a reaction that left the table owes nothing
        wanted = [event for event in events if reaction.wants(event)]
        if not wanted:
            continue
        contact_ids = frozenset(e.contact_id for e in wanted if e.contact_id is not None)
        try:
            reaction.committed(wanted, contact_ids)
        except Exception as exc:  # one failing reaction must not hold up the others
            logger.exception("reaction.failed", extra={"reaction": name, "pending": row.pk})
            failed.append(name)
            errors.append(f"{name}: {exc!r}")
    if failed:
        attempts = row.attempts + 1
        PendingReaction.objects.filter(pk=row.pk).update(
            reactions=failed,
            attempts=attempts,
            last_error="\n".join(errors)[:2000],
            due_at=clock.now() + BACKOFF[min(attempts, len(BACKOFF)) - 1],
            claimed_until=None,
        )
    else:
        PendingReaction.objects.filter(pk=row.pk).delete()
    return failed


def pending_run(*, pending_id: int) -> bool:
    """Run one transaction's after-commit reactions (the queued task). Returns whether it ran:
    a row already done, or held by another runner, is left alone."""
    row = _claim(pending_id)
    if row is None:
        return False
    _run(row)
    return True


def reactions_catch_up(*, limit: int = CATCH_UP_BATCH) -> int:
    """Run the after-commit work whose queued run never came (a lost or flushed queue, a
    crashed worker) or failed and is due again; oldest first. Returns how many rows ran."""
    due = list(
        PendingReaction.objects.filter(due_at__lte=clock.now())
        .order_by("due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    ran = sum(pending_run(pending_id=pk) for pk in due)
    if ran:
        logger.info("reactions.caught_up", extra={"rows": ran})
    return ran


def reactions_for(names: Iterable[str]) -> list[Reaction]:
    """The table's reactions of these names, in table order (tests, the admin)."""
    wanted = set(names)
    return [reaction for reaction in table() if reaction.name in wanted]
