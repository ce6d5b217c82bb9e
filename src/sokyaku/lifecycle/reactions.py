"""How lifecycle reacts to stored events (registered as listener "lifecycle" in ``apps.py``).

- in the transaction (``stored``): a created or imported contact gets its first stage (lead, or
  subscriber for an email-only contact), set-based for a whole batch; a subscriber that converts
  becomes a lead;
- after commit (``committed``): the ids of the contacts concerned go to the ``mql_evaluate`` task.
  Ids that only appear on ``lifecycle_changed`` events are skipped, so a stage move does not
  trigger another evaluation (no loops).
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.activity.models import Event, EventType
from sokyaku.lifecycle.services import initial

_CREATED = frozenset({EventType.CONTACT_CREATED, EventType.IMPORTED})
_OWN = frozenset({EventType.LIFECYCLE_CHANGED})


def events_stored(rows: Sequence[Event]) -> None:
    created = {r.contact_id for r in rows if r.type in _CREATED and r.contact_id is not None}
    if created:
        initial.initial_stages_create(contact_ids=created)
    converted = {
        r.contact_id
        for r in rows
        if r.type in initial.CONVERTING_EVENTS and r.contact_id is not None
    }
    submitted = {
        r.contact_id for r in rows if r.type == initial.FORM_EVENT and r.contact_id is not None
    }
    if submitted - converted:
        converted |= set(initial.form_converted(contact_ids=submitted - converted))
    if converted:
        initial.subscribers_promote(contact_ids=converted, reason="conversion")


def events_committed(rows: Sequence[Event], contact_ids: frozenset[int]) -> None:
    ids = {r.contact_id for r in rows if r.type not in _OWN and r.contact_id is not None}
    if not ids:
        return
    from sokyaku.lifecycle.tasks import mql_evaluate_task

    mql_evaluate_task(sorted(ids))
