"""Background work of sequences: thin wrappers that take ids and call a service.

- ``sequences_advance_task``: run the enrolments that just became due (mail 1 "at once");
- ``sequences_tick_task``: every minute, advance every due enrolment (the durable schedule).
All are safe to run twice: enrolment, exits and steps are idempotent.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.core import lanes


@db_task(retries=3, retry_delay=10, priority=lanes.HOT)
def sequences_advance_task(enrollment_ids: list[int]) -> None:
    from sokyaku.sequences.services import tick

    tick.sequences_tick(enrollment_ids=enrollment_ids)


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def sequences_tick_task() -> None:
    from sokyaku.sequences.services import tick

    tick.sequences_tick()
