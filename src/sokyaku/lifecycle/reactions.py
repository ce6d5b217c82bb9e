"""How lifecycle reacts to stored events (reactions "lifecycle.stages" and "lifecycle.mql" in
``sokyaku.reactions``).

- in the transaction (``events_stored``): a created or imported contact gets its first stage
  (lead, or subscriber for an email-only contact), set-based for a whole batch; a subscriber that
  converts becomes a lead;
- after commit, in the worker (``events_committed``): the contacts concerned are evaluated
  against the MQL rules (``mql.mql_evaluate``). ``lifecycle_changed`` events are not given to
  it, so a stage move does not trigger another evaluation (no loops).
"""

from __future__ import annotations

from collections.abc import Sequence

from sokyaku.activity.models import Event, EventType
from sokyaku.lifecycle.services import initial, mql

_CREATED = frozenset({EventType.CONTACT_CREATED, EventType.IMPORTED})
STAGE_TYPES = _CREATED | initial.CONVERTING_EVENTS | {initial.FORM_EVENT}
MQL_IGNORES = frozenset({EventType.LIFECYCLE_CHANGED})


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
    mql.mql_evaluate(contact_ids=sorted(contact_ids))
