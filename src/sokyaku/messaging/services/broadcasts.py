"""Broadcasts (newsletters): one template to a segment's members, now or at a set time.

Life of a broadcast: ``draft`` → ``scheduled`` (``broadcast_schedule``; "now" is a schedule at
the current time) → ``sending`` (``broadcast_start``, run by the periodic task each minute for
the due ones, and at once after an immediate schedule) → ``sent`` (``broadcasts_finish`` once no
message of it is waiting) — or ``cancelled`` before that.

``broadcast_start`` creates the outbox rows set-based: one ``Message`` per member with dedupe key
``bc:<broadcast>:<contact>`` (``bulk_create(ignore_conflicts=True)`` in chunks), so starting twice,
or two workers starting the same broadcast, queues each person once.

Who gets it is ``broadcast_audience``, the one query behind both the count the broadcast page
shows and the messages starting queues: members with an email address, not merged away, not on
the suppression list, with consent or a legal basis for the topic and not opted out (the checks
sending itself makes, ``delivery.marketing_refusals``), and — when the frequency cap applies to
broadcasts — who has not had their marketing mails that Tokyo day. Sending checks consent and
suppression once more per message, so an opt-out between start and sending still stops a mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.messaging.frequency import contacts_at_cap
from sokyaku.messaging.models import (
    Broadcast,
    BroadcastStatus,
    Message,
    MessageChannel,
    MessageStatus,
    SenderProfile,
    Stream,
    Template,
)
from sokyaku.messaging.rendering import sender_profile_check
from sokyaku.messaging.services.delivery import marketing_refusals
from sokyaku.messaging.services.outbox import deliver_after_commit
from sokyaku.segments import selectors as segment_selectors
from sokyaku.segments import services as segment_services
from sokyaku.segments.models import Segment, SegmentKind

logger = logging.getLogger(__name__)

CHUNK = 1000
_OPEN = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)


def _check(
    *, name: str, template: Template, sender: SenderProfile, segment: Segment, topic_key: str
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "A broadcast needs a name."
    if sender.stream != Stream.MARKETING:
        errors["sender"] = "A newsletter is marketing mail: choose a marketing sender profile."
    if segment.is_archived:
        errors["segment"] = "This segment is archived."
    if not topic_key.strip():
        errors["topic_key"] = "Choose the consent topic this newsletter is sent under."
    return errors


def broadcast_create(
    *,
    name: str,
    template: Template,
    sender: SenderProfile,
    segment: Segment,
    topic_key: str,
    actor: User | None,
) -> Broadcast:
    """A draft broadcast. Raises ``ValidationError`` (blank name, non-marketing sender,
    archived segment, no consent topic)."""
    errors = _check(
        name=name, template=template, sender=sender, segment=segment, topic_key=topic_key
    )
    if errors:
        raise ValidationError(next(iter(errors.values())), field_errors=errors)
    broadcast = Broadcast.objects.create(
        name=name.strip(),
        template=template,
        sender=sender,
        segment=segment,
        topic_key=topic_key.strip(),
        created_by=actor,
        created_at=clock.now(),
    )
    logger.info("broadcast.created", extra={"broadcast_id": broadcast.pk})
    return broadcast


def _locked(broadcast: Broadcast) -> Broadcast:
    return Broadcast.objects.select_for_update().get(pk=broadcast.pk)


def broadcast_schedule(
    *, broadcast: Broadcast, at: datetime | None, actor: User | None
) -> Broadcast:
    """Schedule a draft (or re-time a scheduled one) for ``at``; ``None`` sends now.

    An immediate broadcast is started after commit. Raises ``Conflict`` once it is sending,
    sent or cancelled, ``ValidationError`` for a time in the past.
    """
    now = clock.now()
    if at is not None and at < now:
        raise ValidationError(
            "Choose a time in the future, or send now.",
            field_errors={"scheduled_at": "Choose a time in the future, or send now."},
        )
    with transaction.atomic():
        row = _locked(broadcast)
        if row.status not in _OPEN:
            raise Conflict("This broadcast was already sent or cancelled.")
        errors = _check(
            name=row.name,
            template=row.template,
            sender=row.sender,
            segment=row.segment,
            topic_key=row.topic_key,
        )
        if errors:
            raise ValidationError(next(iter(errors.values())), field_errors=errors)
        row.status = BroadcastStatus.SCHEDULED
        row.scheduled_at = at or now
        row.save(update_fields=["status", "scheduled_at"])
        if at is None:
            broadcast_id = row.pk

            def kick() -> None:
                from sokyaku.messaging import tasks

                tasks.broadcast_start_task(broadcast_id)

            transaction.on_commit(kick, robust=True)
    logger.info(
        "broadcast.scheduled",
        extra={
            "broadcast_id": row.pk,
            "at": row.scheduled_at.isoformat(),
            "actor": actor.pk if actor else None,
        },
    )
    return row


def broadcast_cancel(*, broadcast: Broadcast, actor: User | None) -> Broadcast:
    """Cancel a broadcast; while sending, its still-queued messages are suppressed with the
    reason (those already handed to the SMTP server go). Raises ``Conflict`` once sent."""
    with transaction.atomic():
        row = _locked(broadcast)
        if row.status in (BroadcastStatus.SENT, BroadcastStatus.CANCELLED):
            raise Conflict("This broadcast was already sent or cancelled.")
        stopped = Message.objects.filter(broadcast=row, status=MessageStatus.QUEUED).update(
            status=MessageStatus.SUPPRESSED, suppressed_reason="Broadcast cancelled."
        )
        row.status = BroadcastStatus.CANCELLED
        row.finished_at = clock.now()
        row.save(update_fields=["status", "finished_at"])
    logger.info(
        "broadcast.cancelled",
        extra={"broadcast_id": row.pk, "stopped": stopped, "actor": actor.pk if actor else None},
    )
    return row


@dataclass
class Audience:
    """Who a broadcast goes to now, and why the other members do not get it."""

    recipients: list[tuple[int, str]] = field(default_factory=list)  # (contact id, address)
    members: int = 0
    no_email: int = 0
    refused: int = 0  # suppression list, no consent or legal basis, opted out
    capped: int = 0  # had their marketing mails today (frequency cap)
    sender_incomplete: bool = False

    @property
    def count(self) -> int:
        return len(self.recipients)


def broadcast_audience(*, broadcast: Broadcast, at: datetime | None = None) -> Audience:
    """The members (as last evaluated) that would really receive ``broadcast`` at ``at``.

    The same answer ``broadcast_start`` queues from: email address, not merged, not
    suppressed, consent/legal basis for the topic and no opt-out, and not at the frequency cap
    (when it applies to broadcasts). With a sender profile that lacks legal items nobody gets
    it (sending would suppress every mail).
    """
    at = at or clock.now()
    rows = list(
        segment_selectors.segment_members(user=None, segment=broadcast.segment)
        .filter(contact__merged_into__isnull=True)
        .order_by("contact_id")
        .values_list("contact_id", "contact__email")
    )
    audience = Audience(members=len(rows))
    with_email = [(contact_id, email) for contact_id, email in rows if email]
    audience.no_email = len(rows) - len(with_email)
    refused = marketing_refusals(recipients=with_email, topic_key=broadcast.topic_key)
    audience.refused = len(refused)
    allowed = [(cid, email) for cid, email in with_email if cid not in refused]
    capped = contacts_at_cap(contact_ids=[cid for cid, _email in allowed], at=at)
    audience.capped = len(capped)
    audience.recipients = [(cid, email) for cid, email in allowed if cid not in capped]
    if sender_profile_check(broadcast.sender):
        audience.sender_incomplete = True
        audience.recipients = []
    return audience


def broadcast_recipient_estimate(*, broadcast: Broadcast) -> int:
    """How many would really receive ``broadcast`` now (``broadcast_audience``)."""
    return broadcast_audience(broadcast=broadcast).count


def _refresh_segment(segment: Segment) -> None:
    # A dynamic segment is re-evaluated at send time: a newsletter goes to who matches now,
    # not to who matched at the last hourly refresh.
    if segment.kind != SegmentKind.DYNAMIC:
        return
    try:
        segment_services.segment_refresh(segment=segment)
    except ValidationError:
        logger.warning("broadcast.segment_stale", extra={"segment": segment.pk})


def broadcast_start(*, broadcast: Broadcast) -> int:
    """Queue one message per member of a due scheduled broadcast; returns how many were new.

    Safe to run twice and from two workers at once: the broadcast row is locked, only a
    ``scheduled`` one whose time has come starts, and dedupe keys make a second insert a no-op.
    Delivery is asked for after commit, in chunks, on the bulk lane (``core.lanes``).
    """
    _refresh_segment(broadcast.segment)
    now = clock.now()
    with transaction.atomic():
        row = _locked(broadcast)
        if row.status != BroadcastStatus.SCHEDULED or (row.scheduled_at and row.scheduled_at > now):
            return 0
        before = Message.objects.filter(broadcast=row).count()
        audience = broadcast_audience(broadcast=row, at=now)
        # A second start must not count this broadcast's own messages against the cap.
        mine = set(Message.objects.filter(broadcast=row).values_list("contact_id", flat=True))
        batch: list[Message] = []
        for contact_id, email in audience.recipients:
            if contact_id in mine:
                continue
            batch.append(
                Message(
                    dedupe_key=f"bc:{row.pk}:{contact_id}",
                    channel=MessageChannel.EMAIL,
                    stream=Stream.MARKETING,
                    contact_id=contact_id,
                    to_address=email,
                    sender_id=row.sender_id,
                    template_id=row.template_id,
                    topic_key=row.topic_key,
                    broadcast=row,
                    created_at=now,
                )
            )
            if len(batch) >= CHUNK:
                Message.objects.bulk_create(batch, ignore_conflicts=True)
                batch = []
        if batch:
            Message.objects.bulk_create(batch, ignore_conflicts=True)
        ids = list(
            Message.objects.filter(broadcast=row, status=MessageStatus.QUEUED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for start in range(0, len(ids), CHUNK):
            deliver_after_commit(ids[start : start + CHUNK], bulk=True)
        row.status = BroadcastStatus.SENDING
        row.started_at = now
        row.recipients = Message.objects.filter(broadcast=row).count()
        row.save(update_fields=["status", "started_at", "recipients"])
        created = row.recipients - before
    logger.info("broadcast.started", extra={"broadcast_id": row.pk, "recipients": row.recipients})
    return created


def broadcasts_start_due(*, at: datetime | None = None) -> int:
    """Start every scheduled broadcast whose time has come; returns how many started."""
    at = at or clock.now()
    due = list(
        Broadcast.objects.filter(status=BroadcastStatus.SCHEDULED, scheduled_at__lte=at)
        .select_related("segment")
        .order_by("scheduled_at", "pk")
    )
    for broadcast in due:
        broadcast_start(broadcast=broadcast)
    return len(due)


def broadcasts_finish() -> int:
    """Mark sending broadcasts ``sent`` once none of their messages waits; returns how many."""
    waiting = Message.objects.filter(
        broadcast__isnull=False, status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]
    ).values("broadcast_id")
    done = Broadcast.objects.filter(status=BroadcastStatus.SENDING).exclude(pk__in=waiting)
    return done.update(status=BroadcastStatus.SENT, finished_at=clock.now())
