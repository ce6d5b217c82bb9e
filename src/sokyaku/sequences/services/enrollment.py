"""Enrolling contacts in sequences and taking them out.

``sequence_enroll`` is the one creator of ``Enrollment`` rows: it applies the sequence's re-entry
policy and its exclusions (not while the contact is active in a sequence it excludes or that
excludes it: an exclusion keeps the two apart whichever trigger fires first), relies on
the partial unique constraint (one *active* enrolment per sequence and contact)
so two triggers racing for the same contact end with one enrolment, writes ``sequence_enrolled``
and, after commit, asks the worker to run the first step when it is due within seconds (mail 1
"at once"). ``enrollment_exit`` / ``enrollment_finish`` end an enrolment and write
``sequence_exited {sequence, reason}``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.sequences.models import (
    Enrollment,
    EnrollmentStatus,
    ReentryPolicy,
    Sequence,
    SequenceStatus,
    StepKind,
)

logger = logging.getLogger(__name__)

# A new enrolment whose first step is due within this margin is run right after commit.
AT_ONCE = timedelta(seconds=5)

# Exit reasons (``Enrollment.exit_reason``; the UI translates them).
GOAL = "goal"
COMPLETED = "completed"
MANUAL = "manual"
UNSUBSCRIBED = "unsubscribed"
BOUNCED = "bounced"
COMPLAINED = "complained"
CONTACT_GONE = "contact_merged"


def _event(*, contact_id: int, type: str, properties: dict[str, object], at: datetime) -> None:
    activity_services.event_ingest(
        event=event_build(
            type=type,
            occurred_at=at,
            source=EventSource.SYSTEM,
            properties=properties,
            contact_id=contact_id,
        )
    )


def _reentry_allowed(*, sequence: Sequence, contact: Contact, now: datetime) -> bool:
    last = (
        Enrollment.objects.filter(sequence=sequence, contact=contact)
        .order_by("-enrolled_at", "-id")
        .only("enrolled_at", "status")
        .first()
    )
    if last is None:
        return True
    if sequence.reentry == ReentryPolicy.NEVER:
        return False
    if sequence.reentry == ReentryPolicy.AFTER_DAYS:
        return last.enrolled_at + timedelta(days=sequence.reentry_days or 0) <= now
    return True  # AFTER_EXIT: any finished enrolment (an active one was handled before)


def _first_position(sequence: Sequence) -> int | None:
    return sequence.steps.order_by("position").values_list("position", flat=True).first()


def _kick_after_commit(enrollment_ids: Iterable[int]) -> None:
    ids = sorted(enrollment_ids)
    if not ids:
        return

    def kick() -> None:
        from sokyaku.sequences import tasks

        tasks.sequences_advance_task(ids)

    transaction.on_commit(kick, robust=True)


def sequence_enroll(
    *,
    sequence: Sequence,
    contact: Contact,
    actor: User | None = None,
    trigger_event: Event | None = None,
    anchor_at: datetime | None = None,
    first_run_at: datetime | None = None,
) -> Enrollment:
    """Enrol ``contact`` in ``sequence`` and return the enrolment.

    An enrolment that is already active is returned as it is (also when a concurrent trigger
    created it a moment ago). ``first_run_at`` (default now) is when the first step runs —
    date-relative triggers pass the computed moment. Writes ``sequence_enrolled`` and, after
    commit, runs the first step when it is due now. Raises ``Conflict`` when the sequence is a
    draft or archived, the re-entry policy refuses, or the contact is active in a sequence this
    one excludes; ``ValidationError`` for a merged contact
    or (sequences with email steps) a contact without an email address.
    """
    if sequence.status in (SequenceStatus.DRAFT, SequenceStatus.ARCHIVED):
        raise Conflict("Activate the sequence before enrolling contacts.")
    if contact.merged_into_id is not None:
        raise ValidationError(
            "This contact was merged into another one.", field_errors={"contact": "merged"}
        )
    if not contact.email and sequence.steps.filter(kind=StepKind.EMAIL).exists():
        raise ValidationError(
            "The contact has no email address.", field_errors={"contact": "no email address"}
        )
    now = clock.now()
    active = Enrollment.objects.filter(
        sequence=sequence, contact=contact, status=EnrollmentStatus.ACTIVE
    ).first()
    if active is not None:
        return active
    if not _reentry_allowed(sequence=sequence, contact=contact, now=now):
        raise Conflict("The re-entry policy of this sequence does not allow enrolling again.")
    blocking = (
        Enrollment.objects.filter(contact=contact, status=EnrollmentStatus.ACTIVE)
        .filter(
            Q(sequence__in=sequence.exclusions.all()) | Q(sequence__in=sequence.excluded_by.all())
        )
        .select_related("sequence")
        .first()
    )
    if blocking is not None:
        raise Conflict(
            "The contact is active in a sequence that this sequence excludes or that excludes it."
        )
    first = _first_position(sequence)
    run_at = first_run_at or now
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                sequence=sequence,
                contact=contact,
                status=EnrollmentStatus.ACTIVE,
                position=first or 0,
                next_run_at=run_at,
                anchor_at=anchor_at,
                trigger_event=trigger_event,
                enrolled_at=now,
                enrolled_by=actor,
            )
    except IntegrityError:
        existing = Enrollment.objects.filter(
            sequence=sequence, contact=contact, status=EnrollmentStatus.ACTIVE
        ).first()
        if existing is None:
            raise
        return existing
    _event(
        contact_id=contact.pk,
        type=EventType.SEQUENCE_ENROLLED,
        properties={"sequence": sequence.pk, "name": sequence.name},
        at=now,
    )
    if run_at <= now + AT_ONCE:
        _kick_after_commit([enrollment.pk])
    logger.info(
        "sequence.enrolled",
        extra={"sequence": sequence.pk, "contact": contact.pk, "enrollment": enrollment.pk},
    )
    return enrollment


def _finish(
    *, enrollment: Enrollment, status: str, reason: str, at: datetime, actor: User | None
) -> Enrollment:
    enrollment.status = status
    enrollment.exit_reason = reason
    enrollment.finished_at = at
    enrollment.next_run_at = None
    enrollment.save(update_fields=["status", "exit_reason", "finished_at", "next_run_at"])
    properties: dict[str, object] = {"sequence": enrollment.sequence_id, "reason": reason}
    if actor is not None:
        properties["actor"] = actor.get_username()
    _event(
        contact_id=enrollment.contact_id,
        type=EventType.SEQUENCE_EXITED,
        properties=properties,
        at=at,
    )
    logger.info(
        "sequence.exited",
        extra={"enrollment": enrollment.pk, "status": status, "reason": reason},
    )
    return enrollment


def enrollment_exit(
    *, enrollment: Enrollment, reason: str, actor: User | None = None
) -> Enrollment:
    """Take an active enrolment out of its sequence (``status=exited``, no next run).

    Writes ``sequence_exited {sequence, reason}``. Messages already queued are left to the
    engine, which checks consent and suppression again when sending. An enrolment that is no
    longer active is returned unchanged."""
    with transaction.atomic():
        locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if locked.status != EnrollmentStatus.ACTIVE:
            return locked
        return _finish(
            enrollment=locked,
            status=EnrollmentStatus.EXITED,
            reason=reason,
            at=clock.now(),
            actor=actor,
        )


def enrollment_finish(*, enrollment: Enrollment, reason: str = COMPLETED) -> Enrollment:
    """Mark an active enrolment completed: it ran its last step (``completed``) or reached its
    goal (``goal``). Writes ``sequence_exited``; an enrolment no longer active is returned
    unchanged."""
    with transaction.atomic():
        locked = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
        if locked.status != EnrollmentStatus.ACTIVE:
            return locked
        return _finish(
            enrollment=locked,
            status=EnrollmentStatus.COMPLETED,
            reason=reason,
            at=clock.now(),
            actor=None,
        )


def enrollments_exit(
    *,
    enrollments: Iterable[Enrollment],
    reason: str,
    actor: User | None = None,
) -> int:
    """Exit several enrolments (each in its own short transaction); returns how many ended."""
    ended = 0
    for enrollment in enrollments:
        before = enrollment.status
        after = enrollment_exit(enrollment=enrollment, reason=reason, actor=actor)
        ended += int(before == EnrollmentStatus.ACTIVE and after.status == EnrollmentStatus.EXITED)
    return ended
