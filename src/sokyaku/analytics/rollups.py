"""Daily rollups: ``analytics.metrics`` stored per Tokyo day and source, kept current.

A day's rollups are ``raw_counts`` of that day, one ``DailyCount`` row per (metric, channel,
campaign). They are maintained incrementally, never rebuilt nightly:

- **marking** — whatever changes a day's numbers marks the day in ``DirtyDay``, in the
  transaction that makes the change: the ``stored`` event listener (``events_stored``) marks
  the days an event's rows count on; and the notes that a contact's source (first touch) or
  merge state changed, or a won deal of it was edited (``contacts.sources``, written in the
  transaction of that change), are turned into marks of every day its rows count on before each
  refresh (``sources_mark``);
- **refreshing** — ``rollups_refresh`` recomputes dirty days from the raw tables (the worker
  every minute, ``tasks.rollups_refresh_task``), and ``rollup_counts`` refreshes the dirty days
  of the period it reads first, so a dashboard never shows a stale number;
- **rebuilding** — ``rollups_rebuild`` recomputes a range set-based, after bulk loads that
  store events with the listeners paused (the demo, benchmarks).

Concurrency: a mark is a row of its own, inserted in the transaction of the change it marks, so
it commits (or rolls back) with that change and locks nothing other writers wait for — many
submissions of the same day commit side by side. A refresh first reads the committed marks of
its days, then the raw tables, and finally deletes exactly the marks it read. A change whose
transaction commits after the marks were read leaves its own mark behind, so the day is
recomputed again by the next refresh; a change that committed before is in the raw numbers the
refresh reads. Two workers never recompute the same day at once: on PostgreSQL a refresh holds
a transaction-level advisory lock per day (the worker skips days another worker holds); on
SQLite writers take turns anyway. Events that never change a counted row (page views above all)
mark nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Max, Min, Q, Sum
from django.db.models.functions import TruncDate

from sokyaku.activity.models import Event, EventType
from sokyaku.analytics.metrics import (
    CONVERSION_WINDOW,
    GOAL_EVENT_TYPES,
    OPPORTUNITY_OR_LATER,
    STAGE_METRICS,
    Key,
    Metric,
    day_bounds,
    raw_counts,
    tokyo_day,
)
from sokyaku.analytics.models import DailyCount, DirtyDay
from sokyaku.contacts import sources
from sokyaku.contacts.models import Contact, MergeRecord
from sokyaku.core import clock
from sokyaku.deals.models import Deal, DealStageChange, DealStatus, Order, StageKind
from sokyaku.handoff.models import Handoff
from sokyaku.lifecycle.models import Stage, StageChange
from sokyaku.messaging.models import Message, MessageChannel, Stream

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Ids per ``IN (…)`` (SQLite caps the parameters of one statement).
CHUNK = 500
# Above this many contacts, a source change marks every day there is data for instead.
ALL_DAYS_ABOVE = 10_000
# Longest stretch of consecutive days one refresh transaction recomputes (it holds the days'
# rows, which writers marking them wait for, while it reads the raw tables).
RUN_DAYS = 7
# Days per transaction of a rebuild (bounds memory and how long writers wait on SQLite).
REBUILD_DAYS = 366
BATCH = 2000

_EMAIL_EVENTS = frozenset(
    {
        EventType.EMAIL_DELIVERED,
        EventType.EMAIL_OPENED,
        EventType.EMAIL_CLICKED,
        EventType.EMAIL_BOUNCED,
        EventType.EMAIL_UNSUBSCRIBED,
        EventType.EMAIL_COMPLAINED,
    }
)
_DEAL_EVENTS = frozenset(
    {
        EventType.DEAL_CREATED,
        EventType.DEAL_STAGE_CHANGED,
        EventType.DEAL_WON,
        EventType.DEAL_LOST,
    }
)
_GOALS = frozenset(GOAL_EVENT_TYPES)
# Events that never come with a change to a counted row (the rows ``metrics`` counts are written
# with their own events: contact_*, lifecycle_changed, handoff_created, deal_*, purchase,
# email_*, goals). Skipping them keeps the hottest path — page views — free of any write here.
_NOT_COUNTED = frozenset(
    {
        EventType.PAGE_VIEW,
        EventType.ASSET_DOWNLOADED,
        EventType.WEBINAR_ATTENDED,
        EventType.WEBINAR_NO_SHOW,
        EventType.EVENT_VISITED,
        EventType.CHAT_SENT,
        EventType.CART_ABANDONED,
        EventType.COUPON_USED,
        EventType.REFERRAL,
        EventType.MEETING,
        EventType.CALL,
        EventType.NOTE,
        EventType.SALES_EMAIL,
        EventType.CONSENT_GRANTED,
        EventType.CONSENT_WITHDRAWN,
        EventType.SCORE_BAND_CHANGED,
        EventType.BANT_RECORDED,
        EventType.SEGMENT_ENTERED,
        EventType.SEGMENT_LEFT,
        EventType.SEQUENCE_ENROLLED,
        EventType.SEQUENCE_EXITED,
        EventType.HANDOFF_ASSIGNED,
        EventType.HANDOFF_ACCEPTED,
        EventType.HANDOFF_REJECTED,
    }
)


# --- Marking ----------------------------------------------------------------------------------


def days_mark(days: Iterable[date]) -> None:
    """Mark Tokyo ``days`` dirty, in the current transaction: a row of its own per day (an
    insert that locks nothing another transaction waits for)."""
    wanted = sorted(set(days))
    if not wanted:
        return
    now = clock.now()
    DirtyDay.objects.bulk_create([DirtyDay(day=day, marked_at=now) for day in wanted])


def _int(value: object) -> int | None:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _instants(values: Iterable[datetime | None]) -> set[date]:
    return {tokyo_day(at) for at in values if at is not None}


def events_stored(rows: Sequence[Event]) -> None:
    """Listener (in the ingesting transaction): mark the days the stored events change.

    Each event of a contact marks its own day; some also mark the days of rows they change
    elsewhere, found with a few indexed look-ups per batch:

    - ``lifecycle_changed`` to customer: the contact's creation day (``leads_converted``); to
      opportunity or later: the creation days of the contact's handoffs (``handoffs_converted``);
    - ``deal_created``: the creation days of the contact's handoffs and of the deal's handoff;
      any deal event: every day the deal was won on (its closing day, and earlier wins that a
      reopening or a loss took back);
    - mail events with a ``message_id``: the day the message was sent;
    - goal events: the sending days of the contact's clicked marketing mails that the goal can
      convert (sent within ``CONVERSION_WINDOW`` before it);
    - ``purchase`` with an ``order``: the order's day;
    - ``contact_updated`` with a new first-touch channel, ``contact_merged``: every day the
      contacts' rows count on (as ``sources_mark``).

    Anonymous events are skipped (no metric counts a row without a contact), and so are the
    types that never come with a change to a counted row (``_NOT_COUNTED``: page views, score
    and segment changes …).
    """
    days: set[date] = set()
    customers: set[int] = set()
    handoff_contacts: set[int] = set()
    new_deals: set[int] = set()
    deals: set[int] = set()
    messages: set[int] = set()
    orders: set[int] = set()
    goals: dict[int, tuple[datetime, datetime]] = {}
    sources: set[int] = set()
    merges: set[int] = set()
    for row in rows:
        contact = row.contact_id
        if contact is None or row.type in _NOT_COUNTED:
            continue
        days.add(tokyo_day(row.occurred_at))
        props: dict[str, Any] = row.properties if isinstance(row.properties, dict) else {}
        kind = row.type
        if kind == EventType.LIFECYCLE_CHANGED:
            to = props.get("to")
            if to == Stage.CUSTOMER:
                customers.add(contact)
            if to in OPPORTUNITY_OR_LATER:
                handoff_contacts.add(contact)
        elif kind in _DEAL_EVENTS:
            deal = _int(props.get("deal"))
            if deal is not None:
                deals.add(deal)
                if kind == EventType.DEAL_CREATED:
                    new_deals.add(deal)
            if kind == EventType.DEAL_CREATED:
                handoff_contacts.add(contact)
        elif kind in _EMAIL_EVENTS:
            # ``email_sent`` needs no look-up: it is recorded at the message's ``sent_at``.
            message = _int(props.get("message_id"))
            if message is not None:
                messages.add(message)
        elif kind == EventType.CONTACT_UPDATED:
            fields = props.get("fields")
            if isinstance(fields, list) and "first_touch_channel" in fields:
                sources.add(contact)
        elif kind == EventType.CONTACT_MERGED:
            sources.add(contact)
            loser = _int(props.get("loser_id"))
            if loser is not None:
                sources.add(loser)
            merge = _int(props.get("merge_id"))
            if merge is not None:
                merges.add(merge)
        if kind in _GOALS:
            first, last = goals.get(contact, (row.occurred_at, row.occurred_at))
            goals[contact] = (min(first, row.occurred_at), max(last, row.occurred_at))
            if kind == EventType.PURCHASE:
                order = _int(props.get("order"))
                if order is not None:
                    orders.add(order)
    if customers:
        days |= _instants(
            Contact.objects.filter(pk__in=sorted(customers)).values_list("created_at", flat=True)
        )
    if handoff_contacts or new_deals:
        handoffs = Handoff.objects.filter(
            Q(contact_id__in=sorted(handoff_contacts)) | Q(deals__in=sorted(new_deals))
        )
        days |= _instants(handoffs.values_list("created_at", flat=True))
    if deals:
        # Every entry into a won stage: the current closing day of a won deal among them.
        won = DealStageChange.objects.filter(
            deal_id__in=sorted(deals), to_stage__kind=StageKind.WON
        )
        days |= _instants(won.values_list("at", flat=True))
    if messages:
        days |= _instants(
            Message.objects.filter(pk__in=sorted(messages)).values_list("sent_at", flat=True)
        )
    if orders:
        days |= _instants(
            Order.objects.filter(pk__in=sorted(orders)).values_list("ordered_at", flat=True)
        )
    if goals:
        days |= _goal_days(goals)
    if merges:
        for before in MergeRecord.objects.filter(pk__in=sorted(merges)).values_list(
            "winner_before", "loser_before"
        ):
            days |= {
                tokyo_day(datetime.fromisoformat(snap["created_at"]))
                for snap in before
                if isinstance(snap, dict) and snap.get("created_at")
            }
    if sources:
        days |= contact_days(sorted(sources))
    days_mark(days)


def _goal_days(goals: dict[int, tuple[datetime, datetime]]) -> set[date]:
    """Sending days of the clicked marketing mails that goal actions may convert."""
    days: set[date] = set()
    items = sorted(goals.items())
    for start in range(0, len(items), 100):
        match = Q()
        for contact, (first, last) in items[start : start + 100]:
            match |= Q(
                contact_id=contact, sent_at__gte=first - CONVERSION_WINDOW, sent_at__lte=last
            )
        mails = Message.objects.filter(
            match,
            channel=MessageChannel.EMAIL,
            stream=Stream.MARKETING,
            clicked_at__isnull=False,
        )
        days |= _instants(mails.values_list("sent_at", flat=True))
    return days


def contact_days(contact_ids: Sequence[int]) -> set[date]:
    """Every Tokyo day the rows of these contacts count on: creation, stage entries, handoffs,
    won deals, orders and marketing mails sent (one ``UNION`` query per chunk of ids)."""
    days: set[date] = set()
    for chunk in _chunks(contact_ids):
        parts = [
            Contact.objects.filter(pk__in=chunk),
            StageChange.objects.filter(
                contact_id__in=chunk, to_stage__in=list(STAGE_METRICS.values())
            ),
            Handoff.objects.filter(contact_id__in=chunk),
            Deal.objects.filter(contact_id__in=chunk, status=DealStatus.WON),
            Order.objects.filter(contact_id__in=chunk),
            Message.objects.filter(
                contact_id__in=chunk, channel=MessageChannel.EMAIL, stream=Stream.MARKETING
            ),
        ]
        fields = ["created_at", "changed_at", "created_at", "closed_at", "ordered_at", "sent_at"]
        queries = [
            rows.filter(**{f"{field}__isnull": False})
            .annotate(_day=TruncDate(field, tzinfo=clock.TOKYO))
            .order_by()
            .values_list("_day", flat=True)
            for rows, field in zip(parts, fields, strict=True)
        ]
        days |= set(queries[0].union(*queries[1:]))
    return days


def _data_range() -> tuple[date, date] | None:
    """The first and last Tokyo day any counted row (or stored rollup) lies on."""
    instants: list[datetime] = []
    for rows, field in (
        (Contact.objects.all(), "created_at"),
        (StageChange.objects.all(), "changed_at"),
        (Handoff.objects.all(), "created_at"),
        (Deal.objects.all(), "closed_at"),
        (Order.objects.all(), "ordered_at"),
        (Message.objects.filter(sent_at__isnull=False), "sent_at"),
    ):
        bounds = rows.aggregate(first=Min(field), last=Max(field))
        instants += [at for at in bounds.values() if at is not None]
    days = [tokyo_day(at) for at in instants]
    stored = DailyCount.objects.aggregate(first=Min("day"), last=Max("day"))
    days += [day for day in stored.values() if day is not None]
    if not days:
        return None
    return min(days), max(days)


def all_days_mark() -> int:
    """Mark every day there is data for (a change too wide to find day by day); returns how
    many days were marked."""
    span = _data_range()
    if span is None:
        return 0
    first, last = span
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    days_mark(days)
    return len(days)


def contact_sources_mark(contact_ids: Iterable[int] | None) -> None:
    """Mark every day the contacts' rows count on. ``contact_ids`` may be ids or a flat
    ``values_list`` query; ``None`` or more than ``ALL_DAYS_ABOVE`` contacts mark every day
    there is data for."""
    if contact_ids is None:
        all_days_mark()
        return
    ids = sorted({int(pk) for pk in contact_ids})
    if len(ids) > ALL_DAYS_ABOVE:
        all_days_mark()
        return
    if ids:
        days_mark(contact_days(ids))


def sources_mark() -> None:
    """Turn the notes of changed contact sources (``contacts.sources``) into dirty days, in one
    transaction (a note is gone only once its days are marked)."""
    with transaction.atomic():
        ids = sources.source_changes_take()
        if ids is None or ids:
            contact_sources_mark(ids)


# --- Refreshing -------------------------------------------------------------------------------


def _runs(days: Iterable[date]) -> list[list[date]]:
    """Sorted days split into stretches of consecutive days (at most ``RUN_DAYS`` each)."""
    runs: list[list[date]] = []
    for day in sorted(set(days)):
        if runs and (day - runs[-1][-1]).days == 1 and len(runs[-1]) < RUN_DAYS:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _rollup_rows(counts: Counter[Key], days: set[date] | None = None) -> list[DailyCount]:
    """``raw_counts(by_day=True)`` as rows (only those of ``days`` when given)."""
    return [
        DailyCount(day=day, metric=metric, channel_id=channel, campaign_id=campaign, value=value)
        for (day, metric, channel, campaign), value in counts.items()
        if day is not None and value and (days is None or day in days)
    ]


def _write(days: Sequence[date]) -> int:
    """Replace the rollups of ``days`` (sorted) by their ``raw_counts``, read over their span."""
    counts = raw_counts(*day_bounds(days[0], days[-1]), by_day=True)
    rows = _rollup_rows(counts, set(days))
    for chunk in _chunks(days):
        DailyCount.objects.filter(day__in=list(chunk)).delete()
    DailyCount.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


# Advisory lock namespace of a day being refreshed (PostgreSQL): two workers never recompute
# the same day at once.
_DAY_LOCK = 0x536B


def _days_locked(days: Sequence[date], *, skip_locked: bool) -> list[date]:
    """Take the refresh lock of each of ``days`` for this transaction; with ``skip_locked``
    leave out the days another worker is refreshing, otherwise wait for them. (SQLite: one
    writer at a time anyway.)"""
    if connection.vendor != "postgresql":
        return list(days)
    taken: list[date] = []
    with connection.cursor() as cursor:
        for day in days:
            if skip_locked:
                cursor.execute(
                    "SELECT pg_try_advisory_xact_lock(%s, %s)", [_DAY_LOCK, day.toordinal()]
                )
                if not cursor.fetchone()[0]:
                    continue
            else:
                cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_DAY_LOCK, day.toordinal()])
            taken.append(day)
    return taken


def _refresh_run(run: Sequence[date], *, only_dirty: bool, skip_locked: bool) -> int:
    with transaction.atomic():
        if not only_dirty:
            days_mark(run)  # explicit days get a mark each, taken like the dirty ones
        marks = dict(DirtyDay.objects.filter(day__in=list(run)).values_list("pk", "day"))
        days = _days_locked(sorted(set(marks.values())), skip_locked=skip_locked and only_dirty)
        if not days:
            return 0
        _write(days)
        # Only the marks read above: a day marked again meanwhile stays dirty.
        done = [pk for pk, day in marks.items() if day in set(days)]
        for chunk in _chunks(done):
            DirtyDay.objects.filter(pk__in=list(chunk)).delete()
    return len(days)


def rollups_refresh(days: Iterable[date] | None = None, *, skip_locked: bool = False) -> int:
    """Recompute ``days`` (default: every dirty day) from the raw tables; returns how many days
    were refreshed.

    Each stretch of consecutive days is one transaction: the days are locked for refreshing,
    their rollups replaced and the marks read removed (a mark made meanwhile stays). With
    ``skip_locked`` (the periodic task) days another worker is refreshing are left to it;
    otherwise this waits for them, so that what it returns afterwards is current.
    """
    only_dirty = days is None
    if only_dirty:
        sources_mark()
    targets = (
        list(DirtyDay.objects.order_by("day").values_list("day", flat=True).distinct())
        if days is None
        else list(days)
    )
    refreshed = 0
    for run in _runs(targets):
        refreshed += _refresh_run(run, only_dirty=only_dirty, skip_locked=skip_locked)
    if refreshed:
        logger.info("rollups.refreshed", extra={"days": refreshed})
    return refreshed


def _dirty_refresh(first: date, last: date) -> int:
    """Refresh the dirty days within ``first`` … ``last`` (read-through)."""
    sources_mark()
    dirty = list(
        DirtyDay.objects.filter(day__gte=first, day__lte=last)
        .values_list("day", flat=True)
        .distinct()
    )
    refreshed = 0
    for run in _runs(dirty):
        refreshed += _refresh_run(run, only_dirty=True, skip_locked=False)
    return refreshed


def rollups_rebuild(first: date | None = None, last: date | None = None) -> int:
    """Recompute the rollups of ``first`` … ``last`` set-based (default: every day there is data
    for or a stored rollup lies on); for bulk loads that stored events with the listeners
    paused. Clears the range's dirty days. Returns the number of rows written.

    One ``raw_counts(by_day=True)`` per ``REBUILD_DAYS`` days, each in its own transaction that
    takes out the range's marks it read first: a day marked while the rebuild runs stays
    dirty.
    """
    if first is None or last is None:
        span = _data_range()
        if span is None:
            return 0
        first = first if first is not None else span[0]
        last = last if last is not None else span[1]
    written = 0
    start = first
    while start <= last:
        stop = min(last, start + timedelta(days=REBUILD_DAYS - 1))
        with transaction.atomic():
            marks = list(
                DirtyDay.objects.filter(day__gte=start, day__lte=stop).values_list("pk", flat=True)
            )
            for chunk in _chunks(marks):
                DirtyDay.objects.filter(pk__in=list(chunk)).delete()
            counts = raw_counts(*day_bounds(start, stop), by_day=True)
            DailyCount.objects.filter(day__gte=start, day__lte=stop).delete()
            rows = _rollup_rows(counts)
            DailyCount.objects.bulk_create(rows, batch_size=BATCH)
            written += len(rows)
        start = stop + timedelta(days=1)
    logger.info("rollups.rebuilt", extra={"rows": written})
    return written


# --- Reading ----------------------------------------------------------------------------------


def rollup_counts(
    first: date, last: date, *, by_day: bool = False, metrics: set[Metric] | None = None
) -> Counter[Key]:
    """The metrics of Tokyo days ``first`` … ``last`` (inclusive), keyed like ``raw_counts``.

    Dirty days in the range are refreshed first (read-through), so the answer always equals
    ``raw_counts`` of the same days; then one grouped query over ``DailyCount``.
    """
    _dirty_refresh(first, last)
    rows = DailyCount.objects.filter(day__gte=first, day__lte=last)
    if metrics is not None:
        rows = rows.filter(metric__in=sorted(m.value for m in metrics))
    keys = ["metric", "channel_id", "campaign_id", *(["day"] if by_day else [])]
    out: Counter[Key] = Counter()
    for row in rows.values(*keys).annotate(total=Sum("value")).order_by():
        if row["total"]:
            day = row["day"] if by_day else None
            out[(day, row["metric"], row["channel_id"], row["campaign_id"])] += row["total"]
    return out
