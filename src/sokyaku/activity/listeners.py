"""Who reacts to newly stored events, and when.

Every event goes through ``services.event_ingest`` or ``services.event_ingest_batch``; right after
the rows are written, still inside that transaction, each registered listener gets them. Apps
higher up (scoring, lifecycle, segments …) register in their ``AppConfig.ready``, so the event
stream does not import them:

- an **in-transaction** listener (``stored``) updates state that must commit or roll back with
  the event (the score: DESIGN.md's hot path scores in the same transaction);
- an **after-commit** listener (``committed``) gets the ids of the contacts concerned once the
  transaction committed, and usually enqueues a task (MQL rules, segment membership).

Listeners run in registration order (``INSTALLED_APPS`` order). ``paused()`` turns them off for
a bulk load that recomputes everything set-based afterwards (the demo generator).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import transaction

from sokyaku.activity.models import Event

StoredListener = Callable[[Sequence[Event]], None]
CommittedListener = Callable[[Sequence[Event], frozenset[int]], None]


@dataclass(frozen=True)
class _Listener:
    name: str
    stored: StoredListener | None
    committed: CommittedListener | None


_listeners: list[_Listener] = []
_state = threading.local()


def listener_register(
    *,
    name: str,
    stored: StoredListener | None = None,
    committed: CommittedListener | None = None,
) -> None:
    """Register (or replace, by ``name``) a reaction to stored events."""
    global _listeners
    _listeners = [item for item in _listeners if item.name != name]
    _listeners.append(_Listener(name=name, stored=stored, committed=committed))


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


def listeners_run(rows: Sequence[Event]) -> None:
    """Called by the ingest services inside their transaction, after writing ``rows``."""
    if not rows or _is_paused():
        return
    for listener in list(_listeners):
        if listener.stored is not None:
            listener.stored(rows)
    contact_ids = frozenset(row.contact_id for row in rows if row.contact_id is not None)
    if not contact_ids:
        return
    for listener in list(_listeners):
        if listener.committed is not None:
            callback = listener.committed
            transaction.on_commit(
                lambda callback=callback: callback(rows, contact_ids),  # type: ignore[misc]
                robust=True,
            )
