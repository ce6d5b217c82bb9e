"""Broadcasts: one message per member, once; scheduling, due starts, cancelling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.messaging.models import BroadcastStatus, Message, MessageStatus, Stream
from sokyaku.messaging.services import broadcasts
from tests.messaging.content_helpers import person, sender, static_segment, template

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


@pytest.fixture(autouse=True)
def _setup() -> Iterator[None]:
    with translation.override("en"), clock.frozen(NOW):
        yield


def newsletter(members: int = 3, *, without_email: int = 0):  # type: ignore[no-untyped-def]
    people = [person(family_name=f"読者{i}", email=f"r{i}@example.com") for i in range(members)]
    people += [
        person(family_name=f"名刺{i}", phone=f"03-1234-00{i:02d}") for i in range(without_email)
    ]
    return broadcasts.broadcast_create(
        name="6月号", template=template("ニュースレター"), sender=sender(),
        segment=static_segment("読者", people), topic_key="newsletter", actor=None,
    )  # fmt: skip


def test_starting_queues_one_marketing_message_per_member_with_an_email() -> None:
    broadcast = newsletter(3, without_email=1)
    broadcasts.broadcast_schedule(broadcast=broadcast, at=None, actor=None)

    created = broadcasts.broadcast_start(broadcast=broadcast)

    broadcast.refresh_from_db()
    rows = Message.objects.filter(broadcast=broadcast)
    assert created == 3 and rows.count() == 3
    assert broadcast.status == BroadcastStatus.SENDING and broadcast.recipients == 3
    assert {m.stream for m in rows} == {Stream.MARKETING}
    assert {m.topic_key for m in rows} == {"newsletter"}
    assert {m.dedupe_key for m in rows} == {f"bc:{broadcast.pk}:{m.contact_id}" for m in rows}


def test_starting_twice_queues_nobody_twice() -> None:
    broadcast = newsletter(3)
    broadcasts.broadcast_schedule(broadcast=broadcast, at=None, actor=None)
    broadcasts.broadcast_start(broadcast=broadcast)
    broadcast.status = (
        BroadcastStatus.SCHEDULED
    )  # as if a second worker read it before the first finished
    broadcast.save(update_fields=["status"])

    again = broadcasts.broadcast_start(broadcast=broadcast)

    assert again == 0
    assert Message.objects.filter(broadcast=broadcast).count() == 3


def test_a_draft_is_not_started() -> None:
    broadcast = newsletter(2)

    assert broadcasts.broadcast_start(broadcast=broadcast) == 0
    assert not Message.objects.exists()


def test_a_scheduled_broadcast_starts_when_its_time_comes() -> None:
    broadcast = newsletter(2)
    broadcasts.broadcast_schedule(broadcast=broadcast, at=NOW + timedelta(hours=2), actor=None)

    early = broadcasts.broadcasts_start_due()
    clock.advance(timedelta(hours=2))
    due = broadcasts.broadcasts_start_due()

    assert (early, due) == (0, 1)
    assert Message.objects.filter(broadcast=broadcast).count() == 2


def test_a_time_in_the_past_is_refused() -> None:
    with pytest.raises(ValidationError):
        broadcasts.broadcast_schedule(
            broadcast=newsletter(1), at=NOW - timedelta(minutes=1), actor=None
        )


def test_cancelling_while_sending_suppresses_what_is_still_queued() -> None:
    broadcast = newsletter(2)
    broadcasts.broadcast_schedule(broadcast=broadcast, at=None, actor=None)
    broadcasts.broadcast_start(broadcast=broadcast)

    broadcasts.broadcast_cancel(broadcast=broadcast, actor=None)

    broadcast.refresh_from_db()
    assert broadcast.status == BroadcastStatus.CANCELLED
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SUPPRESSED}


def test_a_cancelled_broadcast_cannot_be_scheduled() -> None:
    broadcast = newsletter(1)
    broadcasts.broadcast_cancel(broadcast=broadcast, actor=None)

    with pytest.raises(Conflict):
        broadcasts.broadcast_schedule(broadcast=broadcast, at=None, actor=None)


def test_a_broadcast_is_sent_once_nothing_waits() -> None:
    broadcast = newsletter(1)
    broadcasts.broadcast_schedule(broadcast=broadcast, at=None, actor=None)
    broadcasts.broadcast_start(broadcast=broadcast)
    waiting = broadcasts.broadcasts_finish()
    Message.objects.filter(broadcast=broadcast).update(status=MessageStatus.SENT)

    finished = broadcasts.broadcasts_finish()

    broadcast.refresh_from_db()
    assert (waiting, finished) == (0, 1)
    assert broadcast.status == BroadcastStatus.SENT


def test_a_transactional_sender_cannot_send_a_newsletter() -> None:
    with pytest.raises(ValidationError) as caught:
        broadcasts.broadcast_create(
            name="x", template=template(), sender=sender(stream=Stream.TRANSACTIONAL),
            segment=static_segment("s", []), topic_key="newsletter", actor=None,
        )  # fmt: skip

    assert "sender" in caught.value.field_errors


def test_the_estimate_counts_members_with_an_email() -> None:
    broadcast = newsletter(2, without_email=2)

    assert broadcasts.broadcast_recipient_estimate(broadcast=broadcast) == 2
