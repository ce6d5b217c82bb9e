"""Sending deliveries: claim the due ones, POST them signed, record every attempt, retry with
exponential back-off, disable a subscription that keeps failing.

- **Claim.** ``deliveries_send`` (ids queued after the commit that wrote them) and
  ``webhooks_tick`` (every due row: a lost queue item, a retry whose time came, a crashed
  worker's lease) move rows to ``sending`` with a lease, in one transaction (PostgreSQL:
  ``FOR UPDATE SKIP LOCKED``), so two workers never send the same row at once.
- **Order per contact.** A delivery is not due while an earlier one (written before it) of the
  same subscription and ordering key (``contact:<id>``) is still undelivered (``pending`` or
  ``sending``): a later event of a contact never overtakes an earlier one that is being
  retried. When a delivery goes through, the ones waiting behind it are sent in the same run.
- **Attempt.** ``webhook-id`` is the delivery's, the same on every attempt; ``webhook-timestamp``
  and ``webhook-signature`` are of the attempt (``signing``). The host is resolved and must be a
  public address unless ``SOKYAKU_WEBHOOKS_ALLOW_PRIVATE`` (the SSRF guard of chat channels);
  redirects are not followed. At most ``RESPONSE_KEPT`` bytes of the answer are read and kept.
- **Outcome.** 2xx: delivered. Anything else (another status, a network error, a timeout):
  retried after 1, 2, 4 … minutes (at most 12 hours apart) until ``WEBHOOKS_MAX_ATTEMPTS``,
  then failed. A refused target fails at once. Each attempt is an ``Attempt`` row (the
  delivery log: request headers, status, body, time taken).
- **Disable.** A subscription whose every attempt failed for ``WEBHOOKS_DISABLE_AFTER_HOURS``
  (3 days; counted from the first failure after its last success) is disabled, and every admin
  gets an internal notice (``messaging.services.notices``). Its undelivered messages wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.translation import gettext as _

from sokyaku.core import clock
from sokyaku.messaging.services.chat import RefusedTarget, target_check
from sokyaku.messaging.services.notices import Notice, StaffMail, notice_enqueue
from sokyaku.webhooks import signing
from sokyaku.webhooks.models import (
    UNDELIVERED,
    Attempt,
    Delivery,
    DeliveryStatus,
    Subscription,
)
from sokyaku.webhooks.services.subscriptions import secrets_in_force, subscription_disable

logger = logging.getLogger(__name__)

USER_AGENT = "sokyaku-webhooks/1"
BATCH = 50
TICK_ROUNDS = 20
FOLLOW_ROUNDS = 20
RESPONSE_KEPT = 4096
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=12)


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off: 1, 2, 4 … minutes after the 1st, 2nd, 3rd … failed attempt, at
    most 12 hours."""
    return min(RETRY_CAP, RETRY_BASE * (2 ** max(0, attempts - 1)))


@dataclass
class SendReport:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.failed += other.failed
        self.disabled += other.disabled

    @property
    def handled(self) -> int:
        return self.delivered + self.retrying + self.failed


# --- claiming ---------------------------------------------------------------------------------


def _due(now: datetime) -> Q:
    waiting = Q(status=DeliveryStatus.PENDING) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
    return waiting | abandoned


def _in_turn() -> Q:
    """No earlier delivery of the same subscription and ordering key is undelivered."""
    earlier = Delivery.objects.filter(
        subscription_id=OuterRef("subscription_id"),
        ordering_key=OuterRef("ordering_key"),
        id__lt=OuterRef("id"),
        status__in=UNDELIVERED,
    )
    return Q(ordering_key="") | Q(~Exists(earlier))


def deliveries_claim(*, ids: Sequence[int] | None = None, limit: int = BATCH) -> list[int]:
    """Move due deliveries (all, or among ``ids``) of active subscriptions, whose turn it is,
    to ``sending`` with a lease; returns their ids, oldest first."""
    now = clock.now()
    # Long enough for the whole batch to time out one request after another.
    lease = now + timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS * limit + 60)
    candidates = Delivery.objects.filter(_due(now), _in_turn(), subscription__is_active=True)
    if ids is not None:
        candidates = candidates.filter(pk__in=list(ids))
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        picked = list(candidates.order_by("id").values_list("pk", flat=True)[:limit])
        if not picked:
            return []
        claimed = Delivery.objects.filter(_due(now), pk__in=picked).update(
            status=DeliveryStatus.SENDING, lease_until=lease
        )
        if claimed != len(picked):  # never hand out a row twice
            return list(
                Delivery.objects.filter(
                    pk__in=picked, status=DeliveryStatus.SENDING, lease_until=lease
                ).values_list("pk", flat=True)
            )
        return picked


# --- entry points -----------------------------------------------------------------------------


def deliveries_send(*, delivery_ids: Sequence[int]) -> SendReport:
    """Send the due deliveries among ``delivery_ids``, then the ones that waited behind those
    that went through. Never raises for a delivery problem (it is recorded)."""
    report = SendReport()
    ids = sorted(set(delivery_ids))
    for start in range(0, len(ids), BATCH):
        claimed = deliveries_claim(ids=ids[start : start + BATCH])
        report.add(_send_and_follow(claimed))
    return report


def webhooks_tick() -> SendReport:
    """Send everything due, batch by batch (bounded per call; the next tick goes on)."""
    report = SendReport()
    for _round in range(TICK_ROUNDS):
        claimed = deliveries_claim()
        if not claimed:
            break
        report.add(_send_and_follow(claimed))
    if report.handled:
        logger.info(
            "webhooks.tick",
            extra={"delivered": report.delivered, "retrying": report.retrying},
        )
    return report


def _send_and_follow(claimed: list[int]) -> SendReport:
    report = SendReport()
    for _round in range(FOLLOW_ROUNDS):
        if not claimed:
            break
        delivered = _send(claimed, report)
        claimed = _followers(delivered)
    return report


def _followers(delivered: Sequence[Delivery]) -> list[int]:
    """Claim the deliveries that waited behind ``delivered`` (same subscription and key)."""
    keyed = {(d.subscription_id, d.ordering_key) for d in delivered if d.ordering_key}
    if not keyed:
        return []
    query = Q(pk__in=[])
    for subscription_id, key in keyed:
        query |= Q(subscription_id=subscription_id, ordering_key=key)
    waiting = list(
        Delivery.objects.filter(query, status=DeliveryStatus.PENDING).values_list("pk", flat=True)
    )
    return deliveries_claim(ids=waiting) if waiting else []


# --- one batch --------------------------------------------------------------------------------


@dataclass
class _Answer:
    status: int = 0
    body: str = ""
    error: str = ""
    refused: bool = False


def _host_header(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1]


def _post(client: httpx.Client, url: str, headers: dict[str, str], body: bytes) -> _Answer:
    try:
        target = target_check(url, allow_private=bool(settings.WEBHOOKS_ALLOW_PRIVATE))
        if urlsplit(url).scheme != "https" and not settings.WEBHOOKS_ALLOW_PRIVATE:
            raise RefusedTarget("Only https:// URLs are allowed.")
    except RefusedTarget as exc:
        return _Answer(error=f"Refused target: {exc}", refused=True)
    try:
        with client.stream(
            "POST",
            target.url,
            content=body,
            headers={**headers, "Host": _host_header(url)},
            extensions={"sni_hostname": target.host},
        ) as response:
            kept = bytearray()
            for chunk in response.iter_bytes():
                kept += chunk
                if len(kept) >= RESPONSE_KEPT:
                    break
            text = bytes(kept[:RESPONSE_KEPT]).decode("utf-8", errors="replace")
            return _Answer(status=response.status_code, body=text)
    except httpx.HTTPError as exc:
        return _Answer(error=f"{type(exc).__name__}: {exc}"[:500])


def _send(ids: Sequence[int], report: SendReport) -> list[Delivery]:
    """Send the claimed deliveries ``ids``; returns those delivered."""
    deliveries = list(
        Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.SENDING)
        .select_related("subscription")
        .order_by("id")
    )
    if not deliveries:
        return []
    subscriptions: dict[int, Subscription] = {}
    for delivery in deliveries:
        delivery.subscription = subscriptions.setdefault(
            delivery.subscription_id, delivery.subscription
        )
    attempts: list[Attempt] = []
    delivered: list[Delivery] = []
    touched: set[int] = set()
    timeout = httpx.Timeout(float(settings.WEBHOOKS_TIMEOUT_SECONDS))
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for delivery in deliveries:
            subscription = delivery.subscription
            started_at = clock.now()
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                **signing.headers(
                    secrets_in_force=secrets_in_force(subscription),
                    msg_id=delivery.webhook_id,
                    timestamp=started_at,
                    body=delivery.body,
                ),
            }
            began = time.monotonic()
            answer = _post(client, subscription.url, headers, delivery.body.encode("utf-8"))
            took = int((time.monotonic() - began) * 1000)
            delivery.attempts += 1
            succeeded = 200 <= answer.status < 300
            attempts.append(
                Attempt(
                    delivery=delivery,
                    number=delivery.attempts,
                    started_at=started_at,
                    duration_ms=took,
                    url=subscription.url,
                    request_headers=headers,
                    response_status=answer.status,
                    response_body=answer.body,
                    error=answer.error,
                    succeeded=succeeded,
                )
            )
            _outcome(delivery, answer, succeeded, report, touched)
            if succeeded:
                delivered.append(delivery)
    with transaction.atomic():
        Attempt.objects.bulk_create(attempts)
        Delivery.objects.bulk_update(
            deliveries,
            [
                "status",
                "attempts",
                "next_attempt_at",
                "lease_until",
                "last_error",
                "delivered_at",
                "failed_at",
            ],
        )
        for subscription_id in touched:
            subscription = subscriptions[subscription_id]
            Subscription.objects.filter(pk=subscription_id).update(
                failing_since=subscription.failing_since
            )
        for subscription_id in touched:
            _disable_if_failing(subscriptions[subscription_id], report)
    return delivered


def _outcome(
    delivery: Delivery, answer: _Answer, succeeded: bool, report: SendReport, touched: set[int]
) -> None:
    now = clock.now()
    subscription = delivery.subscription
    delivery.lease_until = None
    if succeeded:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
        report.delivered += 1
        if subscription.failing_since is not None:
            subscription.failing_since = None
            touched.add(subscription.pk)
        return
    delivery.last_error = (answer.error or f"HTTP {answer.status}")[:500]
    if subscription.failing_since is None:
        subscription.failing_since = now
    touched.add(subscription.pk)
    if answer.refused or delivery.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.FAILED
        delivery.failed_at = now
        delivery.next_attempt_at = None
        report.failed += 1
        return
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now + retry_delay(delivery.attempts)
    report.retrying += 1


# --- persistent failure -----------------------------------------------------------------------


def _disable_if_failing(subscription: Subscription, report: SendReport) -> None:
    since = subscription.failing_since
    if since is None or not subscription.is_active:
        return
    limit = timedelta(hours=settings.WEBHOOKS_DISABLE_AFTER_HOURS)
    if clock.now() - since < limit:
        return
    with translation.override(settings.LANGUAGE_CODE):
        reason = _("Every attempt failed since %(since)s.") % {
            "since": since.astimezone(clock.TOKYO).strftime("%Y-%m-%d %H:%M")
        }
        subscription_disable(subscription=subscription, reason=reason, actor=None)
        admins_notify(subscription=subscription)
    report.disabled.append(subscription.pk)
    logger.warning("webhooks.auto_disabled", extra={"subscription": subscription.pk})


def admins() -> list[User]:
    """The active users who manage webhooks and have a mail address."""
    perm = Permission.objects.filter(
        content_type__app_label="webhooks", codename="change_subscription"
    ).first()
    query = Q(is_superuser=True)
    if perm is not None:
        query |= Q(groups__permissions=perm) | Q(user_permissions=perm)
    return list(
        User.objects.filter(query, is_active=True).exclude(email="").distinct().order_by("pk")
    )


def subscription_url(subscription: Subscription) -> str:
    """The subscription's page, absolute."""
    try:
        return settings.SITE_URL + reverse("webhooks:detail", args=[subscription.pk])
    except NoReverseMatch:
        return ""


def admins_notify(*, subscription: Subscription) -> int:
    """Tell every admin (an internal notice by mail) that ``subscription`` was disabled."""
    url = subscription_url(subscription)
    subject = _("[Webhook disabled] %(url)s") % {"url": subscription.url}
    text = _(
        "The webhook to %(url)s was disabled because every delivery attempt failed for "
        "%(hours)d hours. Its undelivered messages wait. Check the receiver, then enable the "
        "webhook again; failed messages can be replayed from the delivery log."
    ) % {"url": subscription.url, "hours": settings.WEBHOOKS_DISABLE_AFTER_HOURS}
    notice = Notice(subject=subject, text=f"{text}\n{url}" if url else text, url=url)
    stamp = subscription.disabled_at.isoformat() if subscription.disabled_at else ""
    sent = 0
    for user in admins():
        notice_enqueue(
            dedupe_key=f"webhook-disabled:{subscription.pk}:{stamp}:{user.pk}",
            recipient=StaffMail(user=user),
            notice=notice,
            about=None,
            context={"webhook": subscription.pk},
        )
        sent += 1
    return sent
