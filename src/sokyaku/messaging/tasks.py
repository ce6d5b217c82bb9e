"""Messaging tasks: deliver queued messages (and the periodic outbox tick that finds what a
lost queue item left behind)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from sokyaku.core import lanes


# Delivery is on the send lane: a sales alert must not wait behind bulk work, nor behind the
# evaluations of a burst of submissions. A broadcast queues its own deliveries on the bulk lane
# (``outbox.deliver_after_commit``).
@db_task(priority=lanes.SEND)
def messages_deliver(message_ids: list[int]) -> None:
    """Send these queued messages now (scheduled after the commit that queued them)."""
    from sokyaku.messaging.services import delivery

    delivery.messages_deliver(message_ids=message_ids)


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def outbox_tick() -> None:
    """Every minute: deliver what is due (retries, waits, a crashed worker's leased rows)."""
    from sokyaku.messaging.services import delivery

    delivery.outbox_tick()


@db_task(priority=lanes.TICK)
def outbox_drain() -> None:
    """The same as the periodic tick, on demand (``sokyaku`` CLI, tests, after a restart)."""
    from sokyaku.messaging.services import delivery

    delivery.outbox_tick()


@db_task(priority=lanes.BULK)
def broadcast_start_task(broadcast_id: int) -> None:
    """Start one broadcast now (after an immediate schedule); a no-op unless it is due."""
    from sokyaku.messaging.models import Broadcast
    from sokyaku.messaging.services import broadcasts

    broadcast = Broadcast.objects.filter(pk=broadcast_id).first()
    if broadcast is not None:
        broadcasts.broadcast_start(broadcast=broadcast)


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def broadcasts_tick() -> None:
    """Every minute: start the scheduled broadcasts that are due, mark finished ones sent."""
    from sokyaku.messaging.services import broadcasts

    broadcasts.broadcasts_start_due()
    broadcasts.broadcasts_finish()


@db_periodic_task(crontab(minute="*"), priority=lanes.TICK)
def bounce_mailbox_poll() -> None:
    """Every minute, when ``SOKYAKU_BOUNCE_MAILDIR`` is set: read DSNs and complaints."""
    from django.conf import settings

    if not settings.BOUNCE_MAILDIR:
        return
    from sokyaku.messaging.services import bounces

    bounces.bounce_mailbox_poll()
