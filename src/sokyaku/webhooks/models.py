"""Tables of outgoing webhooks: who wants what (``Subscription``), each message owed to a
subscription (``Delivery``) and every attempt to hand it over (``Attempt``, the delivery log).

A delivery is written in the transaction that stores the event it relays, so it is as durable as
the event; the queue only says "send it now", and the tick finds what a lost queue item left.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Subscription(models.Model):
    """An endpoint of another system and the event types it wants, with its signing secret.

    The secret is needed in clear to sign (HMAC); it is shown once, when created or rotated.
    After a rotation the previous secret keeps signing beside the new one until
    ``previous_secret_expires_at``, so the receiver can switch without losing a message.
    """

    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("events"), default=list)
    is_active = models.BooleanField(_("active"), default=True)
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt failed (cleared by a success): persistent failure disables it.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("webhook delivery", "Pending")
    SENDING = "sending", pgettext_lazy("webhook delivery", "Sending")
    DELIVERED = "delivered", pgettext_lazy("webhook delivery", "Delivered")
    FAILED = "failed", pgettext_lazy("webhook delivery", "Failed")


# Statuses of a delivery that still holds back later ones of the same ordering key.
UNDELIVERED = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class Delivery(models.Model):
    """One message owed to one subscription: the body is written once, so every attempt (and a
    replay) sends the same bytes with the same ``webhook_id``; only the timestamp and the
    signature are of the attempt."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    # The Standard Webhooks message id (``webhook-id``): shared by the subscriptions an event
    # goes to, the same on every attempt.
    webhook_id = models.CharField(max_length=64)
    # What makes writing it twice harmless: ``event:<id>`` for a stored event, or the caller's key.
    dedupe_key = models.CharField(max_length=200)
    event_type = models.CharField(max_length=50)
    body = models.TextField()
    # Deliveries of one key (``contact:<id>``) go out in the order they were written; "" = none.
    ordering_key = models.CharField(max_length=100, blank=True)
    # The contact the message is about (no foreign key: the log outlives nothing it must not).
    contact_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # Attempts since it was written or last replayed (the back-off counts these).
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "dedupe_key"], name="webhook_delivery_once"
            )
        ]
        indexes = [
            # the claim: due rows by status and time
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            # the ordering check: earlier undelivered rows of the same key
            models.Index(
                fields=["subscription", "ordering_key", "id"], name="webhook_delivery_order_idx"
            ),
            # the log of a subscription, newest first
            models.Index(fields=["subscription", "created_at"], name="webhook_delivery_log_idx"),
            models.Index(fields=["contact_id"], name="webhook_delivery_contact_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription_id} ({self.status})"


class Attempt(models.Model):
    """One HTTP request of a delivery and what came back: the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    url = models.CharField(max_length=2000)
    request_headers = models.JSONField(default=dict)
    # 0: no HTTP answer (refused target, network error, timeout).
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["delivery", "number"], name="webhook_attempt_idx")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.response_status}"
