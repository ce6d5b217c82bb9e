"""Background jobs of contacts: thin wrappers that take ids and call the services."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.contacts import touches
from sokyaku.contacts.imports import run
from sokyaku.core import lanes


@db_task(priority=lanes.BULK)
def import_run_task(job_id: int) -> None:
    """Run an import job (``imports.run.import_run``); safe to run twice."""
    run.import_run(job_id=job_id)


@db_task(priority=lanes.BULK)
def channel_rules_reapply() -> None:
    """Map every stored touch to a channel again (after campaigns' channel rules changed)."""
    touches.channel_rules_reapply()


@db_periodic_task(crontab(minute="*/5"), priority=lanes.TICK)
def import_sweep() -> None:
    """Run again the imports left queued or running: the queue only says "look now", so a lost
    queue item or a worker that stopped mid-file delays an import, never loses it."""
    for job_id in run.import_unfinished_ids():
        import_run_task(job_id)
