"""Writing deliveries: one row per (message, subscription that wants its type), in the caller's
transaction, and after commit a queued task that sends them.

- ``events_stored`` is the app's reaction to stored events (``sokyaku.reactions``): each event
  of a relayed type (``catalogue``) becomes a message with the contact's summary and the event's
  properties, ordered per contact (``contact:<id>``).
- ``publish`` is the door for what is not a stored event (``erasure.done`` from the privacy
  app): the caller's payload, its own ordering key.

The body is rendered once, here, so every attempt and every replay sends the same bytes. A
transaction that rolls back takes its deliveries with it; one that commits has them stored,
whatever happens to the queue (the tick sends what is due).

Cost for events nobody subscribed to: one set lookup per event. The event types that have an
active subscription are cached per process, reloaded at most once a second (a subscription
made in another process is seen within a second) and dropped at once when this process
changes a subscription (``subscriptions_changed``).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from sokyaku.activity.models import Event
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.webhooks import catalogue
from sokyaku.webhooks.models import Delivery, Subscription

logger = logging.getLogger(__name__)

RELOAD_SECONDS = 1.0


# --- which types anyone wants (per-process cache) ------------------------------------------------


@dataclass(frozen=True)
class _Index:
    types: frozenset[str]
    loaded_at: float
    generation: int


_lock = threading.Lock()
_index: _Index | None = None
_generation = 0


def subscriptions_changed() -> None:
    """Forget the cached types (a subscription was created, changed or deleted)."""
    global _generation
    _generation += 1


def subscriptions_forget_all() -> None:
    """Cache "nobody subscribed" without asking the database (a test starting on an empty one)."""
    global _index
    _index = _Index(types=frozenset(), loaded_at=time.monotonic(), generation=_generation)


def _wanted_types() -> frozenset[str]:
    global _index
    index = _index
    reload = float(getattr(settings, "WEBHOOKS_RELOAD_SECONDS", RELOAD_SECONDS))
    if (
        index is None
        or index.generation != _generation
        or time.monotonic() - index.loaded_at > reload
    ):
        with _lock:
            generation = _generation
            types: set[str] = set()
            for event_types in Subscription.objects.filter(is_active=True).values_list(
                "event_types", flat=True
            ):
                types.update(str(t) for t in event_types or ())
            index = _Index(
                types=frozenset(types), loaded_at=time.monotonic(), generation=generation
            )
            _index = index
    return index.types


# --- the message ------------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def body_render(*, event_type: str, occurred_at: datetime, data: Mapping[str, Any]) -> str:
    """The JSON body of a message: ``{"type", "timestamp", "data"}`` (Standard Webhooks' shape)."""
    payload = {
        "type": event_type,
        "timestamp": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": dict(data),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def webhook_id_new() -> str:
    """A new message id (``webhook-id``)."""
    return "msg_" + secrets.token_hex(16)


def contact_summary(contact: Contact) -> dict[str, Any]:
    """Who a message is about, as every message about a contact carries it."""
    return {
        "id": contact.pk,
        "name": contact.display_name,
        "family_name": contact.family_name,
        "given_name": contact.given_name,
        "email": contact.email,
        "phone": contact.phone,
        "company": contact.company.name if contact.company else "",
        "department": contact.department,
        "title": contact.title,
        "url": f"{settings.SITE_URL}/contacts/{contact.pk}/",
    }


@dataclass(frozen=True)
class _Message:
    webhook_id: str
    dedupe_key: str
    event_type: str
    body: str
    ordering_key: str
    contact_id: int | None


def _write(messages: Sequence[_Message]) -> list[int]:
    """Write each message for every active subscription that wants its type; schedule sending
    after commit. Returns the ids of the new deliveries."""
    if not messages:
        return []
    subscriptions = list(Subscription.objects.filter(is_active=True).only("pk", "event_types"))
    now = clock.now()
    rows = [
        Delivery(
            subscription_id=subscription.pk,
            webhook_id=message.webhook_id,
            dedupe_key=message.dedupe_key,
            event_type=message.event_type,
            body=message.body,
            ordering_key=message.ordering_key,
            contact_id=message.contact_id,
            created_at=now,
            next_attempt_at=now,
        )
        for message in messages
        for subscription in subscriptions
        if message.event_type in (subscription.event_types or ())
    ]
    if not rows:
        return []
    keys = {(row.subscription_id, row.dedupe_key) for row in rows}
    existing = set(
        Delivery.objects.filter(
            subscription_id__in={s for s, _k in keys}, dedupe_key__in={k for _s, k in keys}
        ).values_list("subscription_id", "dedupe_key")
    )
    fresh = [row for row in rows if (row.subscription_id, row.dedupe_key) not in existing]
    if not fresh:
        return []
    # Ids follow the order written: the order in which deliveries of one key go out.
    created = Delivery.objects.bulk_create(fresh)
    ids = [row.pk for row in created]
    send_after_commit(ids)
    return ids


def send_after_commit(delivery_ids: Sequence[int]) -> None:
    """Ask the worker to send these deliveries once the current transaction commits."""
    ids = list(delivery_ids)
    if not ids:
        return

    def kick() -> None:
        from sokyaku.webhooks import tasks

        tasks.deliveries_send(ids)

    transaction.on_commit(kick, robust=True)


# --- stored events (the reaction) ---------------------------------------------------------------


def _dedupe_key(event: Event) -> str:
    if event.pk is not None:
        return f"event:{event.pk}"
    if event.idempotency_key:
        return f"event-key:{event.idempotency_key}"[:200]
    return f"event-new:{secrets.token_hex(12)}"


def events_stored(rows: Sequence[Event]) -> None:
    """Relay the stored events of subscribed types (in the storing transaction)."""
    wanted = _wanted_types()
    if not wanted:
        return
    hits: list[tuple[Event, str]] = []
    for row in rows:
        if row.contact_id is None:
            continue
        props = row.properties if isinstance(row.properties, dict) else {}
        key = catalogue.webhook_type_of(str(row.type), props)
        if key is not None and key in wanted:
            hits.append((row, key))
    if not hits:
        return
    contacts = Contact.objects.select_related("company").in_bulk(
        {row.contact_id for row, _key in hits}
    )
    messages: list[_Message] = []
    for row, key in hits:
        contact = contacts.get(row.contact_id or 0)
        if contact is None:
            continue
        props = dict(row.properties) if isinstance(row.properties, dict) else {}
        data = {**props, "event_id": row.pk, "contact": contact_summary(contact)}
        messages.append(
            _Message(
                webhook_id=webhook_id_new(),
                dedupe_key=_dedupe_key(row),
                event_type=key,
                body=body_render(event_type=key, occurred_at=row.occurred_at, data=data),
                ordering_key=f"contact:{contact.pk}",
                contact_id=contact.pk,
            )
        )
    ids = _write(messages)
    if ids:
        logger.info("webhooks.queued", extra={"deliveries": len(ids), "events": len(messages)})


# --- published by a service -----------------------------------------------------------------


def publish(
    event_type: str,
    payload: Mapping[str, Any],
    *,
    ordering_key: str | None = None,
    key: str | None = None,
    contact_id: int | None = None,
    occurred_at: datetime | None = None,
) -> int:
    """Send ``payload`` as a message of ``event_type`` to every active subscription that wants
    it; returns how many deliveries were written.

    For what happens outside the event stream (``erasure.done``). Runs in the caller's
    transaction: the deliveries commit or roll back with the caller's change, and are sent
    after commit. ``ordering_key`` (e.g. ``contact:<id>``) keeps the message behind earlier
    undelivered ones of the same key; ``key`` makes a second call with the same key write
    nothing; ``contact_id`` names the person the message is about (for forgetting it later).

    Raises ``ValidationError`` for an unknown type or a payload that is not a JSON object.
    """
    if event_type not in catalogue.BY_KEY:
        raise ValidationError(
            f"Unknown webhook event type: {event_type}", field_errors={"event_type": "unknown"}
        )
    if not isinstance(payload, Mapping):
        raise ValidationError("The payload is a JSON object.", field_errors={"payload": "object"})
    if event_type not in _wanted_types():
        return 0
    try:
        body = body_render(
            event_type=event_type, occurred_at=occurred_at or clock.now(), data=payload
        )
    except TypeError as exc:
        raise ValidationError(str(exc), field_errors={"payload": "not JSON"}) from exc
    message = _Message(
        webhook_id=webhook_id_new(),
        dedupe_key=f"key:{key}"[:200] if key else f"publish:{secrets.token_hex(12)}",
        event_type=event_type,
        body=body,
        ordering_key=(ordering_key or "")[:100],
        contact_id=contact_id,
    )
    with transaction.atomic():
        count = len(_write([message]))
    logger.info("webhooks.published", extra={"type": event_type, "deliveries": count})
    return count


def deliveries_forget(*, contact_id: int) -> int:
    """Delete every delivery about a contact, with its log (a person's erasure): the bodies and
    answers hold their data. Returns how many deliveries were deleted."""
    _total, by_model = Delivery.objects.filter(contact_id=contact_id).delete()
    count = by_model.get(Delivery._meta.label, 0)
    logger.info("webhooks.forgotten", extra={"contact": contact_id, "deliveries": count})
    return count
