"""Sequences and their steps: create, change settings, edit steps, activate, pause, resume.

Every input is validated before anything is written (``ValidationError`` with field errors,
nothing stored then). Steps are kept at positions 1…n; editing renumbers them in one
transaction. Branch targets are positions after the branch (a sequence never loops, so each
step runs at most once per enrolment — the ``StepRun`` unique key relies on it). Pausing keeps
every enrolment's place; resuming lets overdue steps run at the next tick (inside the window).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from sokyaku.core import clock
from sokyaku.core.calendar import closures_format, closures_parse, window_validate
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.messaging.models import ChatChannel, SenderProfile, Template
from sokyaku.sequences import conditions
from sokyaku.sequences.models import (
    Enrollment,
    EnrollmentStatus,
    ReentryPolicy,
    SequenceStatus,
    Step,
    StepKind,
    TriggerKind,
)
from sokyaku.sequences.models import (
    Sequence as SequenceModel,
)
from sokyaku.sequences.schedule import ANCHOR, WAIT_UNITS, date_ref_parse
from sokyaku.sequences.variants import variants_clean

logger = logging.getLogger(__name__)

EXIT_CHOICES = ("mql", "sql", "customer", "unsubscribed", "bounced")


@dataclass
class SequenceInput:
    """A sequence's settings; ``None`` leaves a value as it is (on update)."""

    name: str | None = None
    description: str | None = None
    trigger_kind: str | None = None
    trigger_config: dict[str, Any] | None = None
    reentry: str | None = None
    reentry_days: int | None = None
    exit_on: list[str] | None = None
    window_days: list[int] | None = None
    window_start: time | None = None
    window_end: time | None = None
    skip_holidays: bool | None = None
    closures: list[dict[str, str]] | None = None
    sender_id: int | None = None
    topic_key: str | None = None
    priority: int | None = None
    # "Do not enrol while in": ids of other sequences (replaces the stored list).
    exclusion_ids: list[int] | None = None


MAX_PRIORITY = 100


@dataclass
class StepInput:
    kind: str
    name: str = ""
    config: dict[str, Any] = field(default_factory=dict)


def _int(raw: Any, key: str, errors: dict[str, str]) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        errors[key] = "a number is required"
        return None


def trigger_config_clean(kind: str, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The trigger settings a kind needs. Raises ``ValidationError`` (``trigger_config.*``)."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if kind not in TriggerKind.values:
        raise ValidationError("Choose a trigger.", field_errors={"trigger_kind": "unknown"})
    if kind == TriggerKind.FORM_SUBMITTED:
        for key in ("form", "asset"):
            if raw.get(key) not in (None, ""):
                clean[key] = _int(raw.get(key), f"trigger_config.{key}", errors)
        if not clean and not errors:
            errors["trigger_config.form"] = "choose a form or an asset"
    elif kind in (TriggerKind.EVENT, TriggerKind.DEAL_WON):
        event_type = str(
            raw.get("event_type") or ("deal_won" if kind == TriggerKind.DEAL_WON else "")
        )
        if not event_type:
            errors["trigger_config.event_type"] = "required"
        clean["event_type"] = event_type
        clean["where"] = _where(raw.get("where"), errors)
    elif kind == TriggerKind.SEGMENT_ENTERED:
        clean["segment"] = _int(raw.get("segment"), "trigger_config.segment", errors)
    elif kind == TriggerKind.STAGE_ENTERED:
        stage = str(raw.get("stage") or "")
        if stage not in conditions.STAGE_ORDER:
            errors["trigger_config.stage"] = "choose a lifecycle stage"
        clean["stage"] = stage
    elif kind == TriggerKind.DATE_RELATIVE:
        ref = str(raw.get("date") or "")
        try:
            date_ref_parse(ref)
        except ValueError:
            errors["trigger_config.date"] = "event:<type>.<property> or field:custom.<name>"
        clean["date"] = ref
        clean["offset_minutes"] = _int(
            raw.get("offset_minutes") or 0, "trigger_config.offset_minutes", errors
        )
        clean["where"] = _where(raw.get("where"), errors)
    if errors:
        raise ValidationError("The trigger settings are incomplete.", field_errors=errors)
    return clean


def _where(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    try:
        return conditions._where_clean(raw)
    except ValidationError as exc:
        errors["trigger_config.where"] = exc.message
        return []


def step_config_clean(
    kind: str, raw: Mapping[str, Any], *, position: int | None = None
) -> dict[str, Any]:
    """The config a step kind needs (see ``models.Step``). Raises ``ValidationError``."""
    errors: dict[str, str] = {}
    clean: dict[str, Any] = {}
    if kind not in StepKind.values:
        raise ValidationError("Choose a step kind.", field_errors={"kind": "unknown"})
    if kind == StepKind.EMAIL:
        template_id = _int(raw.get("template"), "template", errors)
        if template_id is not None and not Template.objects.filter(pk=template_id).exists():
            errors["template"] = "choose an existing mail template"
        clean["template"] = template_id
        if raw.get("variants"):
            try:
                clean["variants"] = variants_clean(raw.get("variants"), base_template=template_id)
            except ValidationError as exc:
                errors.update(exc.field_errors)
    elif kind == StepKind.CHAT:
        channel_id = _int(raw.get("channel"), "channel", errors)
        if channel_id is not None and not ChatChannel.objects.filter(pk=channel_id).exists():
            errors["channel"] = "choose an existing chat channel"
        clean["channel"] = channel_id
        clean["text"] = str(raw.get("text") or "").strip()
        if not clean["text"]:
            errors["text"] = "required"
    elif kind == StepKind.WAIT:
        if raw.get("until"):
            until = str(raw["until"])
            if until != ANCHOR:
                try:
                    date_ref_parse(until)
                except ValueError:
                    errors["until"] = "anchor, event:<type>.<property> or field:custom.<name>"
            clean["until"] = until
            clean["offset_minutes"] = _int(raw.get("offset_minutes") or 0, "offset_minutes", errors)
        else:
            amount = _int(raw.get("amount"), "amount", errors)
            if amount is not None and amount < 0:
                errors["amount"] = "must be 0 or more"
            unit = str(raw.get("unit") or "")
            if unit not in WAIT_UNITS:
                errors["unit"] = "minutes, hours, days or business days"
            clean.update(amount=amount, unit=unit)
    elif kind == StepKind.BRANCH:
        try:
            clean["condition"] = conditions.condition_clean(raw.get("condition"))
        except ValidationError as exc:
            errors.update(exc.field_errors)
        for key in ("yes", "no"):
            if raw.get(key) in (None, ""):
                continue
            target = _int(raw.get(key), key, errors)
            if target is not None and position is not None and target <= position:
                errors[key] = "a branch can only jump forward"
            clean[key] = target
    elif kind == StepKind.UPDATE:
        tag = str(raw.get("tag") or "").strip()
        name = str(raw.get("field") or "").strip()
        if bool(tag) == bool(name):
            errors["tag"] = "give a tag to add, or a field and its value"
        if tag:
            clean["tag"] = tag
        else:
            clean.update(field=name, value=raw.get("value"))
    elif kind == StepKind.NOTIFY_OWNER:
        clean["text"] = str(raw.get("text") or "").strip()
        if not clean["text"]:
            errors["text"] = "required"
        for key in ("subject",):
            if raw.get(key):
                clean[key] = str(raw[key])
        for key in ("template", "channel"):
            if raw.get(key) not in (None, ""):
                clean[key] = _int(raw.get(key), key, errors)
    elif kind == StepKind.GOAL:
        try:
            clean["condition"] = conditions.condition_clean(raw.get("condition"))
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if errors:
        raise ValidationError("Please correct the step.", field_errors=errors)
    return clean


def _apply(sequence: SequenceModel, data: SequenceInput) -> None:
    errors: dict[str, str] = {}
    if data.name is not None:
        sequence.name = data.name.strip()
    if not sequence.name:
        errors["name"] = "required"
    if data.description is not None:
        sequence.description = data.description.strip()
    if data.trigger_kind is not None:
        sequence.trigger_kind = data.trigger_kind
    if data.trigger_config is not None or data.trigger_kind is not None:
        try:
            sequence.trigger_config = trigger_config_clean(
                sequence.trigger_kind,
                data.trigger_config if data.trigger_config is not None else sequence.trigger_config,
            )
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if data.reentry is not None:
        if data.reentry not in ReentryPolicy.values:
            errors["reentry"] = "unknown"
        sequence.reentry = data.reentry
    if data.reentry_days is not None:
        sequence.reentry_days = data.reentry_days
    if sequence.reentry == ReentryPolicy.AFTER_DAYS and not sequence.reentry_days:
        errors["reentry_days"] = "give the number of days"
    if data.exit_on is not None:
        unknown = [x for x in data.exit_on if x not in EXIT_CHOICES]
        if unknown:
            errors["exit_on"] = f"unknown: {', '.join(unknown)}"
        sequence.exit_on = [x for x in EXIT_CHOICES if x in data.exit_on]
    for name in ("window_days", "window_start", "window_end", "skip_holidays", "topic_key"):
        value = getattr(data, name)
        if value is not None:
            setattr(sequence, name, value)
    try:
        days, _start, _end = window_validate(
            days=sequence.window_days or (), start=sequence.window_start, end=sequence.window_end
        )
        sequence.window_days = list(days)
    except ValidationError as exc:
        errors.update(exc.field_errors)
    if data.closures is not None:
        try:
            sequence.closures = closures_format(closures_parse(data.closures))
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if data.sender_id is not None:
        sender = SenderProfile.objects.filter(pk=data.sender_id).first()
        if sender is None:
            errors["sender"] = "choose a sender profile"
        sequence.sender = sender
    if data.priority is not None:
        if not 0 <= data.priority <= MAX_PRIORITY:
            errors["priority"] = "Give a number from 0 to 100."
        sequence.priority = data.priority
    if data.exclusion_ids is not None:
        ids = set(data.exclusion_ids)
        found = set(SequenceModel.objects.filter(pk__in=ids).values_list("pk", flat=True))
        if sequence.pk is not None and sequence.pk in ids:
            errors["exclusions"] = "A sequence cannot exclude itself."
        elif found != ids:
            errors["exclusions"] = "choose existing sequences"
    if errors:
        raise ValidationError("Please correct the sequence settings.", field_errors=errors)


def _exclusions_save(sequence: SequenceModel, data: SequenceInput) -> None:
    if data.exclusion_ids is not None:
        sequence.exclusions.set(sorted(set(data.exclusion_ids)))


def sequence_create(
    *, data: SequenceInput, steps: Sequence[StepInput] = (), actor: User | None = None
) -> SequenceModel:
    """Create a draft sequence with its steps (positions 1…n). Raises ``ValidationError`` with
    field errors (nothing stored), ``Conflict`` when the name is taken."""
    now = clock.now()
    sequence = SequenceModel(
        trigger_kind=data.trigger_kind or TriggerKind.MANUAL,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    _apply(sequence, data)
    cleaned = [
        (s, step_config_clean(s.kind, s.config, position=i)) for i, s in enumerate(steps, start=1)
    ]
    try:
        with transaction.atomic():
            sequence.save()
            _exclusions_save(sequence, data)
            Step.objects.bulk_create(
                Step(sequence=sequence, position=i, kind=s.kind, name=s.name, config=config)
                for i, (s, config) in enumerate(cleaned, start=1)
            )
    except IntegrityError as exc:
        raise Conflict("A sequence with this name exists already.") from exc
    logger.info("sequence.created", extra={"sequence": sequence.pk})
    return sequence


def sequence_update(*, sequence: SequenceModel, data: SequenceInput) -> SequenceModel:
    """Change a sequence's settings (enrolments keep their places). Raises ``ValidationError``
    (the stored sequence is left as it was) or ``Conflict`` for a taken name."""
    stored = SequenceModel.objects.get(pk=sequence.pk)
    _apply(stored, data)
    stored.updated_at = clock.now()
    try:
        with transaction.atomic():
            stored.save()
            _exclusions_save(stored, data)
    except IntegrityError as exc:
        raise Conflict("A sequence with this name exists already.") from exc
    sequence.refresh_from_db()
    return sequence


def _set_status(sequence: SequenceModel, status: str) -> SequenceModel:
    sequence.status = status
    sequence.updated_at = clock.now()
    sequence.save(update_fields=["status", "updated_at"])
    logger.info("sequence.status", extra={"sequence": sequence.pk, "status": status})
    return sequence


def sequence_activate(*, sequence: SequenceModel) -> SequenceModel:
    """Start (or resume) a sequence: triggers enrol, the tick advances enrolments; overdue steps
    run at the next tick, inside the send window. Raises ``ValidationError`` without steps."""
    if not sequence.steps.exists():
        raise ValidationError("Add a step first.", field_errors={"steps": "no steps"})
    return _set_status(sequence, SequenceStatus.ACTIVE)


def sequence_pause(*, sequence: SequenceModel) -> SequenceModel:
    """Stop triggers and steps; every enrolment keeps its position and next run time."""
    if sequence.status != SequenceStatus.ACTIVE:
        raise Conflict("Only an active sequence can be paused.")
    return _set_status(sequence, SequenceStatus.PAUSED)


def sequence_resume(*, sequence: SequenceModel) -> SequenceModel:
    if sequence.status != SequenceStatus.PAUSED:
        raise Conflict("Only a paused sequence can be resumed.")
    return sequence_activate(sequence=sequence)


def sequence_archive(*, sequence: SequenceModel) -> SequenceModel:
    return _set_status(sequence, SequenceStatus.ARCHIVED)


def _renumber(sequence: SequenceModel, ordered: list[Step], old: dict[int, int]) -> None:
    """Give ``ordered`` positions 1…n and carry along what points at positions: active
    enrolments (their next step) and branch targets. ``old``: step id → position before."""
    before = sorted((pos, step_id) for step_id, pos in old.items())
    new_of = {step.pk: i for i, step in enumerate(ordered, start=1)}

    def moved(position: int) -> int:
        # The step that was next at or after ``position`` (and still exists), at its new place.
        for pos, step_id in before:
            if pos >= position and step_id in new_of:
                return new_of[step_id]
        return len(ordered) + 1

    for step in ordered:
        # A step inserted now (not in ``old``) already names positions of the new order.
        if step.kind == StepKind.BRANCH and step.pk in old:
            for key in ("yes", "no"):
                if step.config.get(key) not in (None, ""):
                    step.config[key] = moved(int(step.config[key]))
    # Two passes: positions are unique per sequence, so move everything out of the way first.
    for i, step in enumerate(ordered, start=1):
        step.position = 10_000 + i
    Step.objects.bulk_update(ordered, ["position"])
    for i, step in enumerate(ordered, start=1):
        step.position = i
    Step.objects.bulk_update(ordered, ["position", "config"])
    enrollments = list(
        Enrollment.objects.select_for_update().filter(
            sequence=sequence, status=EnrollmentStatus.ACTIVE
        )
    )
    for enrollment in enrollments:
        enrollment.position = moved(enrollment.position)
    Enrollment.objects.bulk_update(enrollments, ["position"], batch_size=1000)


def _branches_check(ordered: Sequence[Step]) -> None:
    """Every branch target is a later position (or the end, ``n + 1``). Raises
    ``ValidationError`` (``position``) so a reorder that would make a branch jump backwards or
    onto itself is refused and rolled back."""
    end = len(ordered) + 1
    for i, step in enumerate(ordered, start=1):
        if step.kind != StepKind.BRANCH:
            continue
        for key in ("yes", "no"):
            target = step.config.get(key)
            if target in (None, ""):
                continue
            if not i < int(target) <= end:
                raise ValidationError(
                    "A branch can only lead to a step below it; move its target steps first.",
                    field_errors={"position": "a branch would jump backwards"},
                )


def _steps(sequence: SequenceModel) -> list[Step]:
    return list(Step.objects.select_for_update().filter(sequence=sequence).order_by("position"))


def step_add(*, sequence: SequenceModel, data: StepInput, position: int | None = None) -> Step:
    """Insert a step at ``position`` (1-based; default: at the end); the steps from there on
    move down by one and enrolments keep the step they were about to run. A branch path that
    led to the step at ``position`` now leads to the new step (which continues to that step);
    other branch targets follow their steps. A new branch's ``yes`` / ``no`` are positions in
    the order *after* the insert. Raises ``ValidationError``."""
    with transaction.atomic():
        ordered = _steps(sequence)
        old = {s.pk: s.position for s in ordered}
        at = min(max(position or len(ordered) + 1, 1), len(ordered) + 1)
        config = step_config_clean(data.kind, data.config, position=at)
        for key in ("yes", "no"):
            target = config.get(key)
            if target is not None and target > len(ordered) + 2:
                raise ValidationError(
                    "Please correct the step.", field_errors={key: "no step at that position"}
                )
        step = Step.objects.create(
            sequence=sequence,
            position=100_000,
            kind=data.kind,
            name=data.name.strip(),
            config=config,
        )
        # A branch path that led to the step now at ``at`` goes through the new step first
        # (inserting "before 2通目" puts the step on that path, as in a drawn flow).
        onto = [
            (s, key)
            for s in ordered
            if s.kind == StepKind.BRANCH
            for key in ("yes", "no")
            if at <= len(ordered) and str(s.config.get(key)) == str(at)
        ]
        ordered.insert(at - 1, step)
        # Enrolments keep the step they were about to run; the new one is for those who
        # reach its place later.
        _renumber(sequence, ordered, old)
        for branch, key in onto:
            branch.config[key] = at
        if onto:
            Step.objects.bulk_update({b.pk: b for b, _key in onto}.values(), ["config"])
        _branches_check(ordered)
    return step


def step_update(*, step: Step, data: StepInput) -> Step:
    """Change a step's name and settings (its kind too). Raises ``ValidationError``."""
    config = step_config_clean(data.kind, data.config, position=step.position)
    count = Step.objects.filter(sequence_id=step.sequence_id).count()
    for key in ("yes", "no"):
        target = config.get(key)
        if target is not None and target > count + 1:
            raise ValidationError(
                "Please correct the step.", field_errors={key: "no step at that position"}
            )
    step.kind = data.kind
    step.name = data.name.strip()
    step.config = config
    step.save(update_fields=["kind", "name", "config"])
    return step


def step_variants_set(*, step: Step, variants: Sequence[Mapping[str, Any]]) -> Step:
    """Replace a mail step's A/B variants (``[]`` ends the test); the step's own template
    stays variant A. Enrolments that already ran the step keep the variant they got; the next
    ones are split by the new weights. Raises ``ValidationError`` (``variants…`` field errors,
    see ``variants.variants_clean``; ``kind`` for a step that sends no mail)."""
    if step.kind != StepKind.EMAIL:
        raise ValidationError(
            "Only mail steps can have variants.", field_errors={"kind": "not a mail step"}
        )
    config = {key: value for key, value in (step.config or {}).items() if key != "variants"}
    config["variants"] = list(variants)
    step.config = step_config_clean(step.kind, config, position=step.position)
    step.save(update_fields=["config"])
    logger.info(
        "sequence.step_variants",
        extra={"step": step.pk, "variants": [v["label"] for v in step.config.get("variants", [])]},
    )
    return step


def step_remove(*, step: Step) -> None:
    """Delete a step; enrolments waiting before it continue with the next one."""
    with transaction.atomic():
        sequence = step.sequence
        ordered = _steps(sequence)
        old = {s.pk: s.position for s in ordered}
        removed = step.pk
        step.delete()
        remaining = [s for s in ordered if s.pk != removed]
        _renumber(sequence, remaining, old)
        _branches_check(remaining)


def step_move(*, step: Step, direction: int) -> None:
    """Move a step one place up (``-1``) or down (``+1``); see ``step_move_to``."""
    with transaction.atomic():
        ordered = _steps(step.sequence)
        index = next(i for i, s in enumerate(ordered) if s.pk == step.pk)
        target = index + (1 if direction > 0 else -1)
        if not 0 <= target < len(ordered):
            return
    step_move_to(step=step, position=target + 1)


def step_move_to(*, step: Step, position: int) -> None:
    """Move a step to ``position`` (1-based, clamped to 1…n); the steps in between shift by
    one. Branch targets follow the steps they point at and active enrolments keep the step
    they were about to run. Raises ``ValidationError`` (nothing changed) when a branch would
    then lead to a step above it or to itself."""
    with transaction.atomic():
        ordered = _steps(step.sequence)
        old = {s.pk: s.position for s in ordered}
        moving = next(s for s in ordered if s.pk == step.pk)
        ordered.remove(moving)
        at = min(max(position, 1), len(ordered) + 1)
        ordered.insert(at - 1, moving)
        if [s.pk for s in ordered] == [pk for _pos, pk in sorted((p, k) for k, p in old.items())]:
            return
        _renumber(step.sequence, ordered, old)
        _branches_check(ordered)
    step.refresh_from_db()
    logger.info("sequence.step_moved", extra={"step": step.pk, "position": step.position})
