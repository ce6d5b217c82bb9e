"""How segments react to stored events (reaction "segments" in ``sokyaku.reactions``).

After commit, in the worker: the contacts concerned are re-evaluated against every dynamic
segment (``services.memberships_refresh``). The segments' own events (entered, left) are not
given to it, so a refresh never feeds itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.activity.models import Event, EventType
from sokyaku.segments import services

IGNORES = frozenset({EventType.SEGMENT_ENTERED, EventType.SEGMENT_LEFT})


def events_committed(rows: Sequence[Event], contact_ids: frozenset[int]) -> None:
    services.memberships_refresh(contact_ids=sorted(contact_ids))
