"""Bounces, complaints and mailed opt-outs arriving as mail: DSNs, ARF reports, ``mailto:``.

``bounce_process(raw=...)`` takes one raw message (from the bounce mailbox or the HTTP webhook):

- an **ARF complaint** (``multipart/report; report-type=feedback-report``): ``complained_at``,
  ``email_complained``, a ``complaint`` suppression and a withdrawal of all marketing (the
  person said "spam"), then the sender profile's complaint rate is checked;
- a mail to ``unsubscribe+<token>@…`` (the ``mailto:`` of ``List-Unsubscribe``): unsubscribes
  (also when the link has expired: an opt-out is always honoured);
- a **DSN** parsed with flufl.bounce: permanent failures are hard bounces (``bounced_at``,
  ``email_bounced`` ``{kind: hard}``, ``hard_bounce`` suppression), temporary ones are recorded
  as ``email_bounced`` ``{kind: soft}`` only.

The message is found by VERP (``…+m<id>@`` envelope, when ``SOKYAKU_BOUNCE_ADDRESS`` is set),
else by our Message-ID in the returned headers (checked against its signature), else by the
newest sent message to the failed address.

Complaint-rate pause: complaints ÷ sent over the last 30 days; once a profile has sent at least
``MAIL_COMPLAINT_MIN_VOLUME`` mails and the rate passes its ``complaint_threshold``, it is paused
(``paused_at``, ``pause_reason``). Its messages then **wait** (queued, the reason shown on the
Outbox page) rather than being suppressed: a pause is the operator's problem to fix, not the
recipients' wish, and resuming the profile sends them.
"""

from __future__ import annotations

import email
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import Message as MimeMessage

from django.conf import settings
from django.db import transaction
from flufl.bounce import all_failures

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource, EventType
from sokyaku.consent.models import ConsentSource, ConsentStatus, Suppression, SuppressionReason
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.core import clock
from sokyaku.core.errors import NotFound, ValidationError
from sokyaku.messaging import tokens
from sokyaku.messaging.models import Message, MessageStatus, SenderProfile

logger = logging.getLogger(__name__)

COMPLAINT_WINDOW = timedelta(days=30)
_MESSAGE_ID = re.compile(rb"<m(\d+)\.[A-Za-z0-9]+@[^>\s]+>")
_VERP = re.compile(r"\+m(\d+)@", re.IGNORECASE)
# The token: the message id (with the link's time and key version), "-", the signature.
_MAILTO_UNSUBSCRIBE = re.compile(
    r"unsubscribe\+([0-9]+(?:\.[0-9a-z]+)*-[A-Za-z0-9_-]+)@", re.IGNORECASE
)


@dataclass
class BounceResult:
    """What one incoming mail was: ``hard``, ``soft``, ``complaint``, ``unsubscribe`` or
    ``ignored``; the message it concerned, if found; the failed addresses."""

    kind: str
    message_id: int | None = None
    addresses: list[str] = field(default_factory=list)


def address_suppress(*, address: str, reason: str, detail: str = "") -> bool:
    """Put an address on the suppression list (idempotent); ``True`` when newly added."""
    from sokyaku.messaging.services.delivery import address_hash

    _row, created = Suppression.objects.get_or_create(
        email_sha256=address_hash(address),
        defaults={"reason": reason, "detail": detail[:300], "created_at": clock.now()},
    )
    return created


def bounce_process(*, raw: bytes) -> BounceResult:
    """Handle one bounce/complaint/opt-out mail (see the module docstring).

    Raises ``ValidationError`` for an empty body. Unrecognised mail is ``ignored``.
    """
    if not raw.strip():
        raise ValidationError("Empty message.", field_errors={"body": "empty"})
    mail = email.message_from_bytes(raw)
    if _is_feedback_report(mail):
        return _complaint(mail, raw)
    unsubscribe = _mailto_unsubscribe(mail)
    if unsubscribe is not None:
        return unsubscribe
    try:
        temporary, permanent = all_failures(mail)
    except (IndexError, KeyError, ValueError, TypeError, AttributeError) as exc:
        # flufl.bounce's detectors assume a well-formed mail (a From header, parts …).
        raise ValidationError(
            "The body is not a mail that can be read as a bounce.",
            field_errors={"body": "unreadable mail"},
        ) from exc
    if not temporary and not permanent:
        return BounceResult(kind="ignored")
    hard = bool(permanent)
    addresses = sorted(
        a.decode("utf-8", "replace").strip("<>").lower() for a in (permanent or temporary)
    )
    message = _find(mail, raw, addresses)
    with transaction.atomic():
        if hard:
            for address in addresses:
                address_suppress(
                    address=address, reason=SuppressionReason.HARD_BOUNCE, detail="DSN"
                )
        if message is not None:
            _bounce_record(message, hard=hard)
    logger.info(
        "bounce.processed",
        extra={"hard": hard, "message_id": message.pk if message else None},
    )
    return BounceResult(
        kind="hard" if hard else "soft",
        message_id=message.pk if message else None,
        addresses=addresses,
    )


def _bounce_record(message: Message, *, hard: bool) -> None:
    now = clock.now()
    if hard and message.bounced_at is None:
        message.bounced_at = now
        if message.status in (MessageStatus.QUEUED, MessageStatus.SENDING):
            message.status = MessageStatus.FAILED
            message.failed_at = now
            message.last_error = "Hard bounce"
        message.save(update_fields=["bounced_at", "status", "failed_at", "last_error"])
    if message.contact_id is None:
        return
    kind = "hard" if hard else "soft"
    activity_services.event_ingest(
        event=event_build(
            type=EventType.EMAIL_BOUNCED,
            occurred_at=now,
            source=EventSource.EMAIL,
            contact_id=message.contact_id,
            properties={"message_id": message.pk, "kind": kind},
            idempotency_key=f"{EventType.EMAIL_BOUNCED}:{message.pk}"
            if hard
            else f"{EventType.EMAIL_BOUNCED}:{message.pk}:soft:{now.isoformat()}",
        )
    )


# --- Finding the message ---------------------------------------------------------------------


def _recipient_headers(mail: MimeMessage) -> list[str]:
    values: list[str] = []
    for name in ("To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"):
        values.extend(str(v) for v in mail.get_all(name, []))
    return values


def _find(mail: MimeMessage, raw: bytes, addresses: list[str]) -> Message | None:
    for header in _recipient_headers(mail):
        verp = _VERP.search(header)
        if verp:
            found = Message.objects.filter(pk=int(verp.group(1))).first()
            if found is not None:
                return found
    for match in _MESSAGE_ID.finditer(raw):
        pk = int(match.group(1))
        if match.group(0).decode() == tokens.message_id_header(pk):
            found = Message.objects.filter(pk=pk).first()
            if found is not None:
                return found
    if addresses:
        return (
            Message.objects.filter(to_address__iexact=addresses[0], sent_at__isnull=False)
            .order_by("-sent_at", "-id")
            .first()
        )
    return None


# --- Complaints ------------------------------------------------------------------------------


def _is_feedback_report(mail: MimeMessage) -> bool:
    return (
        mail.get_content_type() == "multipart/report"
        and str(mail.get_param("report-type") or "").lower() == "feedback-report"
    )


def _complaint(mail: MimeMessage, raw: bytes) -> BounceResult:
    message = _find(mail, raw, [])
    if message is None:
        return BounceResult(kind="complaint")
    now = clock.now()
    with transaction.atomic():
        if message.complained_at is None:
            message.complained_at = now
            message.save(update_fields=["complained_at"])
        if message.to_address:
            address_suppress(
                address=message.to_address, reason=SuppressionReason.COMPLAINT, detail="ARF"
            )
        if message.contact_id is not None:
            consent_record(
                contact_id=message.contact_id,
                topic=None,
                status=ConsentStatus.WITHDRAWN,
                evidence=Evidence(
                    source=ConsentSource.UNSUBSCRIBE,
                    source_detail=f"spam complaint on message {message.pk}",
                ),
            )
            activity_services.event_ingest(
                event=event_build(
                    type=EventType.EMAIL_COMPLAINED,
                    occurred_at=now,
                    source=EventSource.EMAIL,
                    contact_id=message.contact_id,
                    properties={"message_id": message.pk},
                    idempotency_key=f"{EventType.EMAIL_COMPLAINED}:{message.pk}",
                )
            )
        if message.sender_id is not None:
            sender_complaint_check(sender_id=message.sender_id)
    return BounceResult(kind="complaint", message_id=message.pk, addresses=[message.to_address])


def sender_complaint_check(*, sender_id: int) -> bool:
    """Pause the profile when its 30-day complaint rate passes its threshold; ``True`` if it
    was paused now. Side effects: ``paused_at`` and ``pause_reason`` on the profile."""
    sender = SenderProfile.objects.filter(pk=sender_id, paused_at__isnull=True).first()
    if sender is None:
        return False
    since = clock.now() - COMPLAINT_WINDOW
    recent = Message.objects.filter(sender_id=sender_id, sent_at__gte=since)
    sent = recent.count()
    if sent < settings.MAIL_COMPLAINT_MIN_VOLUME:
        return False
    complaints = recent.filter(complained_at__isnull=False).count()
    rate = complaints / sent
    if rate <= sender.complaint_threshold:
        return False
    sender.paused_at = clock.now()
    sender.pause_reason = (
        f"Complaint rate {rate:.2%} over 30 days ({complaints} of {sent}) "
        f"passed the threshold {sender.complaint_threshold:.2%}."
    )[:300]
    sender.save(update_fields=["paused_at", "pause_reason"])
    logger.warning("sender.paused", extra={"sender": sender_id, "rate": rate})
    return True


# --- mailto: opt-outs ------------------------------------------------------------------------


def _mailto_unsubscribe(mail: MimeMessage) -> BounceResult | None:
    from sokyaku.messaging.services.tracking import message_unsubscribe

    for header in _recipient_headers(mail):
        match = _MAILTO_UNSUBSCRIBE.search(header)
        if match is None:
            continue
        try:
            message_id, _position = tokens.token_read(tokens.UNSUBSCRIBE, match.group(1))
            message_unsubscribe(message_id=message_id, method="mailto")
        except NotFound:
            return BounceResult(kind="ignored")
        return BounceResult(kind="unsubscribe", message_id=message_id)
    return None


# --- The bounce mailbox ----------------------------------------------------------------------


def bounce_mailbox_poll(*, path: str | None = None) -> int:
    """Process and remove every mail in the bounce maildir (or mbox file); returns how many.

    A mail that fails to process is left in place (and logged) for the next poll.
    """
    import mailbox
    from pathlib import Path

    location = Path(path or settings.BOUNCE_MAILDIR)
    if not str(location) or not location.exists():
        return 0
    box: mailbox.Mailbox[mailbox.Message] = (
        mailbox.Maildir(location, create=False)
        if location.is_dir()
        else mailbox.mbox(location, create=False)
    )
    done = 0
    box.lock()
    try:
        for key in list(box.keys()):
            raw = box.get_bytes(key)
            try:
                bounce_process(raw=raw)
            except Exception:
                logger.exception("bounce.failed", extra={"key": key})
                continue
            box.remove(key)
            done += 1
        box.flush()
    finally:
        box.unlock()
        box.close()
    return done
