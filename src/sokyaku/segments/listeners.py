"""The activity listener that keeps dynamic segment membership current as contacts change.

After events commit, the contacts concerned are re-evaluated by a task (``memberships_refresh``).
Events segments write themselves (entered/left) are ignored, so a refresh never feeds itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.activity.models import Event, EventType

IGNORED = frozenset({EventType.SEGMENT_ENTERED, EventType.SEGMENT_LEFT})


def on_committed(rows: Sequence[Event], contact_ids: frozenset[int]) -> None:
    """Enqueue a membership refresh for the contacts of ``rows`` (not segment events)."""
    from sokyaku.segments import tasks

    ids = sorted({row.contact_id for row in rows if row.type not in IGNORED and row.contact_id})
    if ids:
        tasks.memberships_refresh_task(ids)


def register() -> None:
    from sokyaku.activity.listeners import listener_register

    listener_register(name="segments", committed=on_committed)
