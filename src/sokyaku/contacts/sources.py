"""Contacts whose source changed: a durable note for the numbers attributed to them.

A contact's source (its first touch, the channel of it, the contact it was merged into, a won
deal's buyer) decides where its rows count in the reports. Whatever changes it after the fact
calls ``sources_changed`` in its own transaction; analytics takes the notes with
``source_changes_take`` before it refreshes its rollups, and counts those contacts' days again.
The note commits or rolls back with the change, so a report is never left counting the old way.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from sokyaku.contacts.models import SourceChange
from sokyaku.core import clock

# Above this many contacts, one note says "count everything again".
NAMED_AT_MOST = 10_000


def sources_changed(*, contact_ids: Iterable[int] | None) -> int:
    """Note that these contacts' sources changed (``None``: too many or unknown: all of them).
    ``contact_ids`` may be a flat ``values_list`` query. Returns how many notes were written."""
    now = clock.now()
    ids = None if contact_ids is None else sorted({int(pk) for pk in contact_ids})
    if ids is not None and not ids:
        return 0
    if ids is None or len(ids) > NAMED_AT_MOST:
        SourceChange.objects.create(contact_id=None, created_at=now)
        return 1
    SourceChange.objects.bulk_create(
        [SourceChange(contact_id=pk, created_at=now) for pk in ids], batch_size=1000
    )
    return len(ids)


def source_changes_take() -> list[int] | None:
    """Take (delete and return) the noted contact ids; ``None`` when a note says "all".

    Only notes that were committed are seen; one written while this runs stays for the next
    call."""
    with transaction.atomic():
        notes = list(SourceChange.objects.values_list("pk", "contact_id"))
        if not notes:
            return []
        pks = [pk for pk, _contact in notes]
        for start in range(0, len(pks), 1000):
            SourceChange.objects.filter(pk__in=pks[start : start + 1000]).delete()
    contacts = [contact for _pk, contact in notes]
    if None in contacts:
        return None
    return sorted({int(contact) for contact in contacts if contact is not None})
