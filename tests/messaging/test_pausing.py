"""The sending kill switch and re-sending failed mail, against a real SMTP server: a paused
broadcast stops within one batch and nothing is lost; transactional mail is not paused; a sender
profile pauses and resumes; failed mail goes again with its Message-ID, consent checked again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import translation

from sokyaku.consent.models import ConsentStatus, Suppression, SuppressionReason
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.messaging.models import Message, MessageStatus, Stream
from sokyaku.messaging.services import broadcasts, delivery, pausing
from sokyaku.messaging.services.delivery import address_hash
from sokyaku.messaging.services.resend import messages_resend
from tests.messaging.content_helpers import person, sender, static_segment, template
from tests.messaging.engine_factories import message_make, sender_make, topic_make
from tests.messaging.smtp_sinks import ScriptedSink, free_port, sink_running, smtp_settings

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo


@pytest.fixture(autouse=True)
def _setup() -> Iterator[None]:
    delivery.domain_buckets.reset()
    with translation.override("en"), clock.frozen(NOW):
        yield
    delivery.domain_buckets.reset()


@pytest.fixture
def sink(settings: Any) -> Iterator[ScriptedSink]:
    with sink_running(ScriptedSink(port=free_port())) as running:
        smtp_settings(settings, running.port)
        yield running


def _started_newsletter(readers: int) -> list[int]:
    """A broadcast to ``readers`` subscribers, started: its queued messages' ids."""
    people = [person(family_name=f"読者{i}", email=f"r{i}@example.com") for i in range(readers)]
    for reader in people:
        consent_record(
            contact_id=reader.pk,
            topic=topic_make("newsletter"),
            status=ConsentStatus.GRANTED,
            legal_basis="opt_in",
            evidence=Evidence(source="form", source_detail="newsletter sign-up"),
        )
    broadcast = broadcasts.broadcast_create(
        name="6月号", template=template("ニュースレター"), sender=sender(),
        segment=static_segment("読者", people), topic_key="newsletter", actor=None,
    )  # fmt: skip
    broadcasts.broadcast_schedule(broadcast=broadcast, at=None, actor=None)
    broadcasts.broadcast_start(broadcast=broadcast)
    return list(Message.objects.filter(broadcast=broadcast).values_list("pk", flat=True))


def _statuses(ids: list[int]) -> list[str]:
    return sorted(Message.objects.filter(pk__in=ids).values_list("status", flat=True))


def test_a_pause_during_a_broadcast_stops_it_within_one_batch_and_resume_sends_the_rest(
    sink: ScriptedSink, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a broadcast of four batches of two
    settings.MAIL_BATCH = 2
    ids = _started_newsletter(8)
    finish = delivery._finish

    def pause_once_the_first_batch_is_sent(*args: Any) -> delivery.DeliveryReport:
        report = finish(*args)
        pausing.marketing_sending_pause(actor=None, reason="内容の誤りを確認中")
        return report

    monkeypatch.setattr(delivery, "_finish", pause_once_the_first_batch_is_sent)

    # when the broadcast is delivered and marketing sending is paused after its first batch
    delivery.messages_deliver(message_ids=ids)
    monkeypatch.setattr(delivery, "_finish", finish)

    # then at most one more batch went out; the rest waits, queued, nothing suppressed or failed
    sent = Message.objects.filter(pk__in=ids, status=MessageStatus.SENT).count()
    assert 2 <= sent <= 4
    assert _statuses(ids).count(MessageStatus.QUEUED) == 8 - sent
    assert len(sink.raw) == sent
    held = Message.objects.filter(pk__in=ids, status=MessageStatus.QUEUED)
    rendered = {m.pk: m.headers.get("Message-ID") for m in held}

    # a tick while paused sends nothing, even later
    with clock.frozen(NOW + timedelta(hours=1)):
        assert delivery.outbox_tick().sent == 0
    assert len(sink.raw) == sent

    # when sending is resumed, every held mail goes, once, with the Message-ID it had
    pausing.marketing_sending_resume(actor=None)
    delivery.outbox_tick()
    assert _statuses(ids) == [MessageStatus.SENT] * 8
    mails = sink.wait_for(8)
    assert sorted(m["To"] for m in mails) == sorted(f"r{i}@example.com" for i in range(8))
    by_id = {m.pk: m.headers["Message-ID"] for m in Message.objects.filter(pk__in=list(rendered))}
    assert all(by_id[pk] == mid for pk, mid in rendered.items() if mid)


def test_the_marketing_pause_does_not_hold_transactional_mail_or_internal_notices(
    sink: ScriptedSink,
) -> None:
    # given all marketing sending paused
    pausing.marketing_sending_pause(actor=None)
    newsletter = message_make()
    alert = message_make(stream=Stream.TRANSACTIONAL, topic_key="")

    # when both are delivered
    delivery.messages_deliver(message_ids=[newsletter.pk, alert.pk])

    # then the transactional mail went and the newsletter waits, queued
    assert Message.objects.get(pk=alert.pk).status == MessageStatus.SENT
    assert Message.objects.get(pk=newsletter.pk).status == MessageStatus.QUEUED
    assert [m["To"] for m in sink.wait_for(1)] == [alert.to_address]


def test_a_paused_sender_profile_holds_its_mail_and_its_resume_sends_it_at_once(
    sink: ScriptedSink,
) -> None:
    # given a sender profile paused by hand, and another one
    paused, other = sender_make(), sender_make()
    pausing.sender_profile_pause(profile=paused, actor=None, reason="DNS設定の確認")
    waiting, going = message_make(sender=paused), message_make(sender=other)

    # when both are delivered
    delivery.messages_deliver(message_ids=[waiting.pk, going.pk])

    # then the paused profile's mail waits with the reason; the other one went
    stored = Message.objects.get(pk=waiting.pk)
    assert stored.status == MessageStatus.QUEUED
    assert "DNS設定の確認" in stored.last_error
    assert Message.objects.get(pk=going.pk).status == MessageStatus.SENT

    # when the profile is resumed: its mail is due at once, not after the recheck interval
    assert pausing.sender_profile_resume(profile=paused, actor=None) == 1
    delivery.outbox_tick()
    assert Message.objects.get(pk=waiting.pk).status == MessageStatus.SENT
    assert len(sink.wait_for(2)) == 2


def test_a_sender_paused_while_its_batch_is_prepared_is_held_before_the_wire(
    sink: ScriptedSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a message whose profile is paused after the batch was checked and rendered
    profile = sender_make()
    message = message_make(sender=profile)
    prepare = delivery._prepare

    def pause_after_prepare(ids: Any) -> delivery._Batch:
        batch = prepare(ids)
        pausing.sender_profile_pause(profile=profile, actor=None, reason="苦情の確認")
        return batch

    monkeypatch.setattr(delivery, "_prepare", pause_after_prepare)

    delivery.messages_deliver(message_ids=[message.pk])

    stored = Message.objects.get(pk=message.pk)
    assert stored.status == MessageStatus.QUEUED
    assert stored.headers["Message-ID"]  # rendered once, kept for the later send
    assert sink.raw == []


def test_failed_mail_is_sent_again_with_its_message_id_after_a_relay_outage(
    sink: ScriptedSink,
) -> None:
    # given two mails the relay refused during an outage, and one that failed long before
    sink.data_replies.extend(["554 5.3.0 relay misconfigured"] * 2)
    failed = [message_make(), message_make()]
    delivery.messages_deliver(message_ids=[m.pk for m in failed])
    with clock.frozen(NOW - timedelta(days=3)):
        old = message_make()
        Message.objects.filter(pk=old.pk).update(status=MessageStatus.FAILED, failed_at=clock.now())
    before = {
        m.pk: m.headers["Message-ID"] for m in Message.objects.filter(pk__in=[f.pk for f in failed])
    }
    assert _statuses([m.pk for m in failed]) == [MessageStatus.FAILED] * 2

    # when the ones failed since the outage began are sent again
    queued = messages_resend(failed_since=NOW - timedelta(hours=1), actor=None)
    delivery.outbox_tick()

    # then they arrive with the Message-ID they had; the older failure is left alone
    assert queued == 2
    mails = sink.wait_for(2)
    assert sorted(m["Message-ID"] for m in mails) == sorted(before.values())
    assert _statuses([m.pk for m in failed]) == [MessageStatus.SENT] * 2
    assert Message.objects.get(pk=old.pk).status == MessageStatus.FAILED


def test_a_resent_mail_is_checked_again_and_a_suppressed_address_is_not_mailed(
    sink: ScriptedSink,
) -> None:
    # given a failed mail whose address was put on the suppression list since
    sink.data_replies.append("554 5.3.0 relay misconfigured")
    message = message_make()
    delivery.messages_deliver(message_ids=[message.pk])
    Suppression.objects.create(
        email_sha256=address_hash(message.to_address),
        reason=SuppressionReason.MANUAL,
        created_at=clock.now(),
    )

    # when it is chosen by id and sent again
    assert messages_resend(ids=[message.pk], actor=None) == 1
    delivery.outbox_tick()

    # then it is suppressed, not mailed
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SUPPRESSED
    assert sink.raw == []


def test_a_resend_without_any_choice_is_refused() -> None:
    with pytest.raises(ValidationError):
        messages_resend(actor=None)
