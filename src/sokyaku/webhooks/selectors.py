"""Reads of outgoing webhooks, for the users who manage them (admins: ``webhooks`` permissions).

``user=None`` is the installation (a system API key, the command line).
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, Max, Q, QuerySet

from sokyaku.core.errors import NotFound, PermissionDenied
from sokyaku.webhooks.models import Attempt, Delivery, DeliveryStatus, Subscription

VIEW = "webhooks.view_subscription"


def _may_view(user: User | AnonymousUser | None) -> None:
    if user is not None and not user.has_perm(VIEW):
        raise PermissionDenied("You may not see webhooks.")


def subscription_list(*, user: User | AnonymousUser | None) -> QuerySet[Subscription]:
    """Every subscription, newest first, with its counts of deliveries by status and the time
    of its latest delivery."""
    _may_view(user)
    return Subscription.objects.annotate(
        pending_count=Count(
            "deliveries",
            filter=Q(deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        ),
        failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        last_delivered_at=Max("deliveries__delivered_at"),
    ).order_by("-created_at", "-id")


def subscription_get(*, user: User | AnonymousUser | None, id: int) -> Subscription:
    """One subscription; ``NotFound`` when there is none with this id."""
    _may_view(user)
    subscription = Subscription.objects.filter(pk=id).first()
    if subscription is None:
        raise NotFound("No webhook with this id.")
    return subscription


def delivery_list(
    *, subscription: Subscription, status: str | None = None, event_type: str | None = None
) -> QuerySet[Delivery]:
    """The subscription's deliveries, newest first (the delivery log)."""
    rows = Delivery.objects.filter(subscription=subscription)
    if status:
        rows = rows.filter(status=status)
    if event_type:
        rows = rows.filter(event_type=event_type)
    return rows.order_by("-id")


def delivery_get(*, subscription: Subscription, id: int) -> Delivery:
    """One delivery of the subscription; ``NotFound`` otherwise."""
    delivery = (
        Delivery.objects.filter(pk=id, subscription=subscription)
        .select_related("subscription")
        .first()
    )
    if delivery is None:
        raise NotFound("No delivery with this id for this webhook.")
    return delivery


def attempt_list(*, delivery: Delivery) -> list[Attempt]:
    """Every attempt of the delivery, oldest first."""
    return list(delivery.attempt_log.order_by("started_at", "id"))


def status_counts(*, subscription: Subscription) -> dict[str, int]:
    """How many deliveries the subscription has in each status."""
    counts = dict(
        Delivery.objects.filter(subscription=subscription)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in DeliveryStatus.values}
