"""Readiness: is this installation doing its work on time? (``GET /readyz``)

Each check reads durable rows or the machine, never a process's memory, so any web process
answers for the whole installation (one worker or many, one machine or many):

- ``database``: a ``SELECT 1`` answers;
- ``worker_heartbeat``: the newest worker heartbeat (written every minute by the tick lane) is
  younger than ``READY_HEARTBEAT_MAX_SECONDS`` (two and a half ticks);
- ``queue_depth``: the task queue answers; its depth is over ``READY_QUEUE_MAX`` only when
  that is set (0: reported, never a failure);
- ``outbox``, ``enrollments``, ``reactions``: the oldest due message, enrolment step and
  after-commit reaction have waited less than ``READY_DUE_MAX_SECONDS`` past their due time
  (marketing mail is left out while all marketing sending is paused: it waits on purpose);
- ``disk``: the data directory's file system has at least ``READY_DISK_MIN_BYTES`` and
  ``READY_DISK_MIN_PERCENT`` free.

A check that cannot be made (the database or the queue is down) is not ok.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection

from sokyaku.activity.selectors import pending_reaction_oldest_due
from sokyaku.core import clock
from sokyaku.core.selectors import worker_heartbeat_latest
from sokyaku.messaging.selectors import outbox_oldest_due
from sokyaku.messaging.services.pausing import marketing_paused
from sokyaku.sequences.selectors import enrollment_oldest_due

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    """One check: its value (seconds, a count, bytes), the bound it is held to, and why not."""

    name: str
    ok: bool
    value: float | int | str | None = None
    limit: float | int | None = None
    detail: str = ""

    def as_json(self) -> dict[str, object]:
        shown: dict[str, object] = {"ok": self.ok, "value": self.value}
        if self.limit is not None:
            shown["limit"] = self.limit
        if self.detail:
            shown["detail"] = self.detail
        return shown


def queue_depth() -> int:
    """Tasks waiting in the worker's queue (Huey's ``pending_count``)."""
    from huey.contrib.djhuey import HUEY

    return int(HUEY.pending_count())


def _age(since: datetime | None, at: datetime) -> float:
    return 0.0 if since is None else round(max(0.0, (at - since).total_seconds()), 3)


def _due_check(name: str, since: datetime | None, at: datetime) -> Check:
    age, limit = _age(since, at), settings.READY_DUE_MAX_SECONDS
    return Check(name, age <= limit, age, limit)


def disk_free() -> tuple[int, float]:
    """Free bytes and free percent of the file system holding the data directory."""
    usage = shutil.disk_usage(settings.DATA_DIR)
    return usage.free, round(100.0 * usage.free / usage.total, 2) if usage.total else 0.0


def _disk_check() -> Check:
    try:
        free, percent = disk_free()
    except OSError as exc:
        return Check("disk", False, detail=str(exc))
    low_bytes = free < settings.READY_DISK_MIN_BYTES
    low_percent = percent < settings.READY_DISK_MIN_PERCENT
    detail = f"{percent} % free" + (" (too little)" if low_bytes or low_percent else "")
    ok = not (low_bytes or low_percent)
    return Check("disk", ok, free, settings.READY_DISK_MIN_BYTES, detail)


def readiness_checks() -> list[Check]:
    """Every check, in the order above."""
    at = clock.now()
    checks: list[Check] = []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        logger.warning("readiness.database_down", extra={"error": str(exc)})
        checks.append(Check("database", False, detail=str(exc)))
    else:
        checks.append(Check("database", True, connection.vendor))
        checks.extend(_database_checks(at))
    try:
        depth = queue_depth()
    except Exception as exc:  # the queue's own errors (Redis down, a locked file) vary
        checks.append(Check("queue_depth", False, detail=str(exc)))
    else:
        limit = settings.READY_QUEUE_MAX or None
        checks.append(Check("queue_depth", limit is None or depth <= limit, depth, limit))
    checks.append(_disk_check())
    return checks


def _database_checks(at: datetime) -> list[Check]:
    try:
        beat = worker_heartbeat_latest()
        paused = marketing_paused()
        outbox = outbox_oldest_due(at=at, marketing=not paused)
        enrollments = enrollment_oldest_due(at=at)
        reactions = pending_reaction_oldest_due(at=at)
    except DatabaseError as exc:
        return [Check("worker_heartbeat", False, detail=str(exc))]
    limit = settings.READY_HEARTBEAT_MAX_SECONDS
    if beat is None:
        heartbeat = Check("worker_heartbeat", False, None, limit, "no worker has run yet")
    else:
        age = _age(beat, at)
        heartbeat = Check("worker_heartbeat", age <= limit, age, limit)
    return [
        heartbeat,
        _due_check("outbox", outbox, at),
        _due_check("enrollments", enrollments, at),
        _due_check("reactions", reactions, at),
        Check("marketing_paused", True, int(paused)),
    ]


def is_ready(checks: list[Check]) -> bool:
    return all(check.ok for check in checks)
