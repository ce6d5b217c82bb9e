"""Predictive-scoring tasks (imported by ``scoring/tasks.py`` so the worker registers them).

Thin: they take ids and call ``training``; both are safe to run twice.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.core import lanes
from sokyaku.scoring.predictive import training


@db_task(priority=lanes.BULK)
def predictive_train_task(model_id: int) -> None:
    """Fill the "training" row ``model_id`` (``training.model_train_run``)."""
    training.model_train_run(model_id=model_id)


@db_periodic_task(crontab(minute="30", hour="3"), priority=lanes.BULK)
def predictions_refresh_daily() -> None:
    """Recency moves with the calendar: rescore open contacts with the active model nightly."""
    training.predictions_refresh()
