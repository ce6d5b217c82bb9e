"""Nothing lives only in the queue: with the worker stopped, a handoff is made and a deal won;
the queue's storage is then deleted and the worker starts. Within a minute the periodic tick
has sent both messages, once each (SQLite queue, and Redis when configured)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from huey.contrib.djhuey import HUEY

from sokyaku.core import clock
from sokyaku.webhooks.models import Delivery, DeliveryStatus
from tests.activity.test_lost_queue import _worker_minute, queue  # noqa: F401 - the fixture
from tests.sequences.factories import contact_make
from tests.webhooks.conftest import band_changed, subscribe

pytestmark = pytest.mark.django_db(transaction=True)

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)


def test_a_lost_queue_delays_the_messages_and_loses_none(
    queue,  # noqa: F811
    receiver,
):  # type: ignore[no-untyped-def]
    with clock.frozen(T0):
        # given a subscription and two contacts
        subscribe(receiver, "score.band_changed")
        first, second = contact_make(), contact_make()
        # when, with the worker stopped, both warm up
        queue.stop()
        band_changed(first.pk, "warm")
        band_changed(second.pk, "warm")
    # then nothing was sent, the work waits in the queue …
    assert HUEY.pending_count() > 0
    assert receiver.requests == []
    # … which is lost; the worker starts on an empty queue and runs for a minute
    queue.lose()
    assert HUEY.pending_count() == 0
    _worker_minute(T0 + timedelta(seconds=60))
    # then both messages went out, once each
    contacts = sorted(json.loads(r.body)["data"]["contact"]["id"] for r in receiver.requests)
    assert contacts == sorted([first.pk, second.pk])
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    # and another minute sends nothing again
    _worker_minute(T0 + timedelta(seconds=120))
    assert len(receiver.requests) == 2
