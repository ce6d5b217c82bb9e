"""Erasing a person from the event stream (a data-subject erasure, see ``privacy``).

Events stay: their type, time and source are what scoring, the funnel, mail metrics and
attribution count. What they carry of the person goes: free text (form answers, notes, subjects,
a deal's name) is dropped, every other property is kept only where it holds nothing of the
person (a URL loses the query values that name them, UTM parameters stay), the visitor id
(the cookie that tied the browser to the person) is emptied, and an idempotency key that names
the person is replaced. The person's browsers (``Visitor``) are deleted, and their anonymous
page views go through the same cleaning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db.models import Q

from sokyaku.activity.models import Event, Visitor
from sokyaku.core.redaction import Redactor

logger = logging.getLogger(__name__)

# Properties that hold what a person or a user wrote about them: dropped from the person's
# events whatever they say.
FREE_TEXT_KEYS = frozenset(
    {"fields", "text", "subject", "body", "note", "notes", "comment", "message", "deal_name"}
)
_BATCH = 1000


def events_erase(*, contact_ids: Sequence[int], redactor: Redactor) -> dict[str, int]:
    """Clean the events of these contacts and of their browsers (see the module docstring) and
    delete the browsers. Idempotent. Returns the changed rows per table."""
    visitor_ids = list(
        Visitor.objects.filter(contact_id__in=contact_ids).values_list("id", flat=True)
    )
    pks = list(
        Event.objects.filter(
            Q(contact_id__in=contact_ids) | (Q(visitor_id__in=visitor_ids) & ~Q(visitor_id=""))
        ).values_list("pk", flat=True)
    )
    count = 0
    for start in range(0, len(pks), _BATCH):
        changed: list[Event] = []
        chunk = Event.objects.filter(pk__in=pks[start : start + _BATCH])
        for event in chunk.only("pk", "properties", "visitor_id", "idempotency_key"):
            properties = redactor.json(event.properties or {}, drop_keys=FREE_TEXT_KEYS)
            key = event.idempotency_key
            if key and redactor.hits(key):
                key = f"erased:{event.pk}"
            before = (event.properties, event.visitor_id, event.idempotency_key)
            if (properties, "", key) == before:
                continue
            event.properties, event.visitor_id, event.idempotency_key = properties, "", key
            changed.append(event)
        Event.objects.bulk_update(changed, ["properties", "visitor_id", "idempotency_key"])
        count += len(changed)
    visitors, _ = Visitor.objects.filter(id__in=visitor_ids).delete()
    logger.info("activity.erased", extra={"events": count, "visitors": visitors})
    return {"activity.Event": count, "activity.Visitor": visitors}
