"""Replay: send a delivery again (one, or those of a period), with its ``webhook-id`` and body
as first written, so a receiver that stores ids recognises a message it already has.

A replayed delivery takes its old place in the order of its contact: later undelivered
deliveries of the same contact wait until it went through.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.webhooks.models import Delivery, DeliveryStatus, Subscription
from sokyaku.webhooks.services.publishing import send_after_commit

logger = logging.getLogger(__name__)

REPLAY_MAX = 1000
# What a period replay sends again by default: what did not get through.
DEFAULT_STATUSES = (DeliveryStatus.FAILED,)
_REPLAYABLE = frozenset({DeliveryStatus.FAILED, DeliveryStatus.DELIVERED})


def _requeue(subscription: Subscription, ids: Sequence[int]) -> int:
    now = clock.now()
    count = Delivery.objects.filter(
        pk__in=list(ids), subscription=subscription, status__in=_REPLAYABLE
    ).update(
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        lease_until=None,
        failed_at=None,
        replayed_at=now,
    )
    send_after_commit(ids)
    return count


def _active(subscription: Subscription) -> None:
    if not subscription.is_active:
        raise Conflict("The webhook is disabled: enable it first, then replay.")


def delivery_replay(*, delivery: Delivery, actor: User | None) -> Delivery:
    """Send one delivered or failed delivery again (now, with a fresh retry budget); a pending
    one is tried now instead of at its next retry time.

    Raises ``Conflict`` when the subscription is disabled or the delivery is being sent.
    """
    subscription = delivery.subscription
    _active(subscription)
    with transaction.atomic():
        if delivery.status == DeliveryStatus.SENDING:
            raise Conflict("This delivery is being sent right now.")
        if delivery.status == DeliveryStatus.PENDING:
            Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
                next_attempt_at=clock.now()
            )
            send_after_commit([delivery.pk])
        else:
            _requeue(subscription, [delivery.pk])
    logger.info(
        "webhooks.replayed",
        extra={"delivery": delivery.pk, "by": getattr(actor, "pk", None)},
    )
    delivery.refresh_from_db()
    return delivery


def deliveries_replay(
    *,
    subscription: Subscription,
    since: datetime,
    until: datetime | None = None,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    actor: User | None,
) -> int:
    """Send again the subscription's deliveries written in ``[since, until)`` whose status is
    one of ``statuses`` (failed, delivered); at most ``REPLAY_MAX``, oldest first. Returns how
    many were queued.

    Raises ``Conflict`` when the subscription is disabled; ``ValidationError`` for an empty
    period, an unknown status.
    """
    _active(subscription)
    unknown = [s for s in statuses if s not in _REPLAYABLE]
    if unknown or not statuses:
        raise ValidationError(
            "Replay failed or delivered messages.",
            field_errors={"status": "failed or delivered"},
        )
    if until is not None and until <= since:
        raise ValidationError(
            "The end of the period is before its start.", field_errors={"until": "before since"}
        )
    rows = Delivery.objects.filter(
        subscription=subscription, status__in=list(statuses), created_at__gte=since
    )
    if until is not None:
        rows = rows.filter(created_at__lt=until)
    ids = list(rows.order_by("id").values_list("pk", flat=True)[:REPLAY_MAX])
    with transaction.atomic():
        count = _requeue(subscription, ids) if ids else 0
    logger.info(
        "webhooks.replayed_period",
        extra={"subscription": subscription.pk, "count": count, "by": getattr(actor, "pk", None)},
    )
    return count
