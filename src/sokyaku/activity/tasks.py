"""Background work of the event stream: the after-commit reactions (see ``listeners``).

- ``reactions_run_task``: one transaction's after-commit reactions, queued when it committed;
- ``reactions_catch_up_task``: every minute, what the queue lost or a failure left due.

Both are thin: the rows in ``PendingReaction`` are the truth, the queue only says "now".
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.activity import listeners
from sokyaku.core import lanes


# The reactions of a stored event (MQL rules → handoff → alert) are the hot path.
@db_task(priority=lanes.HOT)
def reactions_run_task(pending_id: int) -> None:
    """Run one transaction's after-commit reactions (safe to run twice)."""
    listeners.pending_run(pending_id=pending_id)


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def reactions_catch_up_task() -> None:
    """Every minute: the after-commit reactions whose queued run never came."""
    listeners.reactions_catch_up()
