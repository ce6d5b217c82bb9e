"""The marketing frequency cap: how many marketing mails a contact got on a Tokyo day.

One person, one mail at a time: by default a contact gets at most one marketing mail a day
(``FrequencyCap``). What counts is marketing-stream email to the contact created that Asia/Tokyo
calendar day and not stopped (queued, sending or sent: a mail waiting in the outbox has taken
its slot). Transactional mail and test mails (no contact) never count. Sequences ask
``cap_reached`` before a mail step (the step then waits for the next free day); broadcasts
leave out the contacts ``contacts_at_cap`` names. Both read the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta

from django.db.models import Count

from sokyaku.core.clock import TOKYO
from sokyaku.messaging.models import (
    FrequencyCap,
    Message,
    MessageChannel,
    MessageStatus,
    Stream,
)

COUNTED = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT)


def frequency_cap_get() -> FrequencyCap:
    """The cap in force (the stored row, or the defaults: one a day, sequences and broadcasts)."""
    return FrequencyCap.objects.order_by("pk").first() or FrequencyCap()


def day_bounds(at: datetime) -> tuple[datetime, datetime]:
    """The Asia/Tokyo calendar day ``at`` falls on, as ``[start, end)``."""
    day = at.astimezone(TOKYO).date()
    start = datetime.combine(day, time(0, 0), tzinfo=TOKYO)
    return start, start + timedelta(days=1)


def marketing_mails_on_day(*, contact_ids: Iterable[int], at: datetime) -> dict[int, int]:
    """How many counted marketing mails each contact got on ``at``'s Tokyo day (one query)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    start, end = day_bounds(at)
    rows = (
        Message.objects.filter(
            contact_id__in=ids,
            channel=MessageChannel.EMAIL,
            stream=Stream.MARKETING,
            status__in=COUNTED,
            created_at__gte=start,
            created_at__lt=end,
        )
        .values("contact_id")
        .annotate(n=Count("id"))
        .values_list("contact_id", "n")
    )
    found = dict(rows)
    return {contact_id: found.get(contact_id, 0) for contact_id in ids}


def cap_reached(*, contact_id: int, at: datetime, cap: FrequencyCap | None = None) -> bool:
    """Whether a sequence mail to ``contact_id`` at ``at`` would go over the cap."""
    cap = cap or frequency_cap_get()
    if not cap.sequences or not cap.per_day:
        return False
    sent = marketing_mails_on_day(contact_ids=[contact_id], at=at)[contact_id]
    return sent >= cap.per_day


def contacts_at_cap(*, contact_ids: Iterable[int], at: datetime) -> set[int]:
    """The contacts a broadcast at ``at`` leaves out: they had their marketing mails that day."""
    cap = frequency_cap_get()
    if not cap.broadcasts or not cap.per_day:
        return set()
    counts: dict[int, int] = {}
    ids = list(contact_ids)
    for start in range(0, len(ids), 500):
        counts.update(marketing_mails_on_day(contact_ids=ids[start : start + 500], at=at))
    return {contact_id for contact_id, n in counts.items() if n >= cap.per_day}


def next_day_start(at: datetime) -> datetime:
    """00:00 Tokyo of the day after ``at``: the earliest moment a capped contact is free."""
    return day_bounds(at)[1]
