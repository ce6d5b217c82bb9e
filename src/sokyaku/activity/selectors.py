"""Reads of the event stream."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Max, Min, QuerySet

from sokyaku.activity.models import Event, PendingReaction


def timeline(
    *,
    contact_id: int,
    before: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Event]:
    """A contact's events, newest first, ``limit`` at a time.

    Pass the last row's ``occurred_at`` and ``id`` as ``before``/``before_id`` for the next page
    (keyset paging: stable while new events arrive, cheap on the (contact, time) index).
    """
    qs = Event.objects.filter(contact_id=contact_id)
    if before is not None:
        if before_id is None:
            qs = qs.filter(occurred_at__lt=before)
        else:
            qs = qs.filter(occurred_at__lt=before) | qs.filter(occurred_at=before, id__lt=before_id)
    return list(qs.order_by("-occurred_at", "-id")[:limit])


def events_of_type(*, type: str, start: datetime, end: datetime) -> QuerySet[Event]:
    """Events of one type in ``[start, end)`` (analytics)."""
    return Event.objects.filter(type=type, occurred_at__gte=start, occurred_at__lt=end)


def pending_reaction_oldest_due(*, at: datetime) -> datetime | None:
    """The due time of the oldest after-commit work still owed at ``at`` (``None``: none)."""
    return PendingReaction.objects.filter(due_at__lte=at).aggregate(oldest=Min("due_at"))["oldest"]


def event_last_id() -> int:
    """The highest event id: grows by one per stored event (an index read, whatever the
    table's size), so it serves as a counter of events stored."""
    return Event.objects.aggregate(last=Max("id"))["last"] or 0
