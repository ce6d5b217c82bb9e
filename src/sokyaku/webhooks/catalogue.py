"""The event types a subscription can choose, and which stored event each one relays.

Most types are stored events of the event stream (``activity``), relayed by the reaction of this
app in the switchboard; ``order.created`` is a ``purchase`` recorded as an order (it carries the
order's id). Types without a stored event are published by the app where they happen, through
``services.publish`` (``erasure.done``: the privacy app, above this one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sokyaku.activity.models import EventType


@dataclass(frozen=True)
class WebhookType:
    key: str
    label: Promise
    group: Promise
    # The stored event it relays; "" when it is published by a service.
    source: str = ""


_CONTACTS = _("Contacts")
_CAPTURE = _("Forms and consent")
_QUALIFY = _("Scores and stages")
_SALES = _("Handoffs")
_DEALS = _("Deals and orders")
_PRIVACY = _("Privacy")

TYPES: tuple[WebhookType, ...] = (
    WebhookType("contact.created", _("Contact created"), _CONTACTS, EventType.CONTACT_CREATED),
    WebhookType("contact.updated", _("Contact updated"), _CONTACTS, EventType.CONTACT_UPDATED),
    WebhookType("contact.merged", _("Contacts merged"), _CONTACTS, EventType.CONTACT_MERGED),
    WebhookType("form.submitted", _("Form submitted"), _CAPTURE, EventType.FORM_SUBMITTED),
    WebhookType("consent.granted", _("Consent given"), _CAPTURE, EventType.CONSENT_GRANTED),
    WebhookType("consent.withdrawn", _("Consent withdrawn"), _CAPTURE, EventType.CONSENT_WITHDRAWN),
    WebhookType(
        "lifecycle.changed", _("Lifecycle stage changed"), _QUALIFY, EventType.LIFECYCLE_CHANGED
    ),
    WebhookType(
        "score.band_changed",
        _("Score temperature changed"),
        _QUALIFY,
        EventType.SCORE_BAND_CHANGED,
    ),
    WebhookType("handoff.created", _("Handed off to sales"), _SALES, EventType.HANDOFF_CREATED),
    WebhookType("handoff.accepted", _("Handoff accepted"), _SALES, EventType.HANDOFF_ACCEPTED),
    WebhookType("handoff.rejected", _("Handoff rejected"), _SALES, EventType.HANDOFF_REJECTED),
    WebhookType("deal.created", _("Deal created"), _DEALS, EventType.DEAL_CREATED),
    WebhookType(
        "deal.stage_changed", _("Deal stage changed"), _DEALS, EventType.DEAL_STAGE_CHANGED
    ),
    WebhookType("deal.won", _("Deal won"), _DEALS, EventType.DEAL_WON),
    WebhookType("deal.lost", _("Deal lost"), _DEALS, EventType.DEAL_LOST),
    WebhookType("order.created", _("Order placed"), _DEALS, EventType.PURCHASE),
    WebhookType("erasure.done", _("Personal data erased"), _PRIVACY),
)

KEYS: tuple[str, ...] = tuple(t.key for t in TYPES)
BY_KEY: Mapping[str, WebhookType] = {t.key: t for t in TYPES}
# Stored event type → webhook type.
BY_SOURCE: Mapping[str, str] = {str(t.source): t.key for t in TYPES if t.source}
# The stored event types the reaction wants (``sokyaku.reactions``).
SOURCES: frozenset[str] = frozenset(BY_SOURCE)


def webhook_type_of(event_type: str, properties: Mapping[str, object]) -> str | None:
    """The webhook type a stored event is relayed as, or ``None``. A ``purchase`` is an order
    only when the order service recorded it (it names the order)."""
    key = BY_SOURCE.get(event_type)
    if key == "order.created" and not properties.get("order"):
        return None
    return key


def choices() -> list[tuple[str, list[tuple[str, Promise]]]]:
    """The types grouped for a form's checkboxes: ``[(group, [(key, label)])]``."""
    groups: dict[str, list[tuple[str, Promise]]] = {}
    for t in TYPES:
        groups.setdefault(str(t.group), []).append((t.key, t.label))
    return list(groups.items())
