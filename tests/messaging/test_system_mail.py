"""System mail through the outbox: one row per cause, transactional (no marketing consent needed,
never counted by the frequency cap), stopped by a hard bounce, retried with back-off under the
same Message-ID, sent as written with its text attachment, from the transactional profile or
``DEFAULT_FROM_EMAIL``. A real SMTP server receives it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.consent.models import Suppression, SuppressionReason
from sokyaku.core import clock
from sokyaku.messaging import tokens
from sokyaku.messaging.frequency import marketing_mails_on_day
from sokyaku.messaging.models import Message, MessageStatus, Stream, SystemMail
from sokyaku.messaging.services import delivery
from sokyaku.messaging.services.delivery import address_hash
from sokyaku.messaging.services.system_mail import TextAttachment, system_mail_enqueue
from tests.messaging.engine_factories import contact_make, sender_make
from tests.messaging.smtp_sinks import ScriptedSink, free_port, sink_running, smtp_settings

pytestmark = pytest.mark.django_db

BODY = "山田 太郎 様\n\n資料は以下のリンクからダウンロードいただけます。\n\nhttps://sokyaku.example/a/tok.en\n"


@pytest.fixture(autouse=True)
def _fresh_buckets() -> Iterator[None]:
    delivery.domain_buckets.reset()
    yield
    delivery.domain_buckets.reset()


@pytest.fixture
def sink(settings) -> Iterator[ScriptedSink]:  # type: ignore[no-untyped-def]
    with sink_running(ScriptedSink(port=free_port())) as running:
        smtp_settings(settings, running.port)
        yield running


def _queue(contact, key: str = "sys:asset:1:1", **extra) -> Message:  # type: ignore[no-untyped-def]
    message, _created = system_mail_enqueue(
        kind=SystemMail.ASSET_LINK,
        dedupe_key=key,
        contact=contact,
        to_address=contact.email,
        subject="資料ダウンロード：2026年版 マーケティング白書",
        text=BODY,
        **extra,
    )
    return message


def test_one_row_per_cause():
    contact = contact_make()

    first, created = system_mail_enqueue(
        kind=SystemMail.ASSET_LINK,
        dedupe_key="sys:asset:7:3",
        contact=contact,
        to_address=contact.email,
        subject="件名",
        text="本文",
    )
    again, created_again = system_mail_enqueue(
        kind=SystemMail.ASSET_LINK,
        dedupe_key="sys:asset:7:3",
        contact=contact,
        to_address=contact.email,
        subject="件名",
        text="本文",
    )

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Message.objects.count() == 1


def test_it_goes_without_marketing_consent_as_written_and_untracked(sink):
    # given a person who gave no marketing consent (no consent record at all)
    contact = contact_make(consent=False, email="nocons@example.jp")
    message = _queue(contact)

    report = delivery.outbox_tick()

    assert report.sent == 1
    [mail] = sink.wait_for(1)
    assert mail["Subject"] == "資料ダウンロード：2026年版 マーケティング白書"
    assert mail.get_content_type() == "text/plain"
    # the link as it is: no click tracking, no footer (lines end in CRLF on the wire)
    assert mail.get_content().replace("\r\n", "\n") == BODY
    assert "List-Unsubscribe" not in mail
    stored = Message.objects.get(pk=message.pk)
    assert (stored.status, stored.stream) == (MessageStatus.SENT, Stream.TRANSACTIONAL)
    assert not stored.links.exists()
    # and the contact's timeline says which mail it was
    event = Event.objects.get(type=EventType.EMAIL_SENT, contact=contact)
    assert event.properties["mail_kind"] == SystemMail.ASSET_LINK


def test_the_frequency_cap_does_not_count_it():
    contact = contact_make()
    _queue(contact)

    assert marketing_mails_on_day(contact_ids=[contact.pk], at=clock.now()) == {contact.pk: 0}


def test_a_hard_bounced_address_gets_nothing(sink):
    contact = contact_make(email="gone@example.jp")
    Suppression.objects.create(
        email_sha256=address_hash(contact.email),
        reason=SuppressionReason.HARD_BOUNCE,
        created_at=clock.now(),
    )
    message = _queue(contact)

    delivery.outbox_tick()

    stored = Message.objects.get(pk=message.pk)
    assert stored.status == MessageStatus.SUPPRESSED
    assert "suppression list" in stored.suppressed_reason
    assert sink.raw == []


def test_a_4xx_is_retried_with_backoff_under_the_same_message_id(sink):
    sink.data_replies.append("451 4.3.0 Try again later")
    message = _queue(contact_make())

    delivery.outbox_tick()
    deferred = Message.objects.get(pk=message.pk)
    assert deferred.status == MessageStatus.QUEUED
    assert deferred.next_attempt_at is not None
    assert deferred.next_attempt_at > clock.now()
    assert delivery.outbox_tick().handled == 0

    with clock.frozen(deferred.next_attempt_at + timedelta(seconds=1)):
        delivery.outbox_tick()

    [mail] = sink.wait_for(1)
    assert mail["Message-ID"] == tokens.message_id_header(message.pk)
    assert Message.objects.get(pk=message.pk).attempts == 2


def test_without_a_transactional_profile_it_comes_from_default_from_email(sink, settings):
    settings.DEFAULT_FROM_EMAIL = "株式会社サンプル <noreply@sample.example>"
    _queue(contact_make())

    delivery.outbox_tick()

    [mail] = sink.wait_for(1)
    assert mail["From"].addresses[0].addr_spec == "noreply@sample.example"
    assert mail["From"].addresses[0].display_name == "株式会社サンプル"


def test_the_default_transactional_profile_sends_it_when_there_is_one(sink):
    sender_make(stream=Stream.TRANSACTIONAL, is_default=True, from_email="sales@sample.example")
    _queue(contact_make())

    delivery.outbox_tick()

    [mail] = sink.wait_for(1)
    assert mail["From"].addresses[0].addr_spec == "sales@sample.example"


def test_a_text_attachment_arrives_as_a_file(sink):
    ics = "BEGIN:VCALENDAR\r\nSUMMARY:MA活用セミナー\r\nEND:VCALENDAR\r\n"
    _queue(
        contact_make(),
        attachments=[
            TextAttachment(
                filename="invite.ics",
                content_type="text/calendar",
                text=ics,
                params={"method": "PUBLISH"},
            )
        ],
    )

    delivery.outbox_tick()

    [mail] = sink.wait_for(1)
    assert mail.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n") == BODY
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_content() == ics


def test_an_unknown_kind_is_refused():
    contact = contact_make()
    with pytest.raises(ValueError, match="Unknown system mail"):
        system_mail_enqueue(
            kind="newsletter",
            dedupe_key="sys:x",
            contact=contact,
            to_address=contact.email,
            subject="s",
            text="t",
        )
