"""Scoring tasks: band drops on time, recomputes, model training."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.core import lanes
from sokyaku.scoring.predictive import tasks as predictive_tasks  # noqa: F401  (registers them)


@db_task(priority=lanes.BULK)
def recompute_task(run_id: int) -> None:
    from sokyaku.scoring.services import recompute_execute

    recompute_execute(run_id=run_id)


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def band_drops_tick() -> None:
    from sokyaku.scoring.services import band_drops_process

    band_drops_process()
