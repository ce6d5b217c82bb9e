"""Handoff triggers: what hands a lead to sales.

A trigger is either **MQL** (the contact entered the MQL stage) or a **hot action**: an event
type from ``HOT_EVENT_TYPES`` with optional property conditions ``[{"property", "op",
"value"}]`` that must all hold. Ops: ``eq``, ``contains``, ``exists``, ``gte``/``lte``, with
the meaning of the one condition language (``core.conditions``, ``docs/conditions.md``): "5" and
5 are equal, text compares ignoring case and full/half width. A property may be dotted
(``fields.product``). For ``email_clicked`` the conditions may also name ``sequence`` and
``step`` (the sequence and step the clicked mail belongs to): that is how "a CTA click in a
sequence mail" is said.

Only actions of the lead are offered: the system's own events (mail sent, stage changes, sales
activities, handoffs …) cannot trigger a handoff, so an alert can never trigger another one.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Max

from sokyaku.activity.models import EventType
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.handoff.models import HandoffTrigger, TriggerKind

logger = logging.getLogger(__name__)

HOT_EVENT_TYPES: tuple[str, ...] = (
    EventType.DEMO_REQUESTED,
    EventType.INQUIRY,
    EventType.QUOTE_REQUESTED,
    EventType.TRIAL_STARTED,
    EventType.PAGE_VIEW,
    EventType.EMAIL_CLICKED,
    EventType.EMAIL_OPENED,
    EventType.FORM_SUBMITTED,
    EventType.ASSET_DOWNLOADED,
    EventType.WEBINAR_REGISTERED,
    EventType.WEBINAR_ATTENDED,
    EventType.EVENT_VISITED,
    EventType.CART_ABANDONED,
    EventType.PURCHASE,
    EventType.COUPON_USED,
    EventType.REFERRAL,
)
OPS = ("eq", "contains", "exists", "gte", "lte")
# Properties of a clicked mail that are looked up from the outbox, not carried by the event.
MAIL_PROPERTIES = ("sequence", "step")

_FIELDS = (
    "name",
    "kind",
    "event_type",
    "conditions",
    "action_label",
    "next_action",
    "sla_hours",
    "business_days_only",
    "reminder_minutes",
    "is_active",
)
_TEXT_LIMITS = {"name": 100, "action_label": 100}
SLA_HOURS_MAX = 720


def _conditions_clean(raw: Any) -> list[dict[str, Any]]:
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple):
        raise ValidationError(
            "Conditions are a list of {property, op, value}.",
            field_errors={"conditions": "a list of {property, op, value}"},
        )
    result = []
    for index, item in enumerate(raw):
        where = f"conditions.{index}"
        if not isinstance(item, Mapping):
            raise ValidationError(
                "Each condition is {property, op, value}.",
                field_errors={where: "not a {property, op, value} object"},
            )
        prop = str(item.get("property") or "").strip()
        op = str(item.get("op") or "eq").strip()
        value = item.get("value")
        if not prop:
            raise ValidationError(
                "A condition needs a property.", field_errors={f"{where}.property": "required"}
            )
        if op not in OPS:
            raise ValidationError(
                f"Unknown operator {op}; use one of {', '.join(OPS)}.",
                field_errors={f"{where}.op": f"one of {', '.join(OPS)}"},
            )
        if op != "exists" and value in (None, ""):
            raise ValidationError(
                f"The condition on {prop} needs a value.",
                field_errors={f"{where}.value": "required"},
            )
        if op in ("gte", "lte"):
            try:
                value = float(str(value))
            except (TypeError, ValueError):
                raise ValidationError(
                    f"The condition on {prop} compares numbers: give a number.",
                    field_errors={f"{where}.value": "a number"},
                ) from None
        if isinstance(value, dict | list):
            raise ValidationError(
                "A condition's value is a word or a number.",
                field_errors={f"{where}.value": "a word or a number"},
            )
        clean: dict[str, Any] = {"property": prop, "op": op}
        if op != "exists":
            clean["value"] = value
        result.append(clean)
    return result


def _int(data: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    raw = data.get(key, default)
    try:
        value = int(raw if raw not in (None, "") else default)
    except (TypeError, ValueError):
        raise ValidationError(f"{key} must be a number.", field_errors={key: "a number"}) from None
    if not low <= value <= high:
        raise ValidationError(
            f"{key} must be between {low} and {high}.",
            field_errors={key: f"between {low} and {high}"},
        )
    return value


def _clean(data: Mapping[str, Any], trigger: HandoffTrigger | None) -> dict[str, Any]:
    current = {f: getattr(trigger, f) for f in _FIELDS} if trigger else {}
    merged = {**current, **{k: v for k, v in data.items() if k in _FIELDS}}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for key in ("name", "action_label", "next_action"):
        values[key] = str(merged.get(key) or "").strip()
        if not values[key]:
            errors[key] = "required"
        elif key in _TEXT_LIMITS and len(values[key]) > _TEXT_LIMITS[key]:
            errors[key] = f"at most {_TEXT_LIMITS[key]} characters"
    kind = str(merged.get("kind") or "")
    if kind not in TriggerKind.values:
        errors["kind"] = f"one of {', '.join(TriggerKind.values)}"
    values["kind"] = kind
    event_type = str(merged.get("event_type") or "").strip()
    if kind == TriggerKind.MQL:
        event_type = ""
    elif kind == TriggerKind.EVENT and event_type not in HOT_EVENT_TYPES:
        errors["event_type"] = (
            "choose an action of the lead: " + ", ".join(str(t) for t in HOT_EVENT_TYPES)
            if event_type
            else "required for a hot action"
        )
    values["event_type"] = event_type
    if errors:
        raise ValidationError(next(iter(errors.values())), field_errors=errors)
    values["conditions"] = (
        [] if kind == TriggerKind.MQL else _conditions_clean(merged.get("conditions"))
    )
    values["sla_hours"] = _int(merged, "sla_hours", 24, 1, SLA_HOURS_MAX)
    values["reminder_minutes"] = _int(merged, "reminder_minutes", 120, 0, SLA_HOURS_MAX * 60)
    values["business_days_only"] = bool(merged.get("business_days_only", True))
    values["is_active"] = bool(merged.get("is_active", True))
    return values


def trigger_save(
    *, trigger: HandoffTrigger | None, data: Mapping[str, Any], actor: User | None
) -> HandoffTrigger:
    """Create (``trigger=None``) or update a trigger from ``data`` (model field names; missing
    keys keep their value). A new trigger goes last. Raises ``ValidationError`` with field errors
    (a name in use, an unknown event type, a malformed condition …)."""
    values = _clean(data, trigger)
    duplicate = HandoffTrigger.objects.filter(name=values["name"])
    if trigger is not None:
        duplicate = duplicate.exclude(pk=trigger.pk)
    if duplicate.exists():
        raise ValidationError(
            "Another trigger has this name.", field_errors={"name": "already used"}
        )
    try:
        with transaction.atomic():
            if trigger is None:
                last = HandoffTrigger.objects.aggregate(m=Max("position"))["m"]
                trigger = HandoffTrigger(
                    created_at=clock.now(), position=0 if last is None else last + 1
                )
            for key, value in values.items():
                setattr(trigger, key, value)
            trigger.save()
    except IntegrityError as exc:
        raise ValidationError(
            "Another trigger has this name.", field_errors={"name": "already used"}
        ) from exc
    _changed()
    logger.info(
        "handoff.trigger_saved",
        extra={"trigger": trigger.pk, "actor": actor.pk if actor else None},
    )
    return trigger


def trigger_delete(*, trigger: HandoffTrigger, actor: User | None) -> None:
    """Delete a trigger. Handoffs it made keep their action label (their trigger becomes
    empty)."""
    pk = trigger.pk
    trigger.delete()
    _changed()
    logger.info(
        "handoff.trigger_deleted", extra={"trigger": pk, "actor": actor.pk if actor else None}
    )


def _changed() -> None:
    from sokyaku.handoff import reactions

    transaction.on_commit(reactions.triggers_changed)
    reactions.triggers_changed()


MQL_TRIGGER = "MQL到達"
DEMO_TRIGGER = "デモ申し込み"
INQUIRY_TRIGGER = "お問い合わせ"
PRICING_TRIGGER = "料金ページ閲覧"
CTA_TRIGGER = "ステップメールのCTAクリック"

PRESETS: tuple[dict[str, Any], ...] = (
    {
        "name": DEMO_TRIGGER,
        "kind": TriggerKind.EVENT,
        "event_type": EventType.DEMO_REQUESTED,
        "action_label": "デモ申し込み",
        "next_action": "デモ希望内容を確認後、24時間以内にメールまたは電話でご連絡ください。",
    },
    {
        "name": INQUIRY_TRIGGER,
        "kind": TriggerKind.EVENT,
        "event_type": EventType.INQUIRY,
        "action_label": "お問い合わせ",
        "next_action": "お問い合わせ内容を確認後、24時間以内にメールまたは電話でご回答ください。",
    },
    {
        "name": CTA_TRIGGER,
        "kind": TriggerKind.EVENT,
        "event_type": EventType.EMAIL_CLICKED,
        "conditions": [{"property": "sequence", "op": "exists"}],
        "action_label": "メールCTAクリック",
        "next_action": (
            "クリックされたご案内（デモ・資料）について、24時間以内にメールまたは電話で"
            "ご希望を伺ってください。"
        ),
    },
    {
        "name": PRICING_TRIGGER,
        "kind": TriggerKind.EVENT,
        "event_type": EventType.PAGE_VIEW,
        "conditions": [{"property": "url", "op": "contains", "value": "/pricing"}],
        "action_label": "料金ページ閲覧",
        "next_action": (
            "料金・導入規模のご検討状況を伺うため、2営業日以内にメールまたは電話でご連絡ください。"
        ),
        "sla_hours": 48,
    },
    {
        "name": MQL_TRIGGER,
        "kind": TriggerKind.MQL,
        "action_label": "MQL到達",
        "next_action": (
            "スコア内訳と最近の行動を確認のうえ、24時間以内にメールまたは電話でご連絡ください。"
        ),
    },
)


def trigger_presets_install() -> list[HandoffTrigger]:
    """The default triggers — demo request, inquiry, CTA click in a sequence mail, pricing page
    view, entering MQL — all active, 24 hours on business days (pricing page: 48), reminder two
    hours before. Idempotent: a trigger whose name exists is left as it is (edits survive).
    Returns the preset triggers."""
    result = []
    for preset in PRESETS:
        existing = HandoffTrigger.objects.filter(name=preset["name"]).first()
        if existing is None:
            existing = trigger_save(trigger=None, data=preset, actor=None)
        result.append(existing)
    return result
