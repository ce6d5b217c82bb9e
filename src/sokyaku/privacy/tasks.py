"""Background work of privacy: thin wrappers that take ids and call the services.

- ``erasure_job_run_task``: a segment's erasure, queued when an admin confirmed it;
- ``erasure_jobs_sweep``: every minute, the erasures whose queued run never came or stopped;
- ``retention_tick`` → ``retention_run_task``: once a day, the retention policy.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.core import lanes
from sokyaku.privacy.services import deletion, retention


@db_task(priority=lanes.BULK)
def erasure_job_run_task(job_id: int) -> None:
    """Run a segment's erasure from where it stopped (safe to run twice)."""
    deletion.erasure_job_run(job_id=job_id)


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def erasure_jobs_sweep() -> None:
    """Queue again the erasures that no run holds: the job's row is the truth, the queue only
    says "now", so a lost queue item or a stopped worker delays an erasure, never loses it."""
    for job_id in deletion.erasure_jobs_unfinished_ids():
        erasure_job_run_task(job_id)


@db_task(priority=lanes.BULK)
def retention_run_task() -> None:
    """Anonymise the contacts the retention policy says were inactive too long."""
    retention.retention_run()


# 18:30 UTC is 03:30 in Tokyo, when nobody works.
@db_periodic_task(crontab(hour="18", minute="30"), priority=lanes.TICK)
def retention_tick() -> None:
    """Once a day: queue the retention run (bulk work, on its own lane)."""
    retention_run_task()
