"""Conditions of branch and goal steps, checked for one enrolment at the moment it matters.

A condition is a small JSON object (``Step.config["condition"]``):

- ``{"kind": "opened"}`` / ``{"kind": "clicked"}`` — the previous email step's message (or the
  one at ``"step": <position>``) was opened (human opens only when the engine flags machine
  opens) / clicked; read from ``messaging.Message`` by its dedupe key;
- ``{"kind": "score_gte", "value": 50}`` — the contact's total score now;
- ``{"kind": "segment", "segment": <id>}`` — current membership of a segment;
- ``{"kind": "attribute", "definition": {...}}`` — a segment-style condition tree
  (``segments.conditions``) on the contact;
- ``{"kind": "event", "event_type": "demo_requested", "where": [{"field", "op", "value"}]}`` —
  such an event happened since the enrolment began (``core.conditions``, as everywhere);
- ``{"kind": "stage", "stage": "sql"}`` — the lifecycle stage is this one or a later one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sokyaku.activity.models import Event
from sokyaku.core import conditions as language
from sokyaku.core.errors import ValidationError
from sokyaku.lifecycle import selectors as lifecycle_selectors
from sokyaku.messaging.models import Message
from sokyaku.scoring import selectors as scoring_selectors
from sokyaku.segments import conditions as segment_conditions
from sokyaku.segments.models import SegmentMembership
from sokyaku.sequences.models import Enrollment, Step, StepKind

KINDS = ("opened", "clicked", "score_gte", "segment", "attribute", "event", "stage")
# Stages in the order a lead moves forward; "became MQL" also holds for one that is now SQL.
STAGE_ORDER = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "advocate")


def message_key(*, enrollment_id: int, step_id: int) -> str:
    """The outbox dedupe key of a sequence step's message (one per enrolment and step)."""
    return f"seq:{enrollment_id}:{step_id}"


def stage_reached(current: str, wanted: str) -> bool:
    """Whether ``current`` is ``wanted`` or a later stage of the funnel."""
    if current == wanted:
        return True
    if current in STAGE_ORDER and wanted in STAGE_ORDER:
        return STAGE_ORDER.index(current) >= STAGE_ORDER.index(wanted)
    return False


def _where_clean(raw: Any) -> list[dict[str, Any]]:
    ops = language.OPERATORS
    result = []
    for item in raw or ():
        if not isinstance(item, Mapping) or not item.get("field") or item.get("op") not in ops:
            raise ValidationError(
                "A property condition is {field, op, value}.", field_errors={"where": str(item)}
            )
        result.append({"field": str(item["field"]), "op": item["op"], "value": item.get("value")})
    return result


def properties_match(where: Sequence[Mapping[str, Any]], properties: Mapping[str, Any]) -> bool:
    """Every ``{field, op, value}`` holds for the event properties, in the one condition
    language (``core.conditions``): "5" equals 5, text compares ignoring case and width.

    A list property (a won deal's ``categories``) holds when any item does; a negative
    condition (``ne``, ``not_in``) on a list holds when no item matches its positive form, so
    "categories ≠ オプション" leaves out deals that included the option.
    """
    try:
        return language.evaluate(list(where), properties)
    except ValidationError:
        return False  # a malformed stored condition never holds


def condition_clean(raw: Any) -> dict[str, Any]:
    """A validated condition. Raises ``ValidationError`` (field ``condition``)."""
    if not isinstance(raw, Mapping) or raw.get("kind") not in KINDS:
        raise ValidationError(
            "Choose what the condition checks.", field_errors={"condition": "unknown kind"}
        )
    kind = str(raw["kind"])
    clean: dict[str, Any] = {"kind": kind}
    try:
        if kind in ("opened", "clicked") and raw.get("step") not in (None, ""):
            clean["step"] = int(raw["step"])
        elif kind == "score_gte":
            clean["value"] = float(raw["value"])
        elif kind == "segment":
            clean["segment"] = int(raw["segment"])
        elif kind == "attribute":
            clean["definition"] = segment_conditions.definition_validate(raw["definition"])
        elif kind == "event":
            clean["event_type"] = str(raw["event_type"] or "").strip()
            if not clean["event_type"]:
                raise KeyError("event_type")
            clean["where"] = _where_clean(raw.get("where"))
        elif kind == "stage":
            clean["stage"] = str(raw["stage"] or "")
            if clean["stage"] not in STAGE_ORDER:
                raise KeyError("stage")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(
            "The condition is incomplete.", field_errors={"condition": f"{kind}: {exc}"}
        ) from None
    return clean


def _previous_message(enrollment: Enrollment, condition: Mapping[str, Any], here: Step | None):  # type: ignore[no-untyped-def]
    steps = Step.objects.filter(sequence_id=enrollment.sequence_id, kind=StepKind.EMAIL)
    if condition.get("step") is not None:
        step = steps.filter(position=condition["step"]).first()
    else:
        before = steps.filter(position__lt=here.position) if here is not None else steps
        step = before.order_by("-position").first()
    if step is None:
        return None
    return (
        Message.objects.filter(dedupe_key=message_key(enrollment_id=enrollment.pk, step_id=step.pk))
        .only("opened_at", "clicked_at")
        .first()
    )


def condition_holds(
    condition: Mapping[str, Any], *, enrollment: Enrollment, step: Step | None = None
) -> bool:
    """Whether ``condition`` holds now for the enrolment's contact (``step``: where it is)."""
    kind = condition.get("kind")
    contact_id = enrollment.contact_id
    if kind in ("opened", "clicked"):
        message = _previous_message(enrollment, condition, step)
        if message is None:
            return False
        return (message.opened_at if kind == "opened" else message.clicked_at) is not None
    if kind == "score_gte":
        return scoring_selectors.score_get(contact_id=contact_id).total >= float(condition["value"])
    if kind == "segment":
        return SegmentMembership.objects.filter(
            segment_id=condition["segment"], contact_id=contact_id
        ).exists()
    if kind == "attribute":
        return bool(
            segment_conditions.definition_matches(condition["definition"], contact_ids=[contact_id])
        )
    if kind == "event":
        events = Event.objects.filter(
            contact_id=contact_id,
            type=condition["event_type"],
            occurred_at__gte=enrollment.enrolled_at,
        ).only("properties")
        where = condition.get("where") or []
        return any(properties_match(where, e.properties or {}) for e in events[:200])
    if kind == "stage":
        return stage_reached(
            lifecycle_selectors.stage_get(contact_id=contact_id), condition["stage"]
        )
    return False


def event_satisfies(
    condition: Mapping[str, Any], *, event_type: str, properties: Mapping[str, Any]
) -> bool:
    """Whether one new event alone fulfils an ``event`` (or ``stage``) condition: the real-time
    check of goals when an event arrives."""
    if condition.get("kind") == "event":
        return condition.get("event_type") == event_type and properties_match(
            condition.get("where") or [], properties
        )
    if condition.get("kind") == "stage" and event_type == "lifecycle_changed":
        return stage_reached(str(properties.get("to") or ""), str(condition["stage"]))
    return False
