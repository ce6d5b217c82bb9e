"""Sending failed mail again, after a relay outage or a misconfigured SMTP server.

``messages_resend`` puts ``failed`` messages — chosen by id, or by filter: failed since a time,
of one sender profile — back to ``queued`` with a fresh set of attempts and asks the worker to
deliver them. Each row keeps its stored rendering, so the mail goes with the same Message-ID;
consent, suppression and the sender profile are checked again at sending, as for every mail
(a hard-bounced address is on the suppression list and is not tried again).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q

from sokyaku.core.errors import ValidationError
from sokyaku.messaging.models import Message, MessageStatus, SenderProfile
from sokyaku.messaging.services.outbox import deliver_after_commit

logger = logging.getLogger(__name__)

CHUNK = 1000


def messages_resend(
    *,
    ids: Sequence[int] | None = None,
    failed_since: datetime | None = None,
    sender: SenderProfile | None = None,
    actor: User | None,
) -> int:
    """Queue the chosen ``failed`` messages again; how many were queued.

    Chosen by ``ids`` and/or the filters (``failed_since``: failed at or after it — a row from
    before failure times were kept counts by its creation; ``sender``). Messages not ``failed``
    are left alone. Raises ``ValidationError`` when nothing at all narrows the choice.
    Side effects: status ``queued``, ``attempts`` 0, ``failed_at`` and ``next_attempt_at``
    cleared; delivery on the bulk lane after commit.
    """
    if ids is None and failed_since is None and sender is None:
        raise ValidationError("Choose the messages to send again, or a filter.")
    rows = Message.objects.filter(status=MessageStatus.FAILED)
    if ids is not None:
        rows = rows.filter(pk__in=list(ids))
    if failed_since is not None:
        rows = rows.filter(
            Q(failed_at__gte=failed_since) | Q(failed_at__isnull=True, created_at__gte=failed_since)
        )
    if sender is not None:
        rows = rows.filter(sender=sender)
    picked = list(rows.order_by("id").values_list("pk", flat=True))
    queued: list[int] = []
    with transaction.atomic():
        for start in range(0, len(picked), CHUNK):
            chunk = picked[start : start + CHUNK]
            Message.objects.filter(pk__in=chunk, status=MessageStatus.FAILED).update(
                status=MessageStatus.QUEUED,
                attempts=0,
                failed_at=None,
                next_attempt_at=None,
                lease_until=None,
            )
            queued.extend(chunk)
            deliver_after_commit(chunk, bulk=True)
    logger.info(
        "messaging.resend",
        extra={"count": len(queued), "actor": actor.pk if actor else None},
    )
    return len(queued)
