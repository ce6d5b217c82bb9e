"""The sending engine against a real SMTP server (aiosmtpd): headers, encoding, DKIM, checks at
the moment of sending, retries, an SMTP server that is down, hard bounces, rate limits."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import dkim
import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.consent.models import ConsentStatus, Suppression, SuppressionReason
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.core import clock
from sokyaku.messaging import tokens
from sokyaku.messaging.models import Message, MessageLink, MessageStatus, Stream
from sokyaku.messaging.services import delivery
from sokyaku.messaging.services.delivery import address_hash
from tests.messaging.engine_factories import contact_make, message_make, sender_make
from tests.messaging.smtp_sinks import ScriptedSink, free_port, sink_running, smtp_settings

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


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


def _reload(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def test_a_marketing_mail_arrives_with_one_click_headers_and_intact_japanese(sink):
    # given a consenting contact and a complete marketing sender
    contact = contact_make(family_name="髙橋", email="takahashi@example.jp")
    message = message_make(contact=contact)

    # when the engine delivers it
    report = delivery.messages_deliver(message_ids=[message.pk])

    # then one mail arrives, in UTF-8, with the RFC 8058 headers and the row's Message-ID
    assert report.sent == 1
    [mail] = sink.wait_for(1)
    assert mail["Subject"] == "髙橋様 資料ダウンロードのお礼"
    assert mail["Message-ID"] == tokens.message_id_header(message.pk)
    unsubscribe = mail["List-Unsubscribe"]
    assert f"<{tokens.unsubscribe_url(message.pk)}>" in unsubscribe
    assert "<mailto:unsubscribe+" in unsubscribe
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "株式会社サンプル" in str(mail["From"])
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert "資料のご請求ありがとうございます" in text
    assert "髙橋様" in html
    assert "東京都千代田区丸の内1-1-1" in text
    stored = _reload(message)
    assert stored.status == MessageStatus.SENT
    assert stored.sent_at is not None
    assert stored.headers["Message-ID"] == mail["Message-ID"]
    assert Event.objects.filter(
        type=EventType.EMAIL_SENT, contact=contact, properties__message_id=message.pk
    ).exists()


def test_links_of_the_sent_mail_are_stored_in_order(sink):
    message = message_make()

    delivery.messages_deliver(message_ids=[message.pk])

    urls = list(
        MessageLink.objects.filter(message=message)
        .order_by("position")
        .values_list("url", flat=True)
    )
    assert urls == ["https://sample.example/case-study", "https://sample.example/demo"]
    html = sink.wait_for(1)[0].get_body(preferencelist=("html",)).get_content()
    assert tokens.click_url(message.pk, 1) in html
    assert "https://sample.example/demo" not in html


def test_transactional_mail_has_no_unsubscribe_headers(sink):
    contact = contact_make(consent=False)
    message = message_make(contact=contact, stream=Stream.TRANSACTIONAL, topic_key="")

    delivery.messages_deliver(message_ids=[message.pk])

    [mail] = sink.wait_for(1)
    assert mail["List-Unsubscribe"] is None
    assert _reload(message).status == MessageStatus.SENT


def test_dkim_signature_covers_both_unsubscribe_headers_and_verifies(
    sink, settings, tmp_path: Path
):
    # given a DKIM key (generated for this test) and its public key as the DNS record
    key_file = tmp_path / "dkim.pem"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(key_file), "2048"], check=True, capture_output=True
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key_file), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    settings.DKIM_KEY_FILE, settings.DKIM_SELECTOR, settings.DKIM_DOMAIN = (
        str(key_file),
        "s1",
        "sample.example",
    )
    message = message_make()

    # when it is sent
    delivery.messages_deliver(message_ids=[message.pk])

    # then the received bytes verify and the signature names both RFC 8058 headers
    sink.wait_for(1)
    raw = sink.raw[0]
    signature = raw.split(b"DKIM-Signature:", 1)[1].split(b"\r\n\r\n", 1)[0]
    assert (
        b"list-unsubscribe:list-unsubscribe-post"
        in signature.replace(b"\r\n", b"").replace(b" ", b"").lower()
    )
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record) is True


def test_no_consent_suppresses_with_a_reason_and_sends_nothing(sink):
    message = message_make(contact=contact_make(consent=False))

    report = delivery.messages_deliver(message_ids=[message.pk])

    stored = _reload(message)
    assert report.suppressed == 1
    assert stored.status == MessageStatus.SUPPRESSED
    assert "No consent or legal basis" in stored.suppressed_reason
    assert sink.raw == []


def test_an_opt_out_after_queueing_is_respected_at_the_moment_of_sending(sink):
    contact = contact_make()
    message = message_make(contact=contact)
    consent_record(
        contact_id=contact.pk,
        topic=None,
        status=ConsentStatus.WITHDRAWN,
        evidence=Evidence(source="ui"),
    )

    delivery.messages_deliver(message_ids=[message.pk])

    assert _reload(message).status == MessageStatus.SUPPRESSED
    assert sink.raw == []


def test_a_suppressed_address_is_not_mailed(sink):
    contact = contact_make(email="Gone@Example.JP")
    Suppression.objects.create(
        email_sha256=address_hash("gone@example.jp"),
        reason=SuppressionReason.HARD_BOUNCE,
        created_at=clock.now(),
    )
    message = message_make(contact=contact)

    delivery.messages_deliver(message_ids=[message.pk])

    stored = _reload(message)
    assert stored.status == MessageStatus.SUPPRESSED
    assert "suppression list" in stored.suppressed_reason
    assert sink.raw == []


def test_an_incomplete_sender_profile_cannot_send_marketing_mail(sink):
    message = message_make(sender=sender_make(complete=False))

    delivery.messages_deliver(message_ids=[message.pk])

    stored = _reload(message)
    assert stored.status == MessageStatus.SUPPRESSED
    assert "incomplete" in stored.suppressed_reason
    assert "postal address" in stored.suppressed_reason
    assert sink.raw == []


def test_a_paused_sender_makes_messages_wait_not_disappear(sink):
    sender = sender_make(paused_at=clock.now(), pause_reason="complaint rate 0.5%")
    message = message_make(sender=sender)

    delivery.messages_deliver(message_ids=[message.pk])
    stored = _reload(message)
    assert stored.status == MessageStatus.QUEUED
    assert "paused" in stored.last_error

    # when the profile is resumed and the tick comes by later
    type(sender).objects.filter(pk=sender.pk).update(paused_at=None, pause_reason="")
    clock_advance = delivery.PAUSED_RECHECK + timedelta(seconds=1)
    with clock.frozen(clock.now() + clock_advance):
        delivery.outbox_tick()

    assert _reload(message).status == MessageStatus.SENT
    assert len(sink.wait_for(1)) == 1


def test_4xx_is_retried_with_backoff_and_the_same_message_id(sink):
    # given a server that answers 451 to the first DATA
    sink.data_replies.append("451 4.3.0 Try again later")
    message = message_make()

    # when delivered: the first attempt is deferred
    first = delivery.messages_deliver(message_ids=[message.pk])
    deferred = _reload(message)
    assert first.retrying == 1
    assert deferred.status == MessageStatus.QUEUED
    assert deferred.attempts == 1
    assert "451" in deferred.last_error
    assert deferred.next_attempt_at is not None
    assert deferred.next_attempt_at > clock.now()

    # a tick before the backoff does nothing; after it, the mail goes with the same Message-ID
    assert delivery.outbox_tick().handled == 0
    with clock.frozen(deferred.next_attempt_at + timedelta(seconds=1)):
        delivery.outbox_tick()
    [mail] = sink.wait_for(1)
    sent = _reload(message)
    assert sent.status == MessageStatus.SENT
    assert sent.attempts == 2
    assert (
        mail["Message-ID"] == deferred.headers["Message-ID"] == tokens.message_id_header(message.pk)
    )
    assert mail["Date"] == deferred.headers["Date"]


def test_4xx_forever_fails_after_the_last_attempt(sink, settings):
    settings.MAIL_MAX_ATTEMPTS = 2
    sink.data_replies.extend(["451 busy", "452 busy"])
    message = message_make()

    delivery.messages_deliver(message_ids=[message.pk])
    with clock.frozen(clock.now() + timedelta(minutes=5)):
        delivery.outbox_tick()

    stored = _reload(message)
    assert stored.status == MessageStatus.FAILED
    assert "452" in stored.last_error


def test_smtp_down_then_up_delivers_everything_exactly_once(settings):
    # given a server that is down
    port = free_port()
    smtp_settings(settings, port)
    messages = [message_make() for _ in range(5)]

    report = delivery.messages_deliver(message_ids=[m.pk for m in messages])

    # then nothing is lost: every message waits with the reason
    assert report.waiting == 5
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.QUEUED}
    assert "unreachable" in Message.objects.first().last_error  # type: ignore[union-attr]

    # when the server comes up and the tick runs after the backoff (twice, to show no repeats)
    with sink_running(ScriptedSink(port=port)) as sink:
        with clock.frozen(clock.now() + timedelta(minutes=2)):
            delivery.outbox_tick()
            delivery.outbox_tick()
        received = sink.wait_for(5)

    ids = [mail["Message-ID"] for mail in received]
    assert sorted(ids) == sorted(tokens.message_id_header(m.pk) for m in messages)
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_5xx_at_rcpt_is_a_hard_bounce_that_suppresses_the_address(sink):
    contact = contact_make(email="nobody@example.jp")
    sink.reject.add("nobody@example.jp")
    message = message_make(contact=contact)

    delivery.messages_deliver(message_ids=[message.pk])

    stored = _reload(message)
    assert stored.status == MessageStatus.FAILED
    assert stored.bounced_at is not None
    assert Suppression.objects.filter(
        email_sha256=address_hash("nobody@example.jp"), reason=SuppressionReason.HARD_BOUNCE
    ).exists()
    assert Event.objects.filter(type=EventType.EMAIL_BOUNCED, contact=contact).exists()


def test_a_claimed_row_is_not_claimed_again_until_its_lease_ends(sink):
    message = message_make()

    assert delivery.messages_claim(ids=[message.pk]) == [message.pk]
    assert delivery.messages_claim(ids=[message.pk]) == []
    assert delivery.messages_claim() == []

    with clock.frozen(clock.now() + timedelta(hours=1)):
        assert delivery.messages_claim() == [message.pk]


def test_per_domain_rate_limit_defers_the_rest(sink, settings):
    settings.MAIL_DOMAIN_RATE = 2
    messages = [message_make(contact=contact_make(email=f"p{i}@busy.example")) for i in range(3)]

    report = delivery.messages_deliver(message_ids=[m.pk for m in messages])

    assert report.sent == 2
    assert report.waiting == 1
    assert len(sink.wait_for(2)) == 2
    with clock.frozen(clock.now() + timedelta(minutes=1)):
        delivery.outbox_tick()
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


def test_several_connections_send_a_batch_once_each(sink, settings):
    settings.MAIL_CONNECTIONS = 3
    messages = [message_make() for _ in range(12)]

    report = delivery.messages_deliver(message_ids=[m.pk for m in messages])

    assert report.sent == 12
    received = sink.wait_for(12)
    assert len({mail["Message-ID"] for mail in received}) == 12


def test_without_smtp_the_local_sink_keeps_an_eml_per_message(settings, tmp_path: Path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "outbox")
    message = message_make()

    delivery.messages_deliver(message_ids=[message.pk])

    eml = (tmp_path / "outbox" / f"{message.pk}.eml").read_bytes()
    assert tokens.message_id_header(message.pk).encode() in eml
    assert _reload(message).status == MessageStatus.SENT
