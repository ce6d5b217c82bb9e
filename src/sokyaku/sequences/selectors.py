"""Reads of sequences: lists with their numbers, enrolments, per-step and per-variant (A/B)
metrics, the calendar preview (what the tick would do for one contact from a start time,
windows and holidays applied)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Min, Q, QuerySet
from django.db.models.fields.json import KT

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import NotFound, PermissionDenied
from sokyaku.messaging.models import Message, MessageStatus
from sokyaku.sequences.models import (
    Enrollment,
    EnrollmentStatus,
    Sequence,
    Step,
    StepKind,
    TriggerKind,
)
from sokyaku.sequences.schedule import SEND_KINDS, date_ref_value, wait_until, window_of
from sokyaku.sequences.variants import VARIANT_KEY, step_variants

AnyUser = User | AnonymousUser


def _require(user: AnyUser | None, perm: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You may not see sequences.")


def sequence_list(*, user: AnyUser | None) -> list[Sequence]:
    """Every sequence with ``active_count``, ``enrolled_count``, ``goal_count``, ``sent_count``
    and ``goal_rate`` (per cent of enrolments, ``None`` without any): two queries."""
    _require(user, "sequences.view_sequence")
    rows: list[Sequence] = list(
        Sequence.objects.annotate(
            active_count=Count(
                "enrollments", filter=Q(enrollments__status=EnrollmentStatus.ACTIVE)
            ),
            enrolled_count=Count("enrollments"),
            goal_count=Count("enrollments", filter=Q(enrollments__exit_reason="goal")),
        )
    )
    counts = dict(
        Message.objects.filter(sequence_id__in=[r.pk for r in rows], status=MessageStatus.SENT)
        .values("sequence_id")
        .annotate(n=Count("id"))
        .values_list("sequence_id", "n")
    )
    for row in rows:
        row.sent_count = counts.get(row.pk, 0)  # type: ignore[attr-defined]
        enrolled = row.enrolled_count  # type: ignore[attr-defined]
        row.goal_rate = round(100 * row.goal_count / enrolled, 1) if enrolled else None  # type: ignore[attr-defined]
    return rows


def sequence_get(*, user: AnyUser | None, id: int) -> Sequence:
    _require(user, "sequences.view_sequence")
    sequence = Sequence.objects.select_related("sender").filter(pk=id).first()
    if sequence is None:
        raise NotFound("No such sequence.")
    return sequence


def step_list(*, sequence: Sequence) -> list[Step]:
    return list(Step.objects.filter(sequence=sequence).order_by("position"))


def step_get(*, sequence: Sequence, id: int) -> Step:
    step = Step.objects.filter(sequence=sequence, pk=id).first()
    if step is None:
        raise NotFound("No such step.")
    return step


@dataclass(frozen=True)
class StepMetrics:
    queued: int = 0
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    unsubscribed: int = 0
    bounced: int = 0
    suppressed: int = 0
    waiting: int = 0  # active enrolments whose next step is this one
    conversions: int = 0  # goal steps: enrolments that reached the goal


def step_metrics(*, sequence: Sequence, steps: Iterable[Step]) -> dict[int, StepMetrics]:
    """Per step id: outbox numbers of its messages (one query), enrolments waiting for it and,
    for the goal, conversions. Opens are those the engine recorded as ``opened_at`` (human
    opens; machine opens are flagged on the event and not counted there)."""
    steps = list(steps)
    rows = (
        Message.objects.filter(sequence_id=sequence.pk)
        .values("step_id")
        .annotate(
            queued=Count("id", filter=Q(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])),
            sent=Count("id", filter=Q(status=MessageStatus.SENT)),
            delivered=Count("id", filter=Q(status=MessageStatus.SENT, bounced_at__isnull=True)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
            unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False)),
            bounced=Count("id", filter=Q(bounced_at__isnull=False)),
            suppressed=Count("id", filter=Q(status=MessageStatus.SUPPRESSED)),
        )
    )
    by_step: dict[int | None, dict[str, int]] = {
        r["step_id"]: {k: int(v) for k, v in r.items() if k != "step_id"}  # type: ignore[call-overload]
        for r in rows
    }
    waiting = dict(
        Enrollment.objects.filter(sequence=sequence, status=EnrollmentStatus.ACTIVE)
        .values("position")
        .annotate(n=Count("id"))
        .values_list("position", "n")
    )
    goals = Enrollment.objects.filter(sequence=sequence, exit_reason="goal").count()
    result: dict[int, StepMetrics] = {}
    previous = 0
    for step in steps:
        numbers: dict[str, int] = by_step.get(step.pk, {})
        waiting_here = sum(n for pos, n in waiting.items() if previous < pos <= step.position)
        result[step.pk] = StepMetrics(
            **numbers,
            waiting=waiting_here,
            conversions=goals if step.kind == StepKind.GOAL else 0,
        )
        previous = step.position
    return result


@dataclass(frozen=True)
class VariantRow:
    """One A/B variant of a mail step as the sequence page shows it: what it sends (template id
    ``None`` = the step's own, subject ``""`` = the template's), its share (``None`` for a
    variant no longer configured whose mail is still counted) and its mail's numbers."""

    label: str
    template_id: int | None
    subject: str
    weight: int | None
    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0

    @property
    def open_rate(self) -> float | None:
        """Human opens per delivered mail, in per cent (``None`` before any delivery)."""
        return round(100 * self.opened / self.delivered, 1) if self.delivered else None

    @property
    def click_rate(self) -> float | None:
        """Clicks per delivered mail (CTR), in per cent."""
        return round(100 * self.clicked / self.delivered, 1) if self.delivered else None


def variant_metrics(*, sequence: Sequence, steps: Iterable[Step]) -> dict[int, list[VariantRow]]:
    """Per mail step id with variants (configured now, or labelled on its mail): each variant
    A, B, C with sent, delivered, opened (human opens) and clicked — one query, grouping the
    sequence's messages by step and ``context["variant"]``. Steps without either are left out."""
    rows = (
        Message.objects.filter(sequence_id=sequence.pk, context__has_key=VARIANT_KEY)
        .annotate(variant=KT(f"context__{VARIANT_KEY}"))
        .values("step_id", "variant")
        .annotate(
            sent=Count("id", filter=Q(status=MessageStatus.SENT)),
            delivered=Count("id", filter=Q(status=MessageStatus.SENT, bounced_at__isnull=True)),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        )
    )
    counted: dict[tuple[int, str], dict[str, int]] = {
        (r["step_id"] or 0, str(r["variant"])): {
            key: int(r[key]) for key in ("sent", "delivered", "opened", "clicked")
        }
        for r in rows
    }
    result: dict[int, list[VariantRow]] = {}
    for step in steps:
        if step.kind != StepKind.EMAIL:
            continue
        configured = {v.label: v for v in step_variants(step.config or {})}
        labels = sorted(set(configured) | {label for pk, label in counted if pk == step.pk})
        if not labels:
            continue
        result[step.pk] = [
            VariantRow(
                label=label,
                template_id=configured[label].template_id if label in configured else None,
                subject=configured[label].subject if label in configured else "",
                weight=configured[label].weight if label in configured else None,
                **counted.get((step.pk, label), {}),
            )
            for label in labels
        ]
    return result


def enrollment_list(*, sequence: Sequence, status: str | None = None) -> QuerySet[Enrollment]:
    rows = Enrollment.objects.filter(sequence=sequence).select_related("contact")
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-enrolled_at", "-id")


def enrollment_get(*, sequence: Sequence, contact_id: int) -> Enrollment:
    """The contact's active enrolment in the sequence; ``NotFound`` when there is none."""
    found = Enrollment.objects.filter(
        sequence=sequence, contact_id=contact_id, status=EnrollmentStatus.ACTIVE
    ).first()
    if found is None:
        raise NotFound("The contact is not active in this sequence.")
    return found


def enrollment_active(*, sequence: Sequence, contact_id: int) -> Enrollment | None:
    return Enrollment.objects.filter(
        sequence=sequence, contact_id=contact_id, status=EnrollmentStatus.ACTIVE
    ).first()


@dataclass(frozen=True)
class ContactEnrollment:
    enrollment: Enrollment
    next_step: Step | None


def contact_enrollments(*, contact: Contact) -> list[ContactEnrollment]:
    """A contact's enrolments (newest first) with the step each will run next (two queries)."""
    enrollments = list(
        Enrollment.objects.filter(contact=contact)
        .select_related("sequence")
        .order_by("-enrolled_at", "-id")[:50]
    )
    sequence_ids = {e.sequence_id for e in enrollments if e.status == EnrollmentStatus.ACTIVE}
    steps: dict[int, list[Step]] = {}
    for step in Step.objects.filter(sequence_id__in=sequence_ids).order_by("position"):
        steps.setdefault(step.sequence_id, []).append(step)
    result = []
    for enrollment in enrollments:
        following = None
        if enrollment.status == EnrollmentStatus.ACTIVE:
            following = next(
                (
                    s
                    for s in steps.get(enrollment.sequence_id, [])
                    if s.position >= enrollment.position
                ),
                None,
            )
        result.append(ContactEnrollment(enrollment=enrollment, next_step=following))
    return result


def manual_sequences() -> QuerySet[Sequence]:
    """Sequences a person may be enrolled in by hand (active or paused)."""
    return Sequence.objects.filter(status__in=["active", "paused"]).order_by("name")


# --- the calendar preview --------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedStep:
    position: int
    kind: str
    name: str
    planned_at: datetime | None
    note: str = ""


def _preview_anchor(sequence: Sequence, contact: Contact) -> datetime | None:
    if sequence.trigger_kind != TriggerKind.DATE_RELATIVE:
        return None
    ref = str((sequence.trigger_config or {}).get("date") or "")
    return date_ref_value(ref, contact=contact)


def sequence_preview(
    *, sequence: Sequence, contact: Contact, start: datetime | None = None
) -> list[PlannedStep]:
    """When each step would run for ``contact`` enrolled at ``start`` (default now): waits
    added, send steps moved into the window (weekdays/hours, national holidays, closures).

    Branches are shown at their moment and the path continues in order (which way a contact
    goes is only known when it runs). A date-relative sequence starts at the contact's date +
    offset. ``planned_at`` is ``None`` after a wait on a date the contact does not have."""
    at: datetime | None = start or clock.now()
    window = window_of(sequence)
    anchor = _preview_anchor(sequence, contact)
    if sequence.trigger_kind == TriggerKind.DATE_RELATIVE:
        if anchor is None:
            at = None
        else:
            offset = int((sequence.trigger_config or {}).get("offset_minutes") or 0)
            at = max(anchor + timedelta(minutes=offset), at) if at else None
    planned: list[PlannedStep] = []
    for step in step_list(sequence=sequence):
        note = ""
        if at is not None and step.kind in SEND_KINDS:
            snapped = window.next_time(at)
            if snapped != at:
                note = "moved into the send window"
            at = snapped
        planned.append(
            PlannedStep(
                position=step.position,
                kind=step.kind,
                name=step.name or step.get_kind_display(),
                planned_at=at,
                note=note,
            )
        )
        if at is not None and step.kind == StepKind.WAIT:
            at = wait_until(
                config=step.config or {},
                base=at,
                anchor_at=anchor,
                window=window,
                contact=contact,
            )
    return planned


def preview_as_dicts(planned: Iterable[PlannedStep]) -> list[dict[str, Any]]:
    return [
        {
            "position": p.position,
            "kind": p.kind,
            "name": p.name,
            "planned_at": p.planned_at,
            "note": p.note,
        }
        for p in planned
    ]


def sequence_choices() -> QuerySet[Any]:
    """``(id, name)`` of every sequence but archived ones (the exclusions picker)."""
    return Sequence.objects.exclude(status="archived").order_by("name").values_list("pk", "name")


def enrollment_oldest_due(*, at: datetime) -> datetime | None:
    """The ``next_run_at`` of the active enrolment most overdue at ``at`` (``None``: none)."""
    return Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, next_run_at__lte=at).aggregate(
        oldest=Min("next_run_at")
    )["oldest"]
