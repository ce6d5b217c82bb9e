"""Erasing a person from the outbox (a data-subject erasure, see ``privacy``).

A message row stays — sent, opened, clicked and bounced are counted per step, broadcast and
channel — with its status, times, stream, topic and origin; what it said goes: subject, bodies,
template context and attachments, the person's address, the header and error values and link
addresses that name them, and the ``.eml`` file the local sink wrote of it. That covers mail to
the person, chat messages to them and the internal notices about them (sales alerts,
reminders): the row of a notice keeps its staff recipient. Mail still waiting for them is
suppressed, never sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db.models import Q

from sokyaku.core.redaction import Redactor
from sokyaku.messaging.models import Message, MessageLink, MessageStatus, RecipientKind
from sokyaku.messaging.transport import sink_dir

logger = logging.getLogger(__name__)

ERASED_REASON = "The person was erased at their request."
_BATCH = 500


def messages_erase(
    *, contact_ids: Sequence[int], emails: Sequence[str], redactor: Redactor
) -> dict[str, int]:
    """Erase the messages to or about these contacts, or to these addresses (see the module
    docstring). Idempotent. Returns the changed rows per table (and sink files deleted)."""
    messages = Message.objects.filter(
        Q(contact_id__in=contact_ids) | Q(to_address__in=[e for e in emails if e])
    )
    pks = list(messages.values_list("pk", flat=True))
    if not pks:
        return {}
    suppressed = Message.objects.filter(
        pk__in=pks, status__in=(MessageStatus.QUEUED, MessageStatus.SENDING)
    ).update(
        status=MessageStatus.SUPPRESSED,
        suppressed_reason=ERASED_REASON,
        next_attempt_at=None,
        lease_until=None,
    )
    changed = 0
    for start in range(0, len(pks), _BATCH):
        rows = list(
            Message.objects.filter(pk__in=pks[start : start + _BATCH]).only(
                "pk",
                "recipient_kind",
                "to_address",
                "subject",
                "body_html",
                "body_text",
                "context",
                "attachments",
                "headers",
                "suppressed_reason",
                "last_error",
            )  # fmt: skip
        )
        for row in rows:
            row.to_address = (
                "" if row.recipient_kind == RecipientKind.CONTACT else redactor.text(row.to_address)
            )
            row.subject = row.body_html = row.body_text = ""
            row.context, row.attachments = {}, []
            row.headers = redactor.json(row.headers or {})
            row.suppressed_reason = redactor.text(row.suppressed_reason)
            row.last_error = redactor.text(row.last_error)
        Message.objects.bulk_update(rows, _ERASED_COLUMNS)
        changed += len(rows)
    links = [
        link
        for link in MessageLink.objects.filter(message_id__in=pks).only("pk", "url")
        if redactor.hits(link.url)
    ]
    for link in links:
        link.url = redactor.url(link.url)
    MessageLink.objects.bulk_update(links, ["url"], batch_size=_BATCH)
    files = _sink_files_delete(pks)
    logger.info(
        "messaging.erased", extra={"messages": changed, "suppressed": suppressed, "files": files}
    )
    return {"messaging.Message": changed, "messaging.MessageLink": len(links), "files": files}


_ERASED_COLUMNS = [
    "to_address", "subject", "body_html", "body_text", "context", "attachments", "headers",
    "suppressed_reason", "last_error",
]  # fmt: skip


def _sink_files_delete(pks: Sequence[int]) -> int:
    """Delete the local sink's ``<id>.eml`` (and an unfinished ``.tmp``) of these messages."""
    folder = sink_dir()
    if not folder.is_dir():
        return 0
    deleted = 0
    for pk in pks:
        for suffix in (".eml", ".tmp"):
            path = folder / f"{pk}{suffix}"
            if path.exists():
                path.unlink()
                deleted += 1
    return deleted
