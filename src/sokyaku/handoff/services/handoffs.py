"""A handoff's life: created (routed, owner set, SLA started, alerted), reassigned, accepted or
rejected (recycled into nurture or disqualified).

Each step locks the handoff row, writes its changes and its timeline event (``handoff_created``,
``handoff_assigned``, ``handoff_accepted``, ``handoff_rejected``) and queues its messages in one
transaction. At most one handoff per contact is open: a hot action while one is open becomes a
``HandoffMoment`` on it with a follow-up alert (not for reaching MQL, which adds nothing the rep
must act on, nor for the same trigger again within ``FOLLOW_UP_QUIET``: five pricing pages in a
row are one alert).

The rep a handoff is assigned to becomes the contact's owner (``contacts.services
.contact_update``), so the lead shows up among their contacts and deals.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import translation

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.handoff import alerts, routing
from sokyaku.handoff.models import (
    Handoff,
    HandoffAssignment,
    HandoffMoment,
    HandoffOutcome,
    HandoffStatus,
    HandoffTrigger,
    RejectReason,
    TriggerKind,
)
from sokyaku.handoff.services import alerting, sla
from sokyaku.sequences.models import Sequence

logger = logging.getLogger(__name__)

FOLLOW_UP_QUIET = timedelta(hours=1)
REASON_MAX = 300
NOTE_MAX = 2000

# The reject reasons as marketing reads them in the stage history (stored text, Japanese like
# the alerts).
REJECT_REASONS_JA: dict[str, str] = {
    RejectReason.NOT_A_FIT: "ターゲット外",
    RejectReason.NO_BUDGET: "予算なし",
    RejectReason.BAD_TIMING: "時期が合わない",
    RejectReason.NO_AUTHORITY: "決裁者ではない",
    RejectReason.NO_RESPONSE: "連絡がつかない",
    RejectReason.DUPLICATE: "重複",
    RejectReason.COMPETITOR: "競合・パートナー",
    RejectReason.OTHER: "その他",
}
_REJECT_OUTCOMES = (HandoffOutcome.RECYCLED, HandoffOutcome.DISQUALIFIED)


def _source(actor: User | None) -> str:
    return EventSource.UI if actor is not None else EventSource.SYSTEM


def _record(
    *, type: str, handoff: Handoff, actor: User | None, at: datetime, **properties: Any
) -> None:
    activity_services.event_ingest(
        event=event_build(
            type=type,
            occurred_at=at,
            source=_source(actor),
            contact_id=handoff.contact_id,
            properties={
                "handoff": handoff.pk,
                "by": actor.get_username() if actor is not None else "",
                **properties,
            },
        )
    )


def _lock(handoff: Handoff) -> Handoff:
    locked = (
        Handoff.objects.select_for_update(of=("self",))
        .filter(pk=handoff.pk)
        .select_related("contact", "contact__company", "assignee", "team", "trigger")
        .first()
    )
    if locked is None:
        raise Conflict("This handoff no longer exists.")
    return locked


def _owner_follow(contact: Contact, user: User | None, actor: User | None) -> None:
    """The assigned rep becomes the contact's owner."""
    if user is None or contact.owner_id == user.pk:
        return
    contact_services.contact_update(
        contact=contact, data=contact_services.ContactInput(owner_id=user.pk), actor=actor
    )


def _open_for(contact: Contact) -> Handoff | None:
    return (
        Handoff.objects.select_for_update(of=("self",))
        .filter(contact_id=contact.pk, status=HandoffStatus.OPEN)
        .select_related("contact", "contact__company", "assignee", "team", "trigger")
        .first()
    )


def _moment_add(
    handoff: Handoff,
    *,
    trigger: HandoffTrigger,
    event: Event | None,
    interest: str,
    acted_at: datetime,
) -> Handoff:
    since = acted_at - FOLLOW_UP_QUIET
    repeated = (handoff.trigger_id == trigger.pk and handoff.acted_at >= since) or (
        HandoffMoment.objects.filter(handoff=handoff, trigger=trigger, acted_at__gte=since).exists()
    )
    moment = HandoffMoment.objects.create(
        handoff=handoff,
        trigger=trigger,
        action_label=trigger.action_label,
        interest=interest,
        event=event if event is not None and event.pk else None,
        acted_at=acted_at,
    )
    if trigger.kind != TriggerKind.MQL and not repeated:
        alerting.alert_send(handoff=handoff, moment=moment)
    logger.info(
        "handoff.moment_added",
        extra={"handoff": handoff.pk, "moment": moment.pk, "alerted": not repeated},
    )
    return handoff


def handoff_create(
    *,
    contact: Contact,
    trigger: HandoffTrigger,
    event: Event | None = None,
    actor: User | None = None,
) -> Handoff:
    """Hand ``contact`` to sales because of ``trigger`` (and the ``event`` that met it).

    Routes the lead (``routing.route``), makes the rep its owner, starts the SLA clock
    (``sla.sla_deadline``), records ``handoff_created`` and a ``HandoffAssignment``, and queues
    the alert (mail to the rep or the queue's recipient, chat channel) for delivery after commit.
    With a handoff already open for the contact, adds a ``HandoffMoment`` and a follow-up alert
    to it instead and returns that one. Raises ``ValidationError`` for a merged-away contact.
    """
    if contact.merged_into_id is not None:
        raise ValidationError(
            "This contact was merged into another one.", field_errors={"contact": "merged"}
        )
    from sokyaku.lifecycle import selectors as lifecycle_selectors

    now = clock.now()
    acted_at = event.occurred_at if event is not None else now
    interest = alerts.interest_of(event)
    stored_event = event if event is not None and event.pk else None
    with transaction.atomic():
        # One handoff decision per contact at a time.
        Contact.objects.select_for_update().filter(pk=contact.pk).values_list("pk").first()
        current = _open_for(contact)
        if current is not None:
            return _moment_add(
                current, trigger=trigger, event=event, interest=interest, acted_at=acted_at
            )
        stage = lifecycle_selectors.stage_get(contact_id=contact.pk)
        with translation.override(settings.LANGUAGE_CODE):
            route = routing.route(contact, lock=True, at=now, stage=stage)
        due = sla.sla_deadline(
            start=now, hours=trigger.sla_hours, business_days_only=trigger.business_days_only
        )
        try:
            with transaction.atomic():
                handoff = Handoff.objects.create(
                    contact=contact,
                    trigger=trigger,
                    trigger_kind=trigger.kind,
                    action_label=trigger.action_label,
                    interest=interest,
                    event=stored_event,
                    acted_at=acted_at,
                    next_action=trigger.next_action,
                    assignee=route.assignee,
                    team=route.team,
                    routing_rule=route.rule,
                    routing_note=route.note[:300],
                    created_at=now,
                    alerted_at=now,
                    sla_due_at=due,
                    reminder_at=sla.reminder_time(
                        created_at=now, deadline=due, minutes=trigger.reminder_minutes
                    ),
                )
        except IntegrityError:
            current = _open_for(contact)  # opened by a concurrent request a moment ago
            if current is None:
                raise
            return _moment_add(
                current, trigger=trigger, event=event, interest=interest, acted_at=acted_at
            )
        routing.round_robin_mark(route, at=now)
        HandoffAssignment.objects.create(
            handoff=handoff, from_user=None, to_user=route.assignee, by=actor, reason="", at=now
        )
        _owner_follow(contact, route.assignee, actor)
        _record(
            type=EventType.HANDOFF_CREATED,
            handoff=handoff,
            actor=actor,
            at=now,
            trigger=trigger.pk,
            action=trigger.action_label,
            interest=interest,
            assignee=route.assignee.pk if route.assignee else None,
            assignee_name=routing.user_label(route.assignee),
            team=route.team.pk if route.team else None,
            rule=route.rule.pk if route.rule else None,
            routing_note=handoff.routing_note,
            sla_due_at=due.isoformat(),
            source_event=stored_event.pk if stored_event else None,
        )
        alerting.alert_send(handoff=handoff)
    logger.info(
        "handoff.created",
        extra={
            "handoff": handoff.pk,
            "contact": contact.pk,
            "assignee": route.assignee.pk if route.assignee else None,
            "rule": route.rule.pk if route.rule else None,
        },
    )
    return handoff


def handoff_reassign(
    *, handoff: Handoff, to_user: User | None, reason: str, actor: User | None
) -> Handoff:
    """Give an open handoff to another rep: a ``HandoffAssignment`` with the reason, the contact's
    owner follows, ``handoff_assigned`` on the timeline, and the new rep gets the alert (a new
    message, also when the handoff comes back to someone). The SLA deadline stays.

    Raises ``ValidationError``: an inactive (or no) user, the same rep, a missing reason, a handoff
    that is no longer open.
    """
    if to_user is None or not to_user.is_active:
        raise ValidationError(
            "This person cannot take handoffs: the user is inactive.",
            field_errors={"assignee": "This user is inactive."},
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            "Say why the handoff is reassigned.", field_errors={"reason": "required"}
        )
    if len(reason) > REASON_MAX:
        raise ValidationError(
            f"The reason is longer than {REASON_MAX} characters.",
            field_errors={"reason": f"at most {REASON_MAX} characters"},
        )
    now = clock.now()
    with transaction.atomic():
        locked = _lock(handoff)
        if locked.status != HandoffStatus.OPEN:
            raise ValidationError("This handoff is closed: it was already accepted or rejected.")
        if locked.assignee_id == to_user.pk:
            raise ValidationError(
                "The handoff is already assigned to this person.",
                field_errors={"assignee": "already assigned to this person"},
            )
        from_user = locked.assignee
        locked.assignee = to_user
        locked.save(update_fields=["assignee"])
        assignment = HandoffAssignment.objects.create(
            handoff=locked, from_user=from_user, to_user=to_user, by=actor, reason=reason, at=now
        )
        _owner_follow(locked.contact, to_user, actor)
        _record(
            type=EventType.HANDOFF_ASSIGNED,
            handoff=locked,
            actor=actor,
            at=now,
            **{
                "from": from_user.pk if from_user else None,
                "to": to_user.pk,
                "to_name": routing.user_label(to_user),
                "reason": reason,
            },
        )
        alerting.alert_send(handoff=locked, assignment_id=assignment.pk, chat=False)
    logger.info("handoff.reassigned", extra={"handoff": locked.pk, "to": to_user.pk})
    return locked


def handoff_accept(*, handoff: Handoff, actor: User | None) -> Handoff:
    """Accept an open handoff: status accepted, outcome SQL, ``handoff_accepted``. Counts as the
    response for the SLA when nobody touched the lead yet. An unassigned handoff goes to the
    person accepting it (who becomes the owner). Raises ``Conflict`` when it is not open."""
    now = clock.now()
    with transaction.atomic():
        locked = _lock(handoff)
        if locked.status != HandoffStatus.OPEN:
            raise Conflict("This handoff was already accepted or rejected.")
        sla.touch_record(handoff=locked, at=now)
        if locked.assignee_id is None and actor is not None:
            locked.assignee = actor
            HandoffAssignment.objects.create(
                handoff=locked,
                from_user=None,
                to_user=actor,
                by=actor,
                reason="accepted from the queue",
                at=now,
            )
            _owner_follow(locked.contact, actor, actor)
        locked.status = HandoffStatus.ACCEPTED
        locked.outcome = HandoffOutcome.SQL
        locked.closed_at = now
        locked.closed_by = actor
        locked.save(update_fields=["assignee", "status", "outcome", "closed_at", "closed_by"])
        _record(type=EventType.HANDOFF_ACCEPTED, handoff=locked, actor=actor, at=now)
    logger.info("handoff.accepted", extra={"handoff": locked.pk})
    return locked


def reject_reason_text(reason: str, note: str = "") -> str:
    """The reason as the stage history shows it: 予算なし: 来期に再検討."""
    text = REJECT_REASONS_JA.get(reason, reason)
    return (f"{text}: {note}" if note else text)[:REASON_MAX]


def handoff_reject(
    *,
    handoff: Handoff,
    actor: User | None,
    reason: str,
    note: str = "",
    outcome: str = HandoffOutcome.RECYCLED,
    sequence: Sequence | None = None,
) -> Handoff:
    """Reject an open handoff with a ``RejectReason``: ``handoff_rejected`` on the timeline and
    the contact recycled into nurture (``lifecycle`` ``contact_recycle``, and enrolled in
    ``sequence`` when given) or disqualified. The reason and note are the stage move's reason,
    which marketing reads back. Counts as the response for the SLA when nobody touched the lead.

    Raises ``ValidationError`` for an unknown reason or outcome, a sequence with a disqualified
    outcome or a note that is too long; ``Conflict`` when the handoff is not open or the
    sequence refuses the enrolment (not active, re-entry policy).
    """
    note = (note or "").strip()
    if reason not in RejectReason.values:
        raise ValidationError(
            "Choose a reason.", field_errors={"reason": f"one of {', '.join(RejectReason.values)}"}
        )
    if outcome not in _REJECT_OUTCOMES:
        raise ValidationError(
            "Recycle or disqualify the contact.",
            field_errors={"outcome": "recycled or disqualified"},
        )
    if sequence is not None and outcome != HandoffOutcome.RECYCLED:
        raise ValidationError(
            "Only a recycled contact goes into a nurture sequence.",
            field_errors={"sequence": "only when recycled"},
        )
    if len(note) > NOTE_MAX:
        raise ValidationError(
            f"The note is longer than {NOTE_MAX} characters.",
            field_errors={"note": f"at most {NOTE_MAX} characters"},
        )
    from sokyaku.lifecycle import services as lifecycle_services
    from sokyaku.lifecycle.models import ChangeSource
    from sokyaku.sequences.services.enrollment import sequence_enroll

    now = clock.now()
    with transaction.atomic():
        locked = _lock(handoff)
        if locked.status != HandoffStatus.OPEN:
            raise Conflict("This handoff was already accepted or rejected.")
        sla.touch_record(handoff=locked, at=now)
        locked.status = HandoffStatus.REJECTED
        locked.reject_reason = reason
        locked.reject_note = note
        locked.outcome = outcome
        locked.recycle_sequence = sequence
        locked.closed_at = now
        locked.closed_by = actor
        locked.save(
            update_fields=[
                "status",
                "reject_reason",
                "reject_note",
                "outcome",
                "recycle_sequence",
                "closed_at",
                "closed_by",
            ]
        )
        _record(
            type=EventType.HANDOFF_REJECTED,
            handoff=locked,
            actor=actor,
            at=now,
            reason=reason,
            reason_text=REJECT_REASONS_JA.get(reason, reason),
            note=note,
            outcome=outcome,
            sequence=sequence.pk if sequence is not None else None,
        )
        text = reject_reason_text(reason, note)
        source = ChangeSource.USER if actor is not None else ChangeSource.API
        contact = locked.contact
        if outcome == HandoffOutcome.RECYCLED:
            lifecycle_services.contact_recycle(
                contact=contact, reason=text, actor=actor, source=source
            )
            if sequence is not None:
                sequence_enroll(sequence=sequence, contact=contact, actor=actor)
        else:
            lifecycle_services.contact_disqualify(
                contact=contact, reason=text, actor=actor, source=source
            )
    logger.info(
        "handoff.rejected", extra={"handoff": locked.pk, "reason": reason, "outcome": outcome}
    )
    return locked
