"""Writing stage moves: the one place ContactStage and StageChange rows are written.

``stage_change`` moves one contact (a person's decision, a rule, the system) and records a
``lifecycle_changed`` event. ``moves_apply`` does the same set-based for many contacts at once
(MQL rules over a batch, the demo), with one ``bulk_create`` of history rows and one batch of
events. History is append-only: a move backwards (recycle) adds a row, it never rewrites one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from sokyaku.activity import events as event_factories
from sokyaku.activity import listeners
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.lifecycle.models import ChangeSource, ContactStage, MqlRule, Stage, StageChange

logger = logging.getLogger(__name__)

REASON_MAX = StageChange._meta.get_field("reason").max_length or 300
# Side exits that need a word on why: marketing reads these reasons back.
NEEDS_REASON = frozenset({Stage.RECYCLED, Stage.DISQUALIFIED})
_EVENT_SOURCE: dict[str, str] = {
    ChangeSource.USER: EventSource.UI,
    ChangeSource.API: EventSource.API,
    ChangeSource.RULE: EventSource.SYSTEM,
    ChangeSource.SYSTEM: EventSource.SYSTEM,
}
_CHUNK = 2000


@dataclass(frozen=True)
class Move:
    """One contact's move, for ``moves_apply``."""

    contact_id: int
    from_stage: str
    to_stage: str
    at: datetime
    source: str = ChangeSource.SYSTEM
    actor_id: int | None = None
    rule_id: int | None = None
    rule_name: str = ""
    reason: str = ""


def _validate(*, to_stage: str, source: str, reason: str) -> str:
    if to_stage not in Stage.values:
        raise ValidationError(
            f"Unknown lifecycle stage: {to_stage}", field_errors={"to_stage": "unknown stage"}
        )
    if source not in ChangeSource.values:
        raise ValidationError(f"Unknown source: {source}", field_errors={"source": "unknown"})
    reason = (reason or "").strip()
    if to_stage in NEEDS_REASON and not reason:
        raise ValidationError(
            "Say why the contact is recycled or disqualified.",
            field_errors={"reason": "required for recycled and disqualified"},
        )
    if len(reason) > REASON_MAX:
        raise ValidationError(
            f"The reason is longer than {REASON_MAX} characters.",
            field_errors={"reason": f"at most {REASON_MAX} characters"},
        )
    return reason


def _event(move: Move) -> event_factories.NewEvent:
    return event_factories.event_build(
        type=EventType.LIFECYCLE_CHANGED,
        occurred_at=move.at,
        source=_EVENT_SOURCE[move.source],
        properties={
            "from": move.from_stage,
            "to": move.to_stage,
            "reason": move.reason,
            "rule": move.rule_id,
            "rule_name": move.rule_name,
            "source": move.source,
        },
        contact_id=move.contact_id,
    )


def stage_change(
    *,
    contact: Contact,
    to_stage: str,
    source: str,
    actor: User | None = None,
    rule: MqlRule | None = None,
    reason: str = "",
) -> StageChange | None:
    """Move ``contact`` to ``to_stage`` (any stage, backwards too) and return the history row.

    Returns ``None`` (and writes nothing) when the contact is in that stage already. Writes the
    contact's ``ContactStage``, appends a ``StageChange`` and records a ``lifecycle_changed``
    event ``{from, to, reason, rule}`` (source system for rules and the system, ui/api when a
    person did it). Raises ``ValidationError`` for an unknown stage or source, a missing reason
    for recycled/disqualified, or a merged-away contact.
    """
    reason = _validate(to_stage=to_stage, source=source, reason=reason)
    if contact.merged_into_id:
        raise ValidationError(
            "This contact was merged into another one.", field_errors={"contact": "merged"}
        )
    now = clock.now()
    with transaction.atomic():
        # Locked, so two moves of one contact at once are decided one after the other.
        current = ContactStage.objects.select_for_update().filter(contact_id=contact.pk).first()
        from_stage = current.stage if current else ""
        if from_stage == to_stage:
            return None
        if current is None:
            ContactStage.objects.create(contact_id=contact.pk, stage=to_stage, entered_at=now)
        else:
            current.stage = to_stage
            current.entered_at = now
            current.save(update_fields=["stage", "entered_at"])
        change = StageChange.objects.create(
            contact_id=contact.pk,
            from_stage=from_stage,
            to_stage=to_stage,
            changed_at=now,
            source=source,
            actor=actor,
            rule=rule,
            reason=reason,
        )
        activity_services.event_ingest(
            event=_event(
                Move(
                    contact_id=contact.pk,
                    from_stage=from_stage,
                    to_stage=to_stage,
                    at=now,
                    source=source,
                    actor_id=actor.pk if actor else None,
                    rule_id=rule.pk if rule else None,
                    rule_name=rule.name if rule else "",
                    reason=reason,
                )
            )
        )
    logger.info(
        "lifecycle.changed",
        extra={"contact": contact.pk, "from": from_stage, "to": to_stage, "source": source},
    )
    return change


def contact_recycle(
    *, contact: Contact, reason: str, actor: User | None = None, source: str = ChangeSource.USER
) -> StageChange | None:
    """Send a contact back to nurture (stage ``recycled``); ``reason`` is required.

    Same side effects and errors as ``stage_change``. A recycled contact can re-qualify as MQL.
    """
    return stage_change(
        contact=contact, to_stage=Stage.RECYCLED, source=source, actor=actor, reason=reason
    )


def contact_disqualify(
    *, contact: Contact, reason: str, actor: User | None = None, source: str = ChangeSource.USER
) -> StageChange | None:
    """Mark a contact disqualified (not a fit, no budget, competitor …); ``reason`` is required.

    Same side effects and errors as ``stage_change``. MQL rules never move a disqualified contact.
    """
    return stage_change(
        contact=contact, to_stage=Stage.DISQUALIFIED, source=source, actor=actor, reason=reason
    )


def moves_apply(*, moves: Sequence[Move], quiet: bool = False, events: bool = True) -> int:
    """Apply many moves set-based: update ``ContactStage`` rows (creating missing ones), append
    ``StageChange`` rows with one ``bulk_create`` per chunk and ingest the ``lifecycle_changed``
    events as batches. The caller has decided the moves (and locked the rows when it matters).

    ``quiet=True`` stores the events without running event listeners (bulk loads such as the
    demo, which recompute everything afterwards); ``events=False`` writes history only (a
    subscriber becoming a lead: the converting event is already on the timeline). Returns the
    number of moves applied.
    """
    if not moves:
        return 0
    with transaction.atomic():
        for start in range(0, len(moves), _CHUNK):
            chunk = moves[start : start + _CHUNK]
            ids = [m.contact_id for m in chunk]
            existing = set(
                ContactStage.objects.filter(contact_id__in=ids).values_list("contact_id", flat=True)
            )
            rows = [
                ContactStage(contact_id=m.contact_id, stage=m.to_stage, entered_at=m.at)
                for m in chunk
            ]
            ContactStage.objects.bulk_update(
                [r for r in rows if r.contact_id in existing], ["stage", "entered_at"]
            )
            ContactStage.objects.bulk_create([r for r in rows if r.contact_id not in existing])
            StageChange.objects.bulk_create(
                [
                    StageChange(
                        contact_id=m.contact_id,
                        from_stage=m.from_stage,
                        to_stage=m.to_stage,
                        changed_at=m.at,
                        source=m.source,
                        actor_id=m.actor_id,
                        rule_id=m.rule_id,
                        reason=m.reason,
                    )
                    for m in chunk
                ]
            )
            if not events:
                continue
            batch = [_event(m) for m in chunk]
            if quiet:
                with listeners.paused():
                    activity_services.event_ingest_batch(events=batch)
            else:
                activity_services.event_ingest_batch(events=batch)
    logger.info("lifecycle.moves_applied", extra={"count": len(moves)})
    return len(moves)
