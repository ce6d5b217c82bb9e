"""One factory per event type, so the timeline, scoring and analytics all read one shape.

``event_build`` checks the properties a type needs (``page_view`` needs ``url``, ``purchase``
needs ``amount_jpy`` …) and returns a ``NewEvent`` that ``services.event_ingest`` stores. Typed
factories (``page_view``, ``form_submitted`` …) are thin conveniences over it for code callers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from sokyaku.activity.models import EventSource, EventType
from sokyaku.core.errors import ValidationError


@dataclass(frozen=True)
class EventSpec:
    required: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()


_ASSET = EventSpec(required=("asset",))
_WEBINAR = EventSpec(required=("webinar",))
_EMAIL = EventSpec(required=("message_id",))

SPECS: dict[str, EventSpec] = {
    EventType.PAGE_VIEW: EventSpec(required=("url",)),
    EventType.FORM_SUBMITTED: EventSpec(required=("form",)),
    EventType.ASSET_DOWNLOADED: _ASSET,
    EventType.WEBINAR_REGISTERED: _WEBINAR,
    EventType.WEBINAR_ATTENDED: EventSpec(required=("webinar",), numbers=("minutes",)),
    EventType.WEBINAR_NO_SHOW: _WEBINAR,
    EventType.EVENT_VISITED: EventSpec(required=("event",)),
    EventType.EMAIL_SENT: _EMAIL,
    EventType.EMAIL_DELIVERED: _EMAIL,
    EventType.EMAIL_OPENED: _EMAIL,
    EventType.EMAIL_CLICKED: EventSpec(required=("message_id", "url")),
    EventType.EMAIL_BOUNCED: _EMAIL,
    EventType.EMAIL_UNSUBSCRIBED: EventSpec(),
    EventType.EMAIL_COMPLAINED: _EMAIL,
    EventType.CHAT_SENT: EventSpec(),
    EventType.DEMO_REQUESTED: EventSpec(),
    EventType.TRIAL_STARTED: EventSpec(),
    EventType.INQUIRY: EventSpec(),
    EventType.QUOTE_REQUESTED: EventSpec(),
    EventType.CART_ABANDONED: EventSpec(numbers=("amount_jpy",)),
    EventType.PURCHASE: EventSpec(required=("amount_jpy",), numbers=("amount_jpy",)),
    EventType.COUPON_USED: EventSpec(required=("coupon",)),
    EventType.REFERRAL: EventSpec(),
    EventType.MEETING: EventSpec(),
    EventType.CALL: EventSpec(numbers=("minutes",)),
    EventType.NOTE: EventSpec(required=("text",)),
    EventType.CONSENT_GRANTED: EventSpec(required=("topic", "record_id")),
    EventType.CONSENT_WITHDRAWN: EventSpec(required=("topic", "record_id")),
    EventType.IMPORTED: EventSpec(),
    EventType.CONTACT_CREATED: EventSpec(),
    EventType.CONTACT_UPDATED: EventSpec(),
    EventType.CONTACT_MERGED: EventSpec(required=("merge_id",)),
    EventType.SCORE_BAND_CHANGED: EventSpec(required=("from", "to"), numbers=("score",)),
    EventType.LIFECYCLE_CHANGED: EventSpec(required=("to",)),
    EventType.BANT_RECORDED: EventSpec(required=("bant_id",)),
    EventType.SEGMENT_ENTERED: EventSpec(required=("segment",)),
    EventType.SEGMENT_LEFT: EventSpec(required=("segment",)),
    EventType.SEQUENCE_ENROLLED: EventSpec(required=("sequence",)),
    EventType.SEQUENCE_EXITED: EventSpec(required=("sequence", "reason")),
    EventType.SALES_EMAIL: EventSpec(),
    EventType.HANDOFF_CREATED: EventSpec(required=("handoff",)),
    EventType.HANDOFF_ASSIGNED: EventSpec(required=("handoff",)),
    EventType.HANDOFF_ACCEPTED: EventSpec(required=("handoff",)),
    EventType.HANDOFF_REJECTED: EventSpec(required=("handoff", "reason")),
    EventType.DEAL_CREATED: EventSpec(required=("deal",), numbers=("amount_jpy",)),
    EventType.DEAL_STAGE_CHANGED: EventSpec(required=("deal", "to")),
    EventType.DEAL_WON: EventSpec(required=("deal",), numbers=("amount_jpy",)),
    EventType.DEAL_LOST: EventSpec(required=("deal",)),
    EventType.REFERRED: EventSpec(required=("referrer",)),
}


# Written by sokyaku's own services, never accepted from outside.
SYSTEM_TYPES = frozenset(
    {
        EventType.CONTACT_CREATED,
        EventType.CONTACT_UPDATED,
        EventType.CONTACT_MERGED,
        # Consent changes go through the consent ledger, which records these itself.
        EventType.CONSENT_GRANTED,
        EventType.CONSENT_WITHDRAWN,
        # Scoring, lifecycle and segments record their own state changes.
        EventType.SCORE_BAND_CHANGED,
        EventType.LIFECYCLE_CHANGED,
        EventType.BANT_RECORDED,
        EventType.SEGMENT_ENTERED,
        EventType.SEGMENT_LEFT,
        EventType.SEQUENCE_ENROLLED,
        EventType.SEQUENCE_EXITED,
        # Handoffs and deals record their own changes; a sales activity is logged through the
        # handoff app so that speed to lead is measured.
        EventType.HANDOFF_CREATED,
        EventType.HANDOFF_ASSIGNED,
        EventType.HANDOFF_ACCEPTED,
        EventType.HANDOFF_REJECTED,
        EventType.DEAL_CREATED,
        EventType.DEAL_STAGE_CHANGED,
        EventType.DEAL_WON,
        EventType.DEAL_LOST,
        EventType.REFERRED,
    }
)
_SOURCES = frozenset(EventSource.values)


@dataclass(frozen=True)
class NewEvent:
    """An event ready to be stored. ``contact_id`` or ``visitor_id`` (or both) say whose."""

    type: str
    occurred_at: datetime
    source: str
    properties: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None
    visitor_id: str = ""
    idempotency_key: str | None = None


def event_build(
    *,
    type: str,
    occurred_at: datetime,
    source: str,
    properties: Mapping[str, Any] | None = None,
    contact_id: int | None = None,
    visitor_id: str = "",
    idempotency_key: str | None = None,
) -> NewEvent:
    """Check an event against its type's spec and return it ready to store.

    Raises ``ValidationError`` (with a field) for an unknown type, a missing or non-numeric
    property, a naive time or one out of range, or an event that belongs to nobody.
    """
    spec = SPECS.get(type)
    if spec is None:
        raise ValidationError(f"Unknown event type: {type}", field_errors={"type": "unknown"})
    if source not in _SOURCES:
        raise ValidationError(f"Unknown source: {source}", field_errors={"source": "unknown"})
    if timezone.is_naive(occurred_at):
        raise ValidationError(
            "occurred_at needs a time zone", field_errors={"occurred_at": "no time zone"}
        )
    try:
        # Stored in UTC: 0001-01-01 at +09:00 has no UTC time (and would break every read).
        occurred_at.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationError(
            "occurred_at is out of range", field_errors={"occurred_at": "out of range"}
        ) from exc
    props = dict(properties or {})
    for key in spec.required:
        if props.get(key) in (None, ""):
            raise ValidationError(
                f"{type} needs properties.{key}", field_errors={f"properties.{key}": "required"}
            )
    for key in spec.numbers:
        value = props.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValidationError(
                f"properties.{key} must be a number",
                field_errors={f"properties.{key}": "not a number"},
            )
    if contact_id is None and not visitor_id:
        raise ValidationError(
            "An event needs a contact or a visitor id",
            field_errors={"contact_id": "contact_id, email or visitor_id is required"},
        )
    return NewEvent(
        type=str(type),
        occurred_at=occurred_at,
        source=str(source),
        properties=props,
        contact_id=contact_id,
        visitor_id=visitor_id,
        idempotency_key=idempotency_key or None,
    )


def page_view(
    *,
    occurred_at: datetime,
    url: str,
    title: str = "",
    referrer: str = "",
    utm: Mapping[str, str] | None = None,
    visitor_id: str = "",
    contact_id: int | None = None,
    source: str = EventSource.TRACKING,
) -> NewEvent:
    props: dict[str, Any] = {"url": url, "title": title, "referrer": referrer}
    props.update({k: v for k, v in (utm or {}).items() if v})
    return event_build(
        type=EventType.PAGE_VIEW,
        occurred_at=occurred_at,
        source=source,
        properties=props,
        visitor_id=visitor_id,
        contact_id=contact_id,
    )


def form_submitted(
    *,
    occurred_at: datetime,
    form: str,
    contact_id: int,
    visitor_id: str = "",
    fields: Mapping[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> NewEvent:
    return event_build(
        type=EventType.FORM_SUBMITTED,
        occurred_at=occurred_at,
        source=EventSource.FORM,
        properties={"form": form, "fields": dict(fields or {})},
        contact_id=contact_id,
        visitor_id=visitor_id,
        idempotency_key=idempotency_key,
    )


def contact_changed(
    *, occurred_at: datetime, contact_id: int, created: bool, source: str, fields: list[str]
) -> NewEvent:
    return event_build(
        type=EventType.CONTACT_CREATED if created else EventType.CONTACT_UPDATED,
        occurred_at=occurred_at,
        source=source,
        properties={"fields": fields},
        contact_id=contact_id,
    )


def note(*, occurred_at: datetime, contact_id: int, text: str, author: str) -> NewEvent:
    return event_build(
        type=EventType.NOTE,
        occurred_at=occurred_at,
        source=EventSource.UI,
        properties={"text": text, "author": author},
        contact_id=contact_id,
    )
