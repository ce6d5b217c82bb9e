"""The SLA clock of a handoff: its deadline, the first touch, reminders and escalations.

- **Deadline** (``sla_deadline``): created + ``sla_hours``. With ``business_days_only`` only
  business days count (Asia/Tokyo weekdays that are neither national holidays nor in the 年末年始
  closure, 12-29 – 01-03): a weekend or holiday adds no time, and a handoff created on one starts
  counting at 0:00 of the next business day. Friday 10:05 + 24 h is Monday 10:05 — Tuesday when
  Monday is 勤労感謝の日. ``reminder_at`` is the deadline minus ``reminder_minutes`` (plain time;
  none when that is not after the creation).
- **First touch** (``touch_record``): the first call, mail or meeting logged on the contact while
  the handoff is open sets ``first_touch_at`` (speed to lead = ``first_touch_at − alerted_at``)
  and the SLA met, or breached when it came after the deadline. Accepting or rejecting a handoff
  nobody touched yet counts as the response in the same way.
- **Tick** (``sla_tick``, every minute): an open, untouched handoff past its ``reminder_at`` gets
  one reminder to its rep (``reminded_at``); past its deadline it becomes breached and its team
  manager gets one escalation (``escalated_at``). Rows are claimed one by one with ``SELECT …
  FOR UPDATE SKIP LOCKED`` on PostgreSQL and re-checked once locked, so several workers can tick
  at once and each mail goes once (its outbox key is unique as well).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from sokyaku.core import clock
from sokyaku.core.calendar import (
    NEW_YEAR_CLOSURE,
    TOKYO,
    closures_parse,
    is_business_day,
)
from sokyaku.handoff.models import Handoff, HandoffStatus, SlaState

logger = logging.getLogger(__name__)

CLOSURES = closures_parse([NEW_YEAR_CLOSURE])
_DAY = timedelta(days=1)
# Two years of days: enough to get past any run of holidays and closures.
_SEARCH_DAYS = 800


def _business(day_start: datetime) -> bool:
    return is_business_day(day_start.date(), closures=CLOSURES)


def _midnight(at: datetime) -> datetime:
    local = at.astimezone(TOKYO)
    return datetime(local.year, local.month, local.day, tzinfo=TOKYO)


def _next_day(day_start: datetime) -> datetime:
    # Calendar arithmetic on the date (Tokyo has no DST, but stay exact anyway).
    following = day_start.date() + _DAY
    return datetime(following.year, following.month, following.day, tzinfo=TOKYO)


def sla_deadline(*, start: datetime, hours: int, business_days_only: bool) -> datetime:
    """When a handoff created at ``start`` must have been answered (see the module docstring)."""
    if not business_days_only:
        return start + timedelta(hours=hours)
    remaining = timedelta(hours=hours)
    day = _midnight(start)
    cursor = start.astimezone(TOKYO)
    for _ in range(_SEARCH_DAYS):
        following = _next_day(day)
        if _business(day):
            available = following - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        day = following
        cursor = following
    raise ValueError("No business day in the next two years.")


def reminder_time(*, created_at: datetime, deadline: datetime, minutes: int) -> datetime | None:
    """``deadline − minutes``; ``None`` without a reminder or when that is not after creation."""
    if minutes <= 0:
        return None
    at = deadline - timedelta(minutes=minutes)
    return at if at > created_at else None


def touch_record(*, handoff: Handoff, at: datetime) -> bool:
    """Record the first response to ``handoff`` (locked by the caller) at ``at``: sets
    ``first_touch_at`` and the SLA met or breached. Returns whether it was the first."""
    if handoff.first_touch_at is not None:
        return False
    handoff.first_touch_at = at
    handoff.sla_state = SlaState.MET if at <= handoff.sla_due_at else SlaState.BREACHED
    handoff.save(update_fields=["first_touch_at", "sla_state"])
    return True


# --- the tick ----------------------------------------------------------------------------------


def _due_reminders(at: datetime) -> Q:
    return Q(
        status=HandoffStatus.OPEN,
        first_touch_at__isnull=True,
        reminded_at__isnull=True,
        reminder_at__lte=at,
        sla_due_at__gt=at,
    )


def _due_escalations(at: datetime) -> Q:
    return Q(
        status=HandoffStatus.OPEN,
        first_touch_at__isnull=True,
        escalated_at__isnull=True,
        sla_due_at__lte=at,
    )


def _claim(rows: QuerySet[Handoff]) -> Handoff | None:
    if connection.features.has_select_for_update_skip_locked:
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    else:
        rows = rows.select_for_update()  # SQLite: one writer at a time anyway
    return rows.select_related("contact", "contact__company", "assignee", "team").first()


def _run(
    due: Callable[[datetime], Q],
    at: datetime,
    limit: int,
    act: Callable[[Handoff, datetime], None],
) -> int:
    done = 0
    ids = list(
        Handoff.objects.filter(due(at))
        .order_by("sla_due_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            handoff = _claim(Handoff.objects.filter(due(at), pk=pk))
            if handoff is None:
                continue  # another worker has it, or it was answered meanwhile
            act(handoff, at)
            done += 1
    return done


def _remind(handoff: Handoff, at: datetime) -> None:
    from sokyaku.handoff.services import alerting

    handoff.reminded_at = at
    handoff.save(update_fields=["reminded_at"])
    alerting.reminder_send(handoff=handoff)


def _escalate(handoff: Handoff, at: datetime) -> None:
    from sokyaku.handoff.services import alerting

    handoff.escalated_at = at
    handoff.sla_state = SlaState.BREACHED
    handoff.save(update_fields=["escalated_at", "sla_state"])
    alerting.escalation_send(handoff=handoff)


def sla_tick(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send the due reminders and escalations (see the module docstring); returns
    ``{"reminders": n, "escalations": m}``. Queues transactional mail (after commit)."""
    at = now or clock.now()
    result = {
        "reminders": _run(_due_reminders, at, limit, _remind),
        "escalations": _run(_due_escalations, at, limit, _escalate),
    }
    if any(result.values()):
        logger.info("handoff.sla_tick", extra=result)
    return result
