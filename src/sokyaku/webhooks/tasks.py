"""Webhook tasks: send the deliveries a commit wrote, and the periodic tick that sends what is
due (retries, and whatever a lost queue item left)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.core import lanes


# On the send lane: another system waits for these second by second, like a sales alert.
@db_task(priority=lanes.SEND)
def deliveries_send(delivery_ids: list[int]) -> None:
    """Send these deliveries now (scheduled after the commit that wrote them)."""
    from sokyaku.webhooks.services import sending

    sending.deliveries_send(delivery_ids=delivery_ids)


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def webhooks_tick() -> None:
    """Every minute: send the deliveries that are due (retries, lost queue items, leases of a
    crashed worker)."""
    from sokyaku.webhooks.services import sending

    sending.webhooks_tick()
