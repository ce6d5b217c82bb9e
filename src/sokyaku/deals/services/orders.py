"""Purchases (B2C): the one writer of ``Order`` rows.

``order_record`` takes a shop's order with the shop's own id, so a resend is harmless: the same
id with the same amount answers with the stored order; the same id with a different amount is a
``Conflict`` (two different orders cannot share an id, and a stored order is never rewritten).
Each new order records a ``purchase`` event (``amount_jpy``, ``order``) — the event scoring,
segments, sequences (the B2C repeat preset) and analytics read — and a contact who buys and is
not a customer yet becomes one (``lifecycle.services.stage_change``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.deals.models import Order
from sokyaku.lifecycle import selectors as lifecycle_selectors
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import ChangeSource, Stage

logger = logging.getLogger(__name__)

EXTERNAL_ID_MAX = Order._meta.get_field("external_id").max_length or 100
SKU_MAX = 50
LINE_NAME_MAX = 150
LINES_MAX = 500
# Shop and server clocks differ a little; an order from further ahead is a mistake.
FUTURE_TOLERANCE = timedelta(minutes=1)
# Stages a purchase leaves alone: the contact already is (or is more than) a customer.
BUYER_STAGES = frozenset({Stage.CUSTOMER, Stage.ADVOCATE})
_CHANGE_SOURCE: dict[str, str] = {
    EventSource.API: ChangeSource.API,
    EventSource.UI: ChangeSource.USER,
}


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _lines_clean(
    lines: Sequence[Mapping[str, Any]], errors: dict[str, str]
) -> list[dict[str, Any]]:
    if len(lines) > LINES_MAX:
        errors["lines"] = f"at most {LINES_MAX} lines"
        return []
    clean: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        if not isinstance(line, Mapping):
            errors[f"lines.{i}"] = "a line is {sku, name, quantity, unit_price}"
            continue
        sku = str(line.get("sku") or "").strip()
        name = str(line.get("name") or "").strip()
        quantity = line.get("quantity", 1)
        unit_price = line.get("unit_price")
        if len(sku) > SKU_MAX:
            errors[f"lines.{i}.sku"] = f"at most {SKU_MAX} characters"
        if not name and not sku:
            errors[f"lines.{i}.name"] = "give the item's name or SKU"
        if len(name) > LINE_NAME_MAX:
            errors[f"lines.{i}.name"] = f"at most {LINE_NAME_MAX} characters"
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            errors[f"lines.{i}.quantity"] = "a whole number of 1 or more"
        if not isinstance(unit_price, int) or isinstance(unit_price, bool) or unit_price < 0:
            errors[f"lines.{i}.unit_price"] = "a whole number of yen, 0 or more"
        clean.append({"sku": sku, "name": name, "quantity": quantity, "unit_price": unit_price})
    return clean


def _validate(
    *,
    contact: Contact,
    external_id: str,
    ordered_at: datetime,
    amount: Any,
    lines: Sequence[Mapping[str, Any]],
) -> tuple[str, list[dict[str, Any]]]:
    errors: dict[str, str] = {}
    external_id = str(external_id or "").strip()
    if not external_id:
        errors["external_id"] = "required"
    elif len(external_id) > EXTERNAL_ID_MAX:
        errors["external_id"] = f"at most {EXTERNAL_ID_MAX} characters"
    if not _whole_number(amount) or amount < 0:
        errors["amount"] = "a whole number of yen, 0 or more"
    if not isinstance(ordered_at, datetime) or timezone.is_naive(ordered_at):
        errors["ordered_at"] = "a date and time with a time zone"
    elif ordered_at > clock.now() + FUTURE_TOLERANCE:
        errors["ordered_at"] = "in the future"
    else:
        try:
            # Stored in UTC: 0001-01-01 at +09:00 has no UTC time.
            ordered_at.astimezone(UTC)
        except OverflowError:
            errors["ordered_at"] = "out of range"
    clean_lines = _lines_clean(lines, errors)
    if contact.merged_into_id is not None:
        errors["contact"] = "merged into another contact"
    if errors:
        raise ValidationError("Please correct the order.", field_errors=errors)
    return external_id, clean_lines


def _same_order(order: Order, *, contact: Contact, amount: int) -> Order:
    """A resent order: the stored one when it is the same, a ``Conflict`` otherwise."""
    if order.amount != amount:
        raise Conflict(
            f"Order {order.external_id} is stored with another amount ({order.amount} yen)."
        )
    if order.contact_id != contact.pk:
        raise Conflict(f"Order {order.external_id} is stored for another contact.")
    return order


def order_record(
    *,
    contact: Contact,
    external_id: str,
    ordered_at: datetime,
    amount: int,
    lines: Sequence[Mapping[str, Any]] = (),
    source: str = EventSource.API,
) -> tuple[Order, bool]:
    """Store a purchase of ``contact``; returns ``(order, created)``.

    Idempotent by ``external_id``: the same id again returns the stored order with
    ``created=False`` and writes nothing. A new order records a ``purchase`` event
    (``amount_jpy``, ``order``, ``external_id``, ``skus``; at the order time, never later than
    now) and makes a contact that is not a customer (or advocate) a customer. Raises
    ``ValidationError`` (field errors: ``external_id``, ``amount``, ``ordered_at``,
    ``lines.<i>.<key>``, ``contact``) and ``Conflict`` when the id is stored with another amount
    or for another contact.
    """
    external_id, clean_lines = _validate(
        contact=contact, external_id=external_id, ordered_at=ordered_at, amount=amount, lines=lines
    )
    # Stored as UTC: an offset the database does not take (PostgreSQL: beyond ±15:59) is fine.
    ordered_at = ordered_at.astimezone(UTC)
    stored = Order.objects.filter(external_id=external_id).first()
    if stored is not None:
        return _same_order(stored, contact=contact, amount=amount), False
    now = clock.now()
    try:
        with transaction.atomic():
            order = Order.objects.create(
                contact=contact,
                external_id=external_id,
                ordered_at=ordered_at,
                amount=amount,
                lines=clean_lines,
                created_at=now,
            )
            activity_services.event_ingest(
                event=event_factories.event_build(
                    type=EventType.PURCHASE,
                    # An event never lies in the future (the shop's clock may run a little ahead).
                    occurred_at=min(ordered_at, now),
                    source=source,
                    properties={
                        "amount_jpy": amount,
                        "order": order.pk,
                        "external_id": external_id,
                        "skus": [line["sku"] for line in clean_lines if line["sku"]],
                    },
                    contact_id=contact.pk,
                    idempotency_key=f"order:{external_id}",
                )
            )
            if lifecycle_selectors.stage_get(contact_id=contact.pk) not in BUYER_STAGES:
                lifecycle_services.stage_change(
                    contact=contact,
                    to_stage=Stage.CUSTOMER,
                    source=_CHANGE_SOURCE.get(source, ChangeSource.SYSTEM),
                    reason="purchase",
                )
    except IntegrityError:
        # The same order sent twice at once: the other request stored it.
        stored = Order.objects.filter(external_id=external_id).first()
        if stored is None:
            raise
        return _same_order(stored, contact=contact, amount=amount), False
    logger.info(
        "order.recorded", extra={"order": order.pk, "contact": contact.pk, "amount": amount}
    )
    return order, True
