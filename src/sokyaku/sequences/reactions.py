"""How sequences react to stored events (reaction "sequences" in ``sokyaku.reactions``).

After commit, in the worker: the events' exits, goals and triggers (``triggers.events_react``).
The sequences' own events (enrolled, exited) are not given to it, so it never feeds itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.activity.models import Event
from sokyaku.sequences.services import triggers

IGNORES = triggers.OWN


def events_committed(rows: Sequence[Event], contact_ids: frozenset[int]) -> None:
    triggers.events_react(contact_ids=contact_ids, event_ids=[row.pk for row in rows])
