"""Messaging tasks: deliver queued messages (and the periodic outbox tick that finds what a
lost queue item left behind)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task()
def messages_deliver(message_ids: list[int]) -> None:
    from sokyaku.messaging.services import delivery

    delivery.messages_deliver(message_ids=message_ids)
