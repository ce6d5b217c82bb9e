"""System mail: what a person's own request makes us mail to them, through the outbox.

A download link (an asset form), a double opt-in confirmation and a webinar registration's
confirmation are queued by ``system_mail_enqueue`` in the transaction of the request that
causes them (the submission, the registration): the request and its mail commit together, or
neither does, and a lost queue item only delays the mail (the outbox tick finds the row).

- **One mail per cause.** ``dedupe_key`` is the cause's key (``sys:asset:<submission>:<asset>``,
  ``sys:optin:<submission>``, ``sys:webinar:<registration>``); queuing it again returns the row
  already there, so a retried request or a re-run sends nothing more.
- **Written when queued.** Subject, text and attachments (e.g. the .ics) are stored on the row;
  delivery sends exactly that — no template, no tracking, no footer — with the row's
  Message-ID, and retries with back-off like every other mail.
- **Transactional.** No consent topic and no consent check (the address asked for it, with or
  without marketing consent) and never counted by the frequency cap. The suppression list
  applies as to all transactional mail: a hard-bounced, manually suppressed or erased address
  gets nothing (a complaint alone does not stop it).
- **From** the default transactional sender profile; without one, ``DEFAULT_FROM_EMAIL``
  (``system_sender_fallback``).
- Sent, it is on the contact's timeline as ``email_sent`` with its ``mail_kind``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr

from django.conf import settings

from sokyaku.contacts.models import Contact
from sokyaku.messaging.models import (
    Message,
    MessageChannel,
    RecipientKind,
    SenderProfile,
    Stream,
    SystemMail,
)
from sokyaku.messaging.services.outbox import message_enqueue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextAttachment:
    """A text file sent with a system mail (UTF-8), e.g. ``invite.ics``."""

    filename: str
    content_type: str  # "text/calendar"
    text: str
    params: Mapping[str, str] = field(default_factory=dict)  # {"method": "PUBLISH"}


def system_mail_enqueue(
    *,
    kind: str,
    dedupe_key: str,
    contact: Contact | None,
    to_address: str,
    subject: str,
    text: str,
    attachments: Sequence[TextAttachment] = (),
) -> tuple[Message, bool]:
    """Queue one system mail in the caller's transaction; returns ``(message, created)``.

    Delivery is asked for after commit (and the outbox tick finds the row anyway). Raises
    ``ValueError`` for an unknown ``kind`` or an attachment that is not ``text/*``.
    """
    if kind not in SystemMail.values:
        raise ValueError(f"Unknown system mail {kind!r}.")
    for item in attachments:
        if not item.content_type.startswith("text/"):
            raise ValueError(f"Only text attachments are stored: {item.content_type!r}.")
    message, created = message_enqueue(
        dedupe_key=dedupe_key,
        contact=contact,
        channel=MessageChannel.EMAIL,
        stream=Stream.TRANSACTIONAL,
        to_address=to_address.strip(),
        recipient_kind=RecipientKind.CONTACT,
        system_mail=kind,
        subject=" ".join(subject.split()),
        body_text=text,
        attachments=[
            {
                "filename": item.filename,
                "content_type": item.content_type,
                "params": dict(item.params),
                "text": item.text,
            }
            for item in attachments
        ],
    )
    if created:
        logger.info("system_mail.queued", extra={"message_id": message.pk, "kind": kind})
    return message, created


def system_sender_fallback() -> SenderProfile | None:
    """An unsaved transactional profile from ``DEFAULT_FROM_EMAIL``: system mail is sent from
    it when no default transactional sender profile is set, as it always could be."""
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if "@" not in address:
        return None
    return SenderProfile(
        name="DEFAULT_FROM_EMAIL", stream=Stream.TRANSACTIONAL, from_name=name, from_email=address
    )
