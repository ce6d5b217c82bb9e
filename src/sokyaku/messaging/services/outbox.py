"""The outbox's one writer of new messages.

``message_enqueue`` creates the row for a unique ``dedupe_key`` in the caller's transaction (the
state change that causes the message commits with it, or neither does) and, after commit, asks
the worker to deliver it. Calling it again with the same key returns the existing row: a step
that runs twice queues one message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from sokyaku.contacts.models import Contact
from sokyaku.core import clock, lanes
from sokyaku.messaging.models import (
    Broadcast,
    ChatChannel,
    Message,
    MessageChannel,
    RecipientKind,
    SenderProfile,
    Stream,
    Template,
)

logger = logging.getLogger(__name__)


def deliver_after_commit(message_ids: Sequence[int], *, bulk: bool = False) -> None:
    """Ask the worker to deliver ``message_ids`` once the current transaction commits.

    On the hot lane (``core.lanes``), or on the bulk lane with ``bulk=True`` (a broadcast), so
    that a sales alert queued after a large broadcast still goes first.
    """
    ids = list(message_ids)
    if not ids:
        return

    def kick() -> None:
        from sokyaku.messaging import tasks

        if bulk:
            tasks.messages_deliver(ids, priority=lanes.BULK)
        else:
            tasks.messages_deliver(ids)

    transaction.on_commit(kick, robust=True)


def message_enqueue(
    *,
    dedupe_key: str,
    contact: Contact | None,
    channel: str = MessageChannel.EMAIL,
    stream: str = Stream.MARKETING,
    to_address: str | None = None,
    sender: SenderProfile | None = None,
    template: Template | None = None,
    chat_channel: ChatChannel | None = None,
    topic_key: str = "",
    context: Mapping[str, Any] | None = None,
    broadcast: Broadcast | None = None,
    sequence_id: int | None = None,
    step_id: int | None = None,
    enrollment_id: int | None = None,
    recipient_kind: str = RecipientKind.CONTACT,
    staff_user: User | None = None,
    system_mail: str = "",
    subject: str = "",
    body_text: str = "",
    attachments: Sequence[Mapping[str, Any]] = (),
) -> tuple[Message, bool]:
    """Queue one message; returns ``(message, created)``.

    ``to_address`` defaults to the contact's email. Internal notices to staff come through
    ``notices.notice_enqueue``, which sets ``recipient_kind`` and ``staff_user``; a staff
    recipient never falls back to the contact's address. System mail comes through
    ``system_mail.system_mail_enqueue``, which brings its written ``subject``, ``body_text`` and
    ``attachments`` (no template). Consent, suppression and the sender's legal
    items are not checked here but at the moment of sending, where a refusal marks the message
    ``suppressed`` with the reason. Schedules delivery after commit.
    """
    if recipient_kind == RecipientKind.CONTACT:
        address = to_address if to_address is not None else (contact.email if contact else "")
    else:
        address = to_address or ""
    try:
        with transaction.atomic():
            message = Message.objects.create(
                dedupe_key=dedupe_key,
                channel=channel,
                stream=stream,
                contact=contact,
                to_address=address,
                recipient_kind=recipient_kind,
                staff_user=staff_user,
                sender=sender,
                template=template,
                chat_channel=chat_channel,
                topic_key=topic_key,
                context=dict(context or {}),
                broadcast=broadcast,
                sequence_id=sequence_id,
                step_id=step_id,
                enrollment_id=enrollment_id,
                system_mail=system_mail,
                subject=subject[:300],
                body_text=body_text,
                attachments=[dict(item) for item in attachments],
                created_at=clock.now(),
            )
    except IntegrityError:
        existing = Message.objects.filter(dedupe_key=dedupe_key).first()
        if existing is None:
            raise
        return existing, False
    deliver_after_commit([message.pk])
    logger.info("message.queued", extra={"message_id": message.pk, "key": dedupe_key})
    return message, True
