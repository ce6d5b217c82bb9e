"""Background work of analytics: thin wrappers that call a service.

- ``rollups_refresh_task``: every minute, recompute the days marked dirty since the last run.
  Safe in several workers at once: each takes the dirty days with ``SKIP LOCKED`` (PostgreSQL),
  so two workers never refresh the same day; on SQLite writers take turns anyway.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from sokyaku.core import lanes


@db_periodic_task(crontab(minute="*"), priority=lanes.BULK)
def rollups_refresh_task() -> None:
    from sokyaku.analytics import rollups

    rollups.rollups_refresh(skip_locked=True)
