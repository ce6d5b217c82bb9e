"""Periodic housekeeping run by the worker."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from sokyaku.core import services


@db_periodic_task(crontab(minute="*"))
def heartbeat() -> None:
    services.worker_heartbeat()
