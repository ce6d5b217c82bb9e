"""Subscriptions: create (the secret is returned once), change, enable, disable, delete, rotate
the secret.

A URL is ``https://`` to a public address. Private, loopback, link-local and other non-public
targets (written as an address, or a name that resolves to one) and ``http://`` are refused
unless the operator set ``SOKYAKU_WEBHOOKS_ALLOW_PRIVATE`` (a receiver on the same network, or
tests). A name that does not resolve yet is accepted: every attempt resolves it again and
refuses a non-public answer then (``sending``), so a DNS change cannot turn it inward.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.messaging.services.chat import address_forbidden
from sokyaku.webhooks import catalogue, signing
from sokyaku.webhooks.models import UNDELIVERED, DeliveryStatus, Subscription
from sokyaku.webhooks.services.publishing import send_after_commit, subscriptions_changed

logger = logging.getLogger(__name__)

URL_MAX = 2000
DESCRIPTION_MAX = 200


def _changed() -> None:
    subscriptions_changed()
    transaction.on_commit(subscriptions_changed)


def url_refusal(url: str) -> str | None:
    """Why ``url`` may not be a webhook target, or ``None`` (see the module)."""
    allow_private = bool(settings.WEBHOOKS_ALLOW_PRIVATE)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "Not a valid URL."
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "Give an https:// URL."
    if parts.scheme == "http" and not allow_private:
        return "Only https:// URLs are allowed."
    if parts.username or parts.password:
        return "A URL with a user name or password is not allowed."
    if allow_private:
        return None
    host = parts.hostname
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return None  # not resolvable yet: checked again at every attempt
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if any(address_forbidden(address) for address in addresses):
        return "This URL points to a private or local address."
    return None


def _url_clean(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError("Give the URL.", field_errors={"url": "required"})
    if len(url) > URL_MAX:
        raise ValidationError(
            "The URL is too long.", field_errors={"url": f"at most {URL_MAX} characters"}
        )
    refusal = url_refusal(url)
    if refusal:
        raise ValidationError(refusal, field_errors={"url": refusal})
    return url


def _events_clean(event_types: Sequence[str]) -> list[str]:
    chosen = list(dict.fromkeys(str(t).strip() for t in event_types or ()))
    unknown = [t for t in chosen if t not in catalogue.BY_KEY]
    if unknown:
        message = f"Unknown event type: {', '.join(unknown)}"
        raise ValidationError(message, field_errors={"events": message})
    if not chosen:
        raise ValidationError("Choose at least one event.", field_errors={"events": "required"})
    return [t for t in catalogue.KEYS if t in chosen]


def _description_clean(description: str) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(
            "The description is too long.",
            field_errors={"description": f"at most {DESCRIPTION_MAX} characters"},
        )
    return description


@dataclass(frozen=True)
class Created:
    """A new subscription and its secret (shown once: it is not shown again)."""

    subscription: Subscription
    secret: str


def subscription_create(
    *, url: str, event_types: Sequence[str], description: str = "", actor: User | None
) -> Created:
    """Subscribe ``url`` to ``event_types``; returns it with its new secret.

    Raises ``ValidationError`` (fields ``url``, ``events``, ``description``).
    """
    url = _url_clean(url)
    types = _events_clean(event_types)
    description = _description_clean(description)
    now = clock.now()
    secret = signing.secret_generate()
    with transaction.atomic():
        subscription = Subscription.objects.create(
            url=url,
            description=description,
            event_types=types,
            secret=secret,
            created_at=now,
            updated_at=now,
            created_by=actor,
        )
        _changed()
    logger.info("webhooks.subscribed", extra={"subscription": subscription.pk, "types": types})
    return Created(subscription=subscription, secret=secret)


def subscription_update(
    *,
    subscription: Subscription,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
    actor: User | None,
) -> Subscription:
    """Change what is given (``None``: unchanged). Enabling a disabled subscription sends what
    waited for it; disabling holds its undelivered messages until it is enabled again.

    Raises ``ValidationError`` (fields ``url``, ``events``, ``description``).
    """
    fields: list[str] = []
    if url is not None:
        subscription.url = _url_clean(url)
        fields.append("url")
    if event_types is not None:
        subscription.event_types = _events_clean(event_types)
        fields.append("event_types")
    if description is not None:
        subscription.description = _description_clean(description)
        fields.append("description")
    with transaction.atomic():
        if fields:
            subscription.updated_at = clock.now()
            subscription.save(update_fields=[*fields, "updated_at"])
        if is_active is True and not subscription.is_active:
            subscription_enable(subscription=subscription, actor=actor)
        elif is_active is False and subscription.is_active:
            subscription_disable(subscription=subscription, reason="", actor=actor)
        _changed()
    logger.info("webhooks.updated", extra={"subscription": subscription.pk, "fields": fields})
    return subscription


def subscription_enable(*, subscription: Subscription, actor: User | None) -> Subscription:
    """Turn a disabled subscription on: its failure streak starts afresh, and the messages that
    waited (undelivered) are due at once, each with a fresh retry budget, sent after commit."""
    now = clock.now()
    with transaction.atomic():
        subscription.is_active = True
        subscription.disabled_at = None
        subscription.disabled_reason = ""
        subscription.failing_since = None
        subscription.updated_at = now
        subscription.save(
            update_fields=[
                "is_active",
                "disabled_at",
                "disabled_reason",
                "failing_since",
                "updated_at",
            ]
        )
        # What waited is due now, with a fresh retry budget.
        subscription.deliveries.filter(status=DeliveryStatus.PENDING).update(
            next_attempt_at=now, attempts=0
        )
        waiting = list(
            subscription.deliveries.filter(status__in=UNDELIVERED).values_list("pk", flat=True)
        )
        send_after_commit(waiting)
        _changed()
    logger.info("webhooks.enabled", extra={"subscription": subscription.pk})
    return subscription


def subscription_disable(
    *, subscription: Subscription, reason: str, actor: User | None
) -> Subscription:
    """Turn a subscription off: no new messages are written for it, and its undelivered ones
    wait until it is enabled again."""
    now = clock.now()
    with transaction.atomic():
        subscription.is_active = False
        subscription.disabled_at = now
        subscription.disabled_reason = (reason or "")[:300]
        subscription.updated_at = now
        subscription.save(
            update_fields=["is_active", "disabled_at", "disabled_reason", "updated_at"]
        )
        _changed()
    logger.info(
        "webhooks.disabled",
        extra={"subscription": subscription.pk, "reason": reason, "by": getattr(actor, "pk", None)},
    )
    return subscription


def subscription_delete(*, subscription: Subscription, actor: User | None) -> None:
    """Delete a subscription with its deliveries and their log."""
    pk = subscription.pk
    with transaction.atomic():
        subscription.delete()
        _changed()
    logger.info("webhooks.deleted", extra={"subscription": pk, "by": getattr(actor, "pk", None)})


def subscription_secret_rotate(
    *, subscription: Subscription, actor: User | None, grace: timedelta | None = None
) -> str:
    """Give the subscription a new secret and return it (shown once). The old secret keeps
    signing beside the new one for ``grace`` (default ``SOKYAKU_WEBHOOKS_ROTATION_GRACE_HOURS``),
    so the receiver can switch without refusing a message; a second rotation within the grace
    period drops the oldest secret."""
    if grace is None:
        grace = timedelta(hours=settings.WEBHOOKS_ROTATION_GRACE_HOURS)
    now = clock.now()
    secret = signing.secret_generate()
    with transaction.atomic():
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = now + grace
        subscription.secret = secret
        subscription.updated_at = now
        subscription.save(
            update_fields=["previous_secret", "previous_secret_expires_at", "secret", "updated_at"]
        )
    logger.info(
        "webhooks.secret_rotated",
        extra={"subscription": subscription.pk, "by": getattr(actor, "pk", None)},
    )
    return secret


def secrets_in_force(subscription: Subscription) -> list[str]:
    """The secrets that sign a request now: the current one, and the previous one during the
    grace period of a rotation."""
    found = [subscription.secret]
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and expires > clock.now():
        found.append(subscription.previous_secret)
    return found
