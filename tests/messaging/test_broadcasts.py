"""Broadcasts: one message per member, once; scheduling, due starts, cancelling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import translation

from sokyaku.consent.models import ConsentStatus, Suppression, SuppressionReason
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.messaging.models import BroadcastStatus, Message, MessageStatus, Stream
from sokyaku.messaging.services import broadcasts
from sokyaku.messaging.services.delivery import address_hash
from sokyaku.messaging.services.frequency import frequency_cap_update
from sokyaku.messaging.services.outbox import message_enqueue
from tests.messaging.content_helpers import person, sender, static_segment, template
from tests.messaging.engine_factories import topic_make

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


@pytest.fixture(autouse=True)
def _setup() -> Iterator[None]:
    with translation.override("en"), clock.frozen(NOW):
        yield


def _consent(contact, status: str = ConsentStatus.GRANTED) -> None:  # type: ignore[no-untyped-def]
    consent_record(
        contact_id=contact.pk,
        topic=topic_make("newsletter"),
        status=status,
        legal_basis="opt_in",
        evidence=Evidence(source="form", source_detail="newsletter sign-up"),
    )


def newsletter(members: int = 3, *, without_email: int = 0, extra=()):  # type: ignore[no-untyped-def]
    """A broadcast to ``members`` readers who subscribed to the newsletter, plus ``extra``."""
    people = [person(family_name=f"読者{i}", email=f"r{i}@example.com") for i in range(members)]
    for reader in people:
        _consent(reader)
    people += [
        person(family_name=f"名刺{i}", phone=f"03-1234-00{i:02d}") for i in range(without_email)
    ]
    people += list(extra)
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


def _the_ones_left_out():  # type: ignore[no-untyped-def]
    """A member without consent, one who opted out, one on the suppression list, and one who
    already got a marketing mail today."""
    never_asked = person(family_name="未同意", email="never@example.com")
    opted_out = person(family_name="停止", email="stop@example.com")
    _consent(opted_out)
    _consent(opted_out, ConsentStatus.WITHDRAWN)
    bounced = person(family_name="不達", email="bounced@example.com")
    _consent(bounced)
    Suppression.objects.create(
        email_sha256=address_hash("bounced@example.com"),
        reason=SuppressionReason.HARD_BOUNCE,
        created_at=NOW,
    )
    mailed = person(family_name="配信済", email="mailed@example.com")
    _consent(mailed)
    message_enqueue(dedupe_key="seq:today", contact=mailed, topic_key="newsletter")
    return [never_asked, opted_out, bounced, mailed]


def test_the_count_is_who_will_really_receive_it_and_starting_queues_exactly_them() -> None:
    # given 3 subscribers, 1 card without an email, and 4 members who must not get it today
    broadcast = newsletter(3, without_email=1, extra=_the_ones_left_out())

    # when the marketer looks at the broadcast
    audience = broadcasts.broadcast_audience(broadcast=broadcast)

    # then it counts the 3 subscribers and says why the others are left out
    assert audience.count == 3
    assert (audience.members, audience.no_email, audience.refused, audience.capped) == (
        8, 1, 3, 1,
    )  # fmt: skip
    # and sending queues the same 3 people
    broadcasts.broadcast_schedule(broadcast=broadcast, at=None, actor=None)
    assert broadcasts.broadcast_start(broadcast=broadcast) == 3
    queued = Message.objects.filter(broadcast=broadcast)
    assert sorted(m.to_address for m in queued) == [
        "r0@example.com", "r1@example.com", "r2@example.com",
    ]  # fmt: skip


def test_without_a_cap_for_broadcasts_the_contact_mailed_today_gets_it_too() -> None:
    frequency_cap_update(per_day=1, sequences=True, broadcasts=False, actor=None)
    broadcast = newsletter(3, extra=_the_ones_left_out())

    assert broadcasts.broadcast_audience(broadcast=broadcast).count == 4


def test_a_sender_without_legal_items_reaches_nobody() -> None:
    broadcast = newsletter(2)
    broadcast.sender.postal_address = ""
    broadcast.sender.save(update_fields=["postal_address"])

    audience = broadcasts.broadcast_audience(broadcast=broadcast)

    assert (audience.count, audience.sender_incomplete) == (0, True)
