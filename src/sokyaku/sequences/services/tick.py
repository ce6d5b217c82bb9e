"""The tick: advance due enrolments along their steps, exactly once per (enrolment, step).

The durable schedule is ``Enrollment.next_run_at``. ``sequences_tick`` (every minute from the
worker, and right after commit for an enrolment that is due now) claims due active enrolments of
active sequences and advances each in its own transaction:

- the row is locked with ``SELECT … FOR UPDATE SKIP LOCKED`` (``of=("self",)``) on PostgreSQL, so
  a second worker skips it, and re-checked (still active, still due) once locked, so a worker
  that saw it due before the first one committed finds it no longer due;
- a mail step with A/B variants sends the variant drawn from the enrolment's and the step's
  ids (``sequences.variants``), so running it again picks the same one;
- a step's effects (the outbox message with key ``seq:<enrollment>:<step>``, the ``StepRun``
  unique per enrolment and step, the new position and ``next_run_at``) commit together or not
  at all. A crash before commit leaves the enrolment due; after commit it is not due any more.

Steps run one after the other in the same transaction until a wait ends in the future, a send
step falls outside the send window (``next_run_at`` = the window's next opening) or the
sequence ends. Goal conditions are checked before each run; a reached goal completes the
enrolment with reason ``goal``.

One person, one mail at a time (the messaging app's frequency cap, by default one marketing mail
per contact and Tokyo day): a mail step whose contact has had their mails that day **waits** —
position kept, ``next_run_at`` moved to the next day's window opening — it is neither dropped
nor skipped. Before that, the contact's enrolments in sequences of higher ``priority`` that
want to mail today (their next step is a mail, due before the day ends) take the free slots
first: a lower-priority mail step waits until they have run, then the cap decides.

Paused sequences are not claimed: their enrolments keep their position and run (inside the
window) when the sequence is resumed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse

from sokyaku.activity.models import EventType
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.calendar import SendWindow
from sokyaku.core.errors import SokyakuError
from sokyaku.messaging import frequency
from sokyaku.messaging.models import ChatChannel, Message, MessageChannel, Stream, Template
from sokyaku.messaging.rendering import SUBJECT_OVERRIDE, text_render
from sokyaku.messaging.services.notices import (
    Notice,
    StaffMail,
    chat_recipient,
    notice_enqueue,
)
from sokyaku.messaging.services.outbox import message_enqueue
from sokyaku.sequences import conditions
from sokyaku.sequences.models import (
    Enrollment,
    EnrollmentStatus,
    SequenceStatus,
    Step,
    StepKind,
    StepRun,
)
from sokyaku.sequences.schedule import SEND_KINDS, wait_until, window_of
from sokyaku.sequences.services import enrollment as enrollment_services
from sokyaku.sequences.variants import BASE_LABEL, VARIANT_KEY, step_variants, variant_pick

logger = logging.getLogger(__name__)

# Steps one enrolment may run in one go (branches only jump forward, so this is a safety net).
_MAX_STEPS_PER_RUN = 100
# A mail step giving way to a higher-priority sequence looks again this long after that one's run.
_AFTER_AHEAD = timedelta(minutes=1)


@dataclass(frozen=True)
class _Next:
    position: int | None  # None: the sequence is over
    run_at: datetime | None = None  # None: go on now
    finish: str = ""  # a reason to complete the enrolment now (goal)


def _claim(pk: int, at: datetime) -> Enrollment | None:
    rows = Enrollment.objects.filter(
        pk=pk,
        status=EnrollmentStatus.ACTIVE,
        next_run_at__lte=at,
        sequence__status=SequenceStatus.ACTIVE,
    )
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    else:
        rows = rows.select_for_update()  # SQLite: one writer at a time anyway
    return rows.select_related("sequence", "contact", "contact__owner", "trigger_event").first()


def due_enrollment_ids(*, at: datetime, limit: int, ids: Iterable[int] | None = None) -> list[int]:
    rows = Enrollment.objects.filter(
        status=EnrollmentStatus.ACTIVE,
        next_run_at__lte=at,
        sequence__status=SequenceStatus.ACTIVE,
    )
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    return list(rows.order_by("next_run_at", "id").values_list("pk", flat=True)[:limit])


def sequences_tick(
    *, now: datetime | None = None, limit: int = 500, enrollment_ids: Iterable[int] | None = None
) -> int:
    """Advance up to ``limit`` due enrolments (only ``enrollment_ids`` when given); returns how
    many this worker advanced. Creates outbox messages, StepRuns and events; safe to run in
    several workers at once (see the module docstring)."""
    at = now or clock.now()
    advanced = 0
    for pk in due_enrollment_ids(at=at, limit=limit, ids=enrollment_ids):
        with transaction.atomic():
            enrollment = _claim(pk, at)
            if enrollment is None:
                continue  # another worker holds it, or already moved it on
            _advance(enrollment, at)
            advanced += 1
    if advanced:
        logger.info("sequences.tick", extra={"advanced": advanced})
    return advanced


def _advance(enrollment: Enrollment, at: datetime) -> None:
    sequence = enrollment.sequence
    contact = enrollment.contact
    if contact.merged_into_id is not None:
        enrollment_services.enrollment_exit(
            enrollment=enrollment, reason=enrollment_services.CONTACT_GONE
        )
        return
    steps = list(Step.objects.filter(sequence=sequence).order_by("position"))
    for goal in (s for s in steps if s.kind == StepKind.GOAL):
        condition = goal.config.get("condition")
        if condition and conditions.condition_holds(condition, enrollment=enrollment, step=goal):
            enrollment_services.enrollment_finish(
                enrollment=enrollment, reason=enrollment_services.GOAL
            )
            return
    window = window_of(sequence)
    # Steps this enrolment already ran (a step moved after it ran) are passed over: each step
    # runs at most once per enrolment.
    done = set(StepRun.objects.filter(enrollment=enrollment).values_list("step_id", flat=True))
    for _ in range(_MAX_STEPS_PER_RUN):
        step = next(
            (s for s in steps if s.position >= enrollment.position and s.pk not in done), None
        )
        if step is None:
            enrollment_services.enrollment_finish(enrollment=enrollment)
            return
        if step.kind in SEND_KINDS and not window.contains(at):
            enrollment.position = step.position
            enrollment.next_run_at = window.next_time(at)
            enrollment.save(update_fields=["position", "next_run_at"])
            return
        if step.kind == StepKind.EMAIL:
            capped_until = _cap_wait(enrollment, at=at, window=window)
            if capped_until is not None:
                enrollment.position = step.position
                enrollment.next_run_at = capped_until
                enrollment.save(update_fields=["position", "next_run_at"])
                logger.info(
                    "sequences.step_capped",
                    extra={
                        "enrollment": enrollment.pk,
                        "step": step.pk,
                        "until": capped_until.isoformat(),
                    },
                )
                return
        outcome = _run(step, enrollment=enrollment, contact=contact, at=at, window=window)
        done.add(step.pk)
        if outcome.finish:
            enrollment_services.enrollment_finish(enrollment=enrollment, reason=outcome.finish)
            return
        if outcome.position is None:
            enrollment_services.enrollment_finish(enrollment=enrollment)
            return
        enrollment.position = outcome.position
        if outcome.run_at is not None and outcome.run_at > at:
            following = next((s for s in steps if s.position >= outcome.position), None)
            run_at = outcome.run_at
            if following is not None and following.kind in SEND_KINDS:
                run_at = window.next_time(run_at)
            enrollment.next_run_at = run_at
            enrollment.save(update_fields=["position", "next_run_at"])
            return
    enrollment.next_run_at = at
    enrollment.save(update_fields=["position", "next_run_at"])
    logger.warning("sequences.too_many_steps", extra={"enrollment": enrollment.pk})


def _cap_wait(enrollment: Enrollment, *, at: datetime, window: SendWindow) -> datetime | None:
    """When a mail step of ``enrollment`` due at ``at`` must wait for the frequency cap: the
    moment to look again (inside the send window); ``None`` when it may send now."""
    cap = frequency.frequency_cap_get()
    if not cap.sequences or not cap.per_day:
        return None
    contact_id = enrollment.contact_id
    sent = frequency.marketing_mails_on_day(contact_ids=[contact_id], at=at)[contact_id]
    if sent >= cap.per_day:
        return window.next_time(frequency.next_day_start(at))
    ahead = _ahead_today(enrollment, at=at)
    free = cap.per_day - sent
    if len(ahead) < free:
        return None
    # The higher-priority mails take the free slots first; look again once they have run.
    return window.next_time(max(ahead[free - 1], at) + _AFTER_AHEAD)


def _ahead_today(enrollment: Enrollment, *, at: datetime) -> list[datetime]:
    """When the contact's enrolments in higher-priority active sequences that want to mail
    before ``at``'s Tokyo day ends are due, earliest first."""
    _start, day_end = frequency.day_bounds(at)
    rivals = list(
        Enrollment.objects.filter(
            contact_id=enrollment.contact_id,
            status=EnrollmentStatus.ACTIVE,
            sequence__status=SequenceStatus.ACTIVE,
            sequence__priority__gt=enrollment.sequence.priority,
            next_run_at__lt=day_end,
        )
        .exclude(pk=enrollment.pk)
        .values_list("sequence_id", "position", "next_run_at")
    )
    if not rivals:
        return []
    steps: dict[int, list[tuple[int, str]]] = {}
    for sequence_id, position, step_kind in (
        Step.objects.filter(sequence_id__in={sequence_id for sequence_id, _p, _n in rivals})
        .order_by("position")
        .values_list("sequence_id", "position", "kind")
    ):
        steps.setdefault(sequence_id, []).append((position, step_kind))
    due = []
    for sequence_id, position, next_run_at in rivals:
        # the step each rival enrolment runs next
        kind = next((k for p, k in steps.get(sequence_id, []) if p >= position), None)
        if kind == StepKind.EMAIL and next_run_at is not None:
            due.append(next_run_at)
    return sorted(due)


def _record(
    enrollment: Enrollment,
    step: Step,
    at: datetime,
    outcome: str,
    detail: str = "",
    message: Message | None = None,
) -> None:
    StepRun.objects.create(
        enrollment=enrollment,
        step=step,
        ran_at=at,
        outcome=outcome,
        detail=detail[:300],
        message=message,
    )


def _by_id(model: Any, raw: Any, **filters: Any) -> Any:
    """The row of ``model`` with id ``raw`` (a step's config value), or ``None``."""
    if not isinstance(raw, int) and not (isinstance(raw, str) and raw.isdigit()):
        return None
    return model.objects.filter(pk=int(raw), **filters).first()


def _after(step: Step) -> int:
    """The position after ``step`` (the next existing one is found by ``>=``)."""
    return step.position + 1


def message_context(enrollment: Enrollment) -> dict[str, Any]:
    """Context fixed into a step's message, in the renderer's merge-field shape: ``asset``
    ({title, url} — a fresh download link for a whitepaper request) and ``webinar`` ({title,
    starts_at, join_url}) from the event that triggered the enrolment (for a download form's
    submission, the asset its options name)."""
    context: dict[str, Any] = {"sequence": enrollment.sequence.name}
    event = enrollment.trigger_event
    if event is None:
        return context
    props = event.properties or {}
    if props.get("webinar") not in (None, ""):
        context["webinar"] = {
            "title": str(props.get("webinar_title") or props["webinar"]),
            "starts_at": str(props.get("starts_at") or ""),
            "join_url": str(props.get("join_url") or ""),
        }
    asset_id = props.get("asset_id") or props.get("asset")
    submission_id = props.get("submission_id")
    if asset_id in (None, "") and submission_id and event.type == EventType.FORM_SUBMITTED:
        # Sent on a download form: the form's options name the asset that was asked for.
        from sokyaku.capture.models import Submission

        options = (
            Submission.objects.filter(pk=submission_id)
            .values_list("form__kind_options", flat=True)
            .first()
        )
        asset_id = (options or {}).get("asset")
    if isinstance(asset_id, int) or (isinstance(asset_id, str) and asset_id.isdigit()):
        from sokyaku.capture.models import Asset
        from sokyaku.capture.services import assets as asset_services

        asset = Asset.objects.filter(pk=int(asset_id)).only("id", "title", "url").first()
        if asset is not None:
            url = asset.url
            if submission_id:
                url = asset_services.download_url(
                    submission_id=int(submission_id), asset_id=asset.pk
                )
            context["asset"] = {"title": asset.title, "url": url}
    return context


def _variant(
    step: Step, enrollment: Enrollment, template: Template
) -> tuple[Template, dict[str, Any]]:
    """The template and the message context of the A/B variant this enrolment gets at
    ``step`` (``{}`` for a step without variants). A variant whose template was deleted sends
    A's and is recorded as A, so the report shows what was sent."""
    variants = step_variants(step.config or {})
    if not variants:
        return template, {}
    variant = variant_pick(enrollment_id=enrollment.pk, step_id=step.pk, variants=variants)
    if variant.template_id is not None:
        chosen = _by_id(Template, variant.template_id)
        if chosen is None:
            return template, {VARIANT_KEY: BASE_LABEL}
        template = chosen
    context: dict[str, Any] = {VARIANT_KEY: variant.label}
    if variant.subject:
        context[SUBJECT_OVERRIDE] = variant.subject
    return template, context


def _run(
    step: Step, *, enrollment: Enrollment, contact: Contact, at: datetime, window: SendWindow
) -> _Next:
    config = step.config or {}
    key = conditions.message_key(enrollment_id=enrollment.pk, step_id=step.pk)
    sequence = enrollment.sequence
    if step.kind == StepKind.EMAIL:
        template = _by_id(Template, config.get("template"))
        if template is None:
            _record(enrollment, step, at, "skipped", "the mail template no longer exists")
            return _Next(_after(step))
        template, variant_context = _variant(step, enrollment, template)
        message, _created = message_enqueue(
            dedupe_key=key,
            contact=contact,
            channel=MessageChannel.EMAIL,
            stream=Stream.MARKETING,
            sender=sequence.sender,
            template=template,
            topic_key=sequence.topic_key,
            context={**message_context(enrollment), **variant_context},
            sequence_id=sequence.pk,
            step_id=step.pk,
            enrollment_id=enrollment.pk,
        )
        label = variant_context.get(VARIANT_KEY)
        _record(
            enrollment,
            step,
            at,
            "queued",
            f"{template.name} [{label}]" if label else template.name,
            message,
        )
        return _Next(_after(step))
    if step.kind == StepKind.CHAT:
        channel = _by_id(ChatChannel, config.get("channel"), is_active=True)
        if channel is None:
            _record(enrollment, step, at, "skipped", "the chat channel is missing or inactive")
            return _Next(_after(step))
        message, _created = message_enqueue(
            dedupe_key=key,
            contact=contact,
            channel=MessageChannel.CHAT,
            stream=Stream.MARKETING,
            to_address="",
            chat_channel=channel,
            topic_key=sequence.topic_key,
            context={**message_context(enrollment), "text": str(config.get("text") or "")},
            sequence_id=sequence.pk,
            step_id=step.pk,
            enrollment_id=enrollment.pk,
        )
        _record(enrollment, step, at, "queued", channel.name, message)
        return _Next(_after(step))
    if step.kind == StepKind.WAIT:
        until = wait_until(
            config=config, base=at, anchor_at=enrollment.anchor_at, window=window, contact=contact
        )
        if until is None:
            _record(enrollment, step, at, "skipped", "the date to wait for is unknown")
            return _Next(_after(step))
        _record(enrollment, step, at, "waiting", until.isoformat())
        return _Next(_after(step), run_at=until)
    if step.kind == StepKind.BRANCH:
        holds = conditions.condition_holds(
            config.get("condition") or {}, enrollment=enrollment, step=step
        )
        target = config.get("yes" if holds else "no")
        _record(enrollment, step, at, "yes" if holds else "no")
        return _Next(int(target) if target not in (None, "") else _after(step))
    if step.kind == StepKind.UPDATE:
        _record(enrollment, step, at, *_update(contact, config))
        return _Next(_after(step))
    if step.kind == StepKind.NOTIFY_OWNER:
        _record(enrollment, step, at, *_notify(step, enrollment, contact, key))
        return _Next(_after(step))
    if step.kind == StepKind.GOAL:
        condition = config.get("condition")
        if condition and conditions.condition_holds(condition, enrollment=enrollment, step=step):
            _record(enrollment, step, at, "goal")
            return _Next(None, finish=enrollment_services.GOAL)
        _record(enrollment, step, at, "not_reached")
        return _Next(_after(step))
    _record(enrollment, step, at, "skipped", f"unknown step kind {step.kind}")
    return _Next(_after(step))


def _update(contact: Contact, config: dict[str, Any]) -> tuple[str, str]:
    tag = str(config.get("tag") or "").strip()
    field = str(config.get("field") or "").strip()
    if tag:
        names = list(contact.tags.values_list("name", flat=True))
        data = contact_services.ContactInput(tags=[*names, tag] if tag not in names else names)
        detail = f"tag {tag}"
    elif field.startswith("custom."):
        name = field.removeprefix("custom.")
        custom = {**(contact.custom_fields or {}), name: config.get("value")}
        data = contact_services.ContactInput(custom_fields=custom)
        detail = f"{field} = {config.get('value')}"
    elif field:
        data = contact_services.ContactInput.from_mapping({field: config.get("value")})
        detail = f"{field} = {config.get('value')}"
    else:
        return "skipped", "nothing to update"
    try:
        # A savepoint: a refused value must not roll back the enrolment's progress.
        with transaction.atomic():
            contact_services.contact_update(contact=contact, data=data)
    except SokyakuError as exc:
        return "failed", exc.message
    return "updated", detail


def _notify(step: Step, enrollment: Enrollment, contact: Contact, key: str) -> tuple[str, str]:
    """The "notify the owner" step: an internal notice about ``contact`` to its owner (their
    mail, or the chosen chat channel: the owner's own LINE id, else the team's channel) —
    never to the contact itself."""
    config = step.config or {}
    try:
        text = text_render(
            source=str(config.get("text") or ""),
            contact=contact,
            context=message_context(enrollment),
        )
    except SokyakuError:
        text = str(config.get("text") or "")
    owner = contact.owner
    notice = Notice(
        subject=str(config.get("subject") or text[:80]),
        text=text,
        url=settings.SITE_URL + reverse("contacts:detail", args=[contact.pk]),
    )
    sources: dict[str, Any] = {
        "sequence_id": enrollment.sequence_id,
        "step_id": step.pk,
        "enrollment_id": enrollment.pk,
    }
    channel = _by_id(ChatChannel, config.get("channel"), is_active=True)
    if channel is not None:
        notice_enqueue(
            dedupe_key=key,
            recipient=chat_recipient(channel=channel, user=owner),
            notice=notice,
            about=contact,
            context=message_context(enrollment),
            **sources,
        )
        return "notified", channel.name
    if owner is None or not owner.email:
        return "skipped", "the contact has no owner with an email address"
    notice_enqueue(
        dedupe_key=key,
        recipient=StaffMail(user=owner),
        notice=notice,
        about=contact,
        context=message_context(enrollment),
        template=_by_id(Template, config.get("template")),
        **sources,
    )
    return "notified", owner.email
