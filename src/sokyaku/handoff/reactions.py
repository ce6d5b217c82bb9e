"""How handoffs react to stored events (reaction "handoff" in ``sokyaku.reactions``).

In the ingesting transaction, every event of a contact that matches an active trigger hands the
contact to sales (``services.handoff_create``): the handoff, its routing and the alert messages
commit with the event, and the alert is delivered right after commit — the fastest path from a
form submit to the rep's inbox.

- **MQL**: a ``lifecycle_changed`` event with ``to == "mql"``.
- **Hot actions**: the trigger's event type, and every property condition holds (see
  ``services.triggers``). For ``email_clicked`` the clicked mail's ``sequence`` and ``step`` are
  read from the outbox when a condition names them.
- Who: contacts only (anonymous visitors' events are skipped; they count once the visitor is
  identified and its events are attached). Merged-away contacts are skipped, and so are
  **disqualified** ones: a rep decided they are not a prospect, so a later click does not page
  sales again (moving the contact back to lead or recycled re-opens them). **Customers** (and
  contacts already SQL or in a deal) are handed off too — a hot action of a customer is an
  upsell signal — and go to their owner when the owner can take them (see ``routing``).
- A lead a rep rejected in the last ``REQUALIFY_QUIET`` days is not handed off again merely for
  re-entering MQL (recycling it would otherwise bounce it straight back to the rep while its
  score is still high); a new hot action of it still is.
- Events older than ``FRESH_FOR`` (imports, backfills, anonymous history attached on
  identification) do not page anyone.

A failing handoff never fails the ingestion: it runs in a savepoint and is logged.

Cost for events no trigger wants: one set lookup per event. The active triggers are cached per
process, reloaded at most once a second (so a change made in another process is seen within a
second) and dropped at once when this process saves or deletes a trigger
(``HandoffTrigger.generation``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from sokyaku.activity.models import Event, EventType
from sokyaku.core import clock, conditions
from sokyaku.core.errors import ValidationError
from sokyaku.handoff.models import HandoffTrigger, TriggerKind

logger = logging.getLogger(__name__)

RELOAD_SECONDS = 1.0
FRESH_FOR = timedelta(days=3)
REQUALIFY_QUIET = timedelta(days=30)
MQL = "mql"
SKIPPED_STAGES = frozenset({"disqualified"})


@dataclass(frozen=True)
class _Index:
    types: frozenset[str]
    by_type: Mapping[str, tuple[HandoffTrigger, ...]]
    loaded_at: float
    generation: int


_lock = threading.Lock()
_index: _Index | None = None


def triggers_changed() -> None:
    """Forget the cached triggers (a trigger was saved or deleted)."""
    global _index
    _index = None


def _load() -> _Index:
    generation = HandoffTrigger.generation
    by_type: dict[str, list[HandoffTrigger]] = {}
    for trigger in HandoffTrigger.objects.filter(is_active=True).order_by("position", "id"):
        event_type = (
            EventType.LIFECYCLE_CHANGED if trigger.kind == TriggerKind.MQL else trigger.event_type
        )
        if event_type:
            by_type.setdefault(str(event_type), []).append(trigger)
    return _Index(
        types=frozenset(by_type),
        by_type={k: tuple(v) for k, v in by_type.items()},
        loaded_at=time.monotonic(),
        generation=generation,
    )


def triggers_forget_all() -> None:
    """Cache "no active trigger" without asking the database (a test starting on an empty one)."""
    global _index
    _index = _Index(
        types=frozenset(),
        by_type={},
        loaded_at=time.monotonic(),
        generation=HandoffTrigger.generation,
    )


def _current() -> _Index:
    global _index
    index = _index
    reload = float(getattr(settings, "HANDOFF_TRIGGER_RELOAD_SECONDS", RELOAD_SECONDS))
    if (
        index is None
        or index.generation != HandoffTrigger.generation
        or time.monotonic() - index.loaded_at > reload
    ):
        with _lock:
            index = _load()
            _index = index
    return index


# --- conditions ---------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def condition_holds(condition: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
    """Whether one ``{property, op, value}`` condition holds for an event's properties, in the
    one condition language (``core.conditions``); a malformed stored condition never holds."""
    try:
        return conditions.evaluate(condition, props)
    except ValidationError:
        return False


def _mail_properties(event: Event) -> dict[str, Any]:
    """The clicked mail's sequence and step (the event carries only the message id)."""
    from sokyaku.messaging.models import Message

    message_id = _number((event.properties or {}).get("message_id"))
    if message_id is None:
        return {}
    row = (
        Message.objects.filter(pk=int(message_id))
        .values("sequence_id", "step_id", "subject")
        .first()
    )
    if row is None:
        return {}
    return {"sequence": row["sequence_id"], "step": row["step_id"], "subject": row["subject"]}


def _names_mail(trigger: HandoffTrigger) -> bool:
    from sokyaku.handoff.services.triggers import MAIL_PROPERTIES

    return any(
        str(c.get("property", "")).split(".")[0] in MAIL_PROPERTIES
        for c in trigger.conditions or ()
        if isinstance(c, Mapping)
    )


def trigger_match(event: Event, triggers: Sequence[HandoffTrigger]) -> HandoffTrigger | None:
    """The first of ``triggers`` (same event type) whose conditions ``event`` meets."""
    props: dict[str, Any] = dict(event.properties) if isinstance(event.properties, dict) else {}
    enriched = False
    for trigger in triggers:
        if trigger.kind == TriggerKind.MQL:
            if props.get("to") == MQL:
                return trigger
            continue
        if not enriched and event.type == EventType.EMAIL_CLICKED and _names_mail(trigger):
            props = {**_mail_properties(event), **props}
            enriched = True
        conditions = [c for c in trigger.conditions or () if isinstance(c, Mapping)]
        if all(condition_holds(c, props) for c in conditions):
            return trigger
    return None


# --- the listener -------------------------------------------------------------------------------


def events_stored(rows: Sequence[Event]) -> None:
    """Hand the contacts of matching events to sales, in the ingesting transaction."""
    index = _current()
    if not index.types:
        return
    hits = [r for r in rows if r.type in index.types and r.contact_id is not None]
    if not hits:
        return
    fresh_after = clock.now() - FRESH_FOR
    matched: list[tuple[Event, HandoffTrigger]] = []
    for event in hits:
        if event.occurred_at < fresh_after:
            continue
        trigger = trigger_match(event, index.by_type.get(str(event.type), ()))
        if trigger is not None:
            matched.append((event, trigger))
    if matched:
        _hand_off(matched)


def _rejected_lately(contact_id: int) -> bool:
    from sokyaku.handoff.models import Handoff, HandoffStatus

    return Handoff.objects.filter(
        contact_id=contact_id,
        status=HandoffStatus.REJECTED,
        closed_at__gte=clock.now() - REQUALIFY_QUIET,
    ).exists()


def _hand_off(matched: Sequence[tuple[Event, HandoffTrigger]]) -> None:
    from sokyaku.contacts.models import Contact
    from sokyaku.handoff.services import handoffs
    from sokyaku.lifecycle import selectors as lifecycle_selectors

    contact_ids = {event.contact_id for event, _trigger in matched if event.contact_id}
    contacts = {
        c.pk: c
        for c in Contact.objects.filter(
            pk__in=contact_ids, merged_into__isnull=True
        ).select_related("company", "company__owner", "owner")
    }
    stages = lifecycle_selectors.stage_of(contact_ids=list(contacts))
    # The cached trigger may have been changed or deleted by another process meanwhile.
    current = {
        t.pk: t
        for t in HandoffTrigger.objects.filter(
            pk__in={trigger.pk for _event, trigger in matched}, is_active=True
        )
    }
    for event, cached in matched:
        contact = contacts.get(event.contact_id or 0)
        trigger = current.get(cached.pk)
        if contact is None or trigger is None:
            if trigger is None:
                triggers_changed()
            continue
        if stages.get(contact.pk) in SKIPPED_STAGES:
            continue
        if trigger.kind == TriggerKind.MQL and _rejected_lately(contact.pk):
            continue
        try:
            with transaction.atomic():
                handoffs.handoff_create(contact=contact, trigger=trigger, event=event)
        except Exception:
            logger.exception(
                "handoff.create_failed",
                extra={"contact": contact.pk, "event": event.pk, "trigger": trigger.pk},
            )
