"""Background work of deals: thin wrappers that call a service.

- ``deals_stagnation_task``: every 15 minutes, alert the owners of deals that sat too long in a
  stage (safe to run twice: each deal is alerted once per stage entry).
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from sokyaku.core import lanes


@db_periodic_task(crontab(minute="*/15"), priority=lanes.TICK)
def deals_stagnation_task() -> None:
    from sokyaku.deals.services import stagnation

    stagnation.stagnation_tick()
