"""Pausing and resuming sending: all marketing mail at once, or one sender profile.

- **All marketing** (``marketing_sending_pause`` / ``marketing_sending_resume``, one
  ``SendingPause`` row): delivery claims no marketing-stream message while it is set, and a batch
  already claimed has its marketing messages held back right before it is handed to the server
  (``delivery``), so a running broadcast stops within the batch on the wire. Held and unclaimed
  messages stay ``queued`` — nothing is lost or suppressed — and go out after the resume, with
  the Message-ID they were rendered with. Transactional mail (sales alerts, confirmations,
  download links) and internal notices keep going.
- **One sender profile** (``sender_profile_pause`` / ``sender_profile_resume``; the same fields
  the complaint-rate pause of ``bounces`` sets): its messages wait (``queued``, rechecked every
  15 minutes, the reason in ``last_error``); the resume makes them due at once.

Each resume asks the worker to drain the outbox after commit. Each change is logged with its
actor.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.messaging.models import (
    Message,
    MessageStatus,
    SenderProfile,
    SendingPause,
    Stream,
)

logger = logging.getLogger(__name__)

MARKETING_PAUSED = "Marketing sending is paused."


def sending_pause_get() -> SendingPause:
    """The switch's row (unsaved, not paused, when nobody ever paused)."""
    return SendingPause.objects.order_by("pk").first() or SendingPause()


def marketing_paused() -> bool:
    """Whether all marketing sending is paused now (one indexed read)."""
    return SendingPause.objects.filter(marketing_paused_at__isnull=False).exists()


def _drain_after_commit() -> None:
    def kick() -> None:
        from sokyaku.messaging import tasks

        tasks.outbox_drain()

    transaction.on_commit(kick, robust=True)


def marketing_sending_pause(*, actor: User | None, reason: str = "") -> SendingPause:
    """Pause all marketing sending now. Pausing twice keeps the first time and actor.

    Side effects: the ``SendingPause`` row. Queued marketing mail stays queued."""
    with transaction.atomic():
        row = sending_pause_get()
        if row.marketing_paused_at is not None:
            return row
        row.marketing_paused_at = clock.now()
        row.reason = reason.strip()[:300]
        row.paused_by = actor
        row.updated_at = row.marketing_paused_at
        row.save()
    logger.warning(
        "messaging.marketing_paused",
        extra={"actor": actor.pk if actor else None, "reason": row.reason},
    )
    return row


def marketing_sending_resume(*, actor: User | None) -> int:
    """Resume marketing sending; how many marketing messages are waiting to go.

    Side effects: the ``SendingPause`` row; the outbox is drained after commit."""
    with transaction.atomic():
        row = sending_pause_get()
        if row.marketing_paused_at is None:
            return 0
        row.marketing_paused_at = None
        row.reason = ""
        row.paused_by = None
        row.updated_at = clock.now()
        row.save()
        waiting = Message.objects.filter(
            stream=Stream.MARKETING, status__in=(MessageStatus.QUEUED, MessageStatus.SENDING)
        ).count()
        _drain_after_commit()
    logger.warning(
        "messaging.marketing_resumed",
        extra={"actor": actor.pk if actor else None, "waiting": waiting},
    )
    return waiting


def sender_profile_pause(
    *, profile: SenderProfile, actor: User | None, reason: str = ""
) -> SenderProfile:
    """Pause one sender profile (any stream); pausing a paused one changes nothing.

    Side effects: ``paused_at`` and ``pause_reason`` on the profile; its messages wait."""
    if profile.paused_at is not None:
        return profile
    now = clock.now()
    profile.paused_at = now
    profile.pause_reason = (reason.strip() or "Paused by hand.")[:300]
    profile.updated_at = now
    profile.save(update_fields=["paused_at", "pause_reason", "updated_at"])
    logger.warning(
        "messaging.sender_paused",
        extra={"sender": profile.pk, "actor": actor.pk if actor else None},
    )
    return profile


def paused_text(profile: SenderProfile) -> str:
    """The start of ``last_error`` on a message waiting for this paused profile."""
    return f"Sender profile “{profile.name}” is paused"


def _messages_of(profile: SenderProfile) -> Q:
    """A profile's messages: its own, and those without one on the stream it is default for."""
    own = Q(sender=profile)
    if profile.is_default:
        own |= Q(sender__isnull=True, stream=profile.stream)
    return own


def sender_profile_resume(*, profile: SenderProfile, actor: User | None) -> int:
    """Resume a paused sender profile (paused by hand or for its complaint rate); how many of
    its waiting messages were made due at once.

    Side effects: ``paused_at`` and ``pause_reason`` cleared; its queued messages due now; the
    outbox is drained after commit."""
    if profile.paused_at is None:
        raise ValidationError(f"Sender profile “{profile.name}” is not paused.")
    now = clock.now()
    with transaction.atomic():
        profile.paused_at = None
        profile.pause_reason = ""
        profile.updated_at = now
        profile.save(update_fields=["paused_at", "pause_reason", "updated_at"])
        released = Message.objects.filter(
            _messages_of(profile),
            status=MessageStatus.QUEUED,
            next_attempt_at__gt=now,
            last_error__startswith=paused_text(profile),
        ).update(next_attempt_at=now)
        _drain_after_commit()
    logger.warning(
        "messaging.sender_resumed",
        extra={"sender": profile.pk, "actor": actor.pk if actor else None, "released": released},
    )
    return released
