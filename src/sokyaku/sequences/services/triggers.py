"""Events → enrolments, exits and goals, in real time (reaction "sequences" in
``sokyaku.reactions``: after the events' transaction commits, the worker calls ``events_react``
with them). For each event, in time order:

1. **exits** of the contact's active enrolments: ``consent_withdrawn`` for the sequence's topic
   (or for everything) and ``email_unsubscribed`` always end it (``unsubscribed``: an opt-out
   stops queued steps at once); ``email_complained`` always (``complained``); ``email_bounced``
   when the sequence exits on ``bounced``; ``lifecycle_changed`` to a stage at or past one the
   sequence exits on (``mql``, ``sql``, ``customer``);
2. **goals**: an event that fulfils a goal step's ``event``/``stage`` condition completes the
   enrolment with reason ``goal``;
3. **triggers** of active sequences: ``form_submitted`` (``{"form": id}`` — or
   ``{"asset": id}``, matching ``asset_downloaded`` of that asset), ``event`` (``{"event_type",
   "where": [{field, op, value}]}``; a deal won is ``{"event_type": "deal_won"}`` until the deals
   app emits it), ``segment_entered`` (``{"segment": id}``), ``stage_entered``
   (``{"stage": "mql"}``), ``deal_won`` (the ``deal_won`` event, optional ``where``) and
   ``date_relative`` (``{"date": "event:webinar_registered.starts_at" |
   "field:custom.trial_end", "offset_minutes": -60}``: the enrolment's ``anchor_at`` is the
   date; its first step runs at date + offset, or at once when that moment has passed but the
   date has not; a date already past enrols no one). ``manual`` sequences never trigger.

Nothing here scans periodically: date-relative enrolments simply get a future ``next_run_at``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core import conditions as language
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.sequences import conditions
from sokyaku.sequences.models import (
    Enrollment,
    EnrollmentStatus,
    SequenceStatus,
    StepKind,
    TriggerKind,
)
from sokyaku.sequences.models import (
    Sequence as SequenceModel,
)
from sokyaku.sequences.schedule import _aware, date_ref_parse, date_ref_value
from sokyaku.sequences.services import enrollment as enrollment_services

logger = logging.getLogger(__name__)

# Our own events never trigger anything (no loops).
OWN = frozenset({EventType.SEQUENCE_ENROLLED, EventType.SEQUENCE_EXITED})
EXIT_STAGES = ("mql", "sql", "customer")
DEAL_WON = "deal_won"
_CONTACT_CHANGES = frozenset(
    {EventType.CONTACT_CREATED, EventType.CONTACT_UPDATED, EventType.IMPORTED}
)


# --- matching --------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """An id or slug in an event against the configured one ("7" and 7 are the same), as the
    condition language's ``eq`` says."""
    return a is not None and b is not None and language.equal(a, b)


def _form_slugs(sequences: Iterable[SequenceModel]) -> dict[int, str]:
    from sokyaku.capture.models import Form

    ids = {
        int(s.trigger_config["form"])
        for s in sequences
        if s.trigger_kind == TriggerKind.FORM_SUBMITTED
        and str(s.trigger_config.get("form") or "").isdigit()
    }
    return dict(Form.objects.filter(pk__in=ids).values_list("pk", "slug")) if ids else {}


def trigger_matches(
    sequence: SequenceModel, event: Event, *, form_slugs: Mapping[int, str]
) -> bool:
    """Whether ``event`` enrols its contact (date-relative sequences: ``_date_anchor``)."""
    config = sequence.trigger_config or {}
    props = event.properties or {}
    kind = sequence.trigger_kind
    if kind == TriggerKind.FORM_SUBMITTED:
        if config.get("asset") not in (None, "") and event.type == EventType.ASSET_DOWNLOADED:
            return _same(props.get("asset_id"), config["asset"]) or _same(
                props.get("asset"), config["asset"]
            )
        if config.get("form") not in (None, "") and event.type == EventType.FORM_SUBMITTED:
            slug = form_slugs.get(int(config["form"])) if str(config["form"]).isdigit() else None
            return _same(props.get("form"), slug or config["form"])
        return False
    if kind in (TriggerKind.EVENT, TriggerKind.DEAL_WON):
        wanted = DEAL_WON if kind == TriggerKind.DEAL_WON else config.get("event_type")
        return event.type == wanted and conditions.properties_match(
            config.get("where") or [], props
        )
    if kind == TriggerKind.SEGMENT_ENTERED:
        return event.type == EventType.SEGMENT_ENTERED and _same(
            props.get("segment"), config.get("segment")
        )
    if kind == TriggerKind.STAGE_ENTERED:
        return event.type == EventType.LIFECYCLE_CHANGED and props.get("to") == config.get("stage")
    return False


def _date_anchor(sequence: SequenceModel, event: Event, contact: Contact) -> datetime | None:
    """For a date-relative sequence: the date this event gives the contact, or ``None``."""
    config = sequence.trigger_config or {}
    ref = str(config.get("date") or "")
    try:
        kind, group, name = date_ref_parse(ref)
    except ValueError:
        return None
    if kind == "event":
        if event.type != group:
            return None
        if not conditions.properties_match(config.get("where") or [], event.properties or {}):
            return None
        return _aware((event.properties or {}).get(name))
    if event.type not in _CONTACT_CHANGES:
        return None
    changed = (event.properties or {}).get("fields") or []
    column = "custom_fields" if group == "custom" else name
    if event.type == EventType.CONTACT_UPDATED and column not in changed:
        return None
    return date_ref_value(ref, contact=contact)


# --- reacting --------------------------------------------------------------------------------


def _exit_reason(sequence: SequenceModel, event: Event) -> str | None:
    props = event.properties or {}
    if event.type == EventType.CONSENT_WITHDRAWN:
        topic = props.get("topic")
        if topic in ("*", None, "") or topic == sequence.topic_key:
            return enrollment_services.UNSUBSCRIBED
        return None
    if event.type == EventType.EMAIL_UNSUBSCRIBED:
        topic = props.get("topic")
        if topic in ("*", None, "") or topic == sequence.topic_key or not sequence.topic_key:
            return enrollment_services.UNSUBSCRIBED
        return None
    if event.type == EventType.EMAIL_COMPLAINED:
        return enrollment_services.COMPLAINED
    if event.type == EventType.EMAIL_BOUNCED and "bounced" in (sequence.exit_on or []):
        return enrollment_services.BOUNCED
    if event.type == EventType.LIFECYCLE_CHANGED:
        to = str(props.get("to") or "")
        for stage in EXIT_STAGES:
            if stage in (sequence.exit_on or []) and conditions.stage_reached(to, stage):
                return stage
    return None


def _goal_reached(sequence: SequenceModel, event: Event) -> bool:
    for step in sequence.steps.all():
        if step.kind != StepKind.GOAL:
            continue
        condition = (step.config or {}).get("condition")
        if condition and conditions.event_satisfies(
            condition, event_type=event.type, properties=event.properties or {}
        ):
            return True
    return False


def _react_active(events: Sequence[Event], contact_ids: Sequence[int]) -> None:
    active = list(
        Enrollment.objects.filter(contact_id__in=contact_ids, status=EnrollmentStatus.ACTIVE)
        .select_related("sequence")
        .prefetch_related("sequence__steps")
    )
    for enrollment in active:
        for event in events:
            if event.contact_id != enrollment.contact_id:
                continue
            if (
                event.occurred_at < enrollment.enrolled_at
                and event.pk != enrollment.trigger_event_id
            ):
                continue  # an old event replayed late does not end a newer enrolment
            reason = _exit_reason(enrollment.sequence, event)
            if reason is not None:
                enrollment_services.enrollment_exit(enrollment=enrollment, reason=reason)
                break
            if _goal_reached(enrollment.sequence, event):
                enrollment_services.enrollment_finish(
                    enrollment=enrollment, reason=enrollment_services.GOAL
                )
                break


def _enrol(
    sequence: SequenceModel,
    contact: Contact,
    event: Event,
    *,
    anchor_at: datetime | None = None,
    first_run_at: datetime | None = None,
) -> None:
    try:
        enrollment_services.sequence_enroll(
            sequence=sequence,
            contact=contact,
            trigger_event=event,
            anchor_at=anchor_at,
            first_run_at=first_run_at,
        )
    except (Conflict, ValidationError) as exc:
        # Re-entry refused, no address …: a trigger that does not apply, not an error.
        logger.info(
            "sequence.trigger_skipped",
            extra={"sequence": sequence.pk, "contact": contact.pk, "why": exc.message},
        )


def _react_triggers(events: Sequence[Event], contacts: Mapping[int, Contact]) -> None:
    # Higher priority first: when one event triggers two sequences, the higher one enrols
    # first, so an exclusion keeps the contact out of the other.
    sequences = list(
        SequenceModel.objects.filter(status=SequenceStatus.ACTIVE)
        .exclude(trigger_kind=TriggerKind.MANUAL)
        .order_by("-priority", "pk")
    )
    if not sequences:
        return
    slugs = _form_slugs(sequences)
    now = clock.now()
    for event in events:
        contact = contacts.get(event.contact_id or 0)
        if contact is None:
            continue
        for sequence in sequences:
            if sequence.trigger_kind == TriggerKind.DATE_RELATIVE:
                anchor = _date_anchor(sequence, event, contact)
                if anchor is None or anchor < now:
                    continue
                offset = timedelta(
                    minutes=int((sequence.trigger_config or {}).get("offset_minutes") or 0)
                )
                _enrol(
                    sequence,
                    contact,
                    event,
                    anchor_at=anchor,
                    first_run_at=max(anchor + offset, now),
                )
            elif trigger_matches(sequence, event, form_slugs=slugs):
                _enrol(sequence, contact, event)


def events_react(*, contact_ids: Iterable[int], event_ids: Iterable[int]) -> None:
    """React to stored events (see the module docstring). Safe to run twice: exits and goals
    only touch active enrolments, and a second enrolment is refused by the re-entry policy or
    returns the active one."""
    events = [
        e
        for e in Event.objects.filter(pk__in=list(event_ids), contact_id__isnull=False).order_by(
            "occurred_at", "id"
        )
        if e.type not in OWN
    ]
    if not events:
        return
    ids = sorted({e.contact_id for e in events if e.contact_id is not None} & set(contact_ids))
    contacts = Contact.objects.filter(pk__in=ids, merged_into__isnull=True).in_bulk()
    _react_active(events, ids)
    _react_triggers(events, contacts)
