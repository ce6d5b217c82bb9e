"""Background work of handoffs: thin wrappers that call a service.

- ``sla_tick_task``: every minute, the due SLA reminders and escalations (safe to run in
  several workers at once; each mail goes once).
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from sokyaku.core import lanes


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def sla_tick_task() -> None:
    from sokyaku.handoff.services import sla

    sla.sla_tick()
