"""Periodic housekeeping run by the worker."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from sokyaku.core import lanes, services


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def heartbeat() -> None:
    services.worker_heartbeat()
