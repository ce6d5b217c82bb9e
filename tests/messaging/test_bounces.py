"""Bounces (DSN via flufl.bounce), complaints (ARF) and mailed opt-outs → suppression, events,
and the automatic pause of a sender profile whose complaint rate passes its threshold."""

from __future__ import annotations

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.consent.models import Suppression, SuppressionReason
from sokyaku.consent.selectors import may_send
from sokyaku.core import clock
from sokyaku.messaging import tokens
from sokyaku.messaging.models import Message, MessageStatus, SenderProfile
from sokyaku.messaging.services import bounces, delivery
from sokyaku.messaging.services.delivery import address_hash
from tests.messaging.engine_factories import contact_make, message_make, sender_make

pytestmark = pytest.mark.django_db


def _sent(**kwargs) -> Message:  # type: ignore[no-untyped-def]
    message = message_make(**kwargs)
    delivery.messages_deliver(message_ids=[message.pk])
    return Message.objects.get(pk=message.pk)


def _dsn(
    recipient: str, message_id: str, *, action: str = "failed", status: str = "5.1.1"
) -> bytes:
    """A DSN as Postfix writes it (RFC 3464: multipart/report, message/delivery-status)."""
    return (
        "From: MAILER-DAEMON@mx.example.jp\r\n"
        "To: info@sample.example\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\n"
        "Content-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "\r\n--B\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.jp\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\n"
        f"Status: {status}\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--B\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nTo: {recipient}\r\nSubject: x\r\n"
        "\r\n--B--\r\n"
    ).encode()


def _arf(message_id: str) -> bytes:
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "feedback@fbl.example"
    report["Subject"] = "Abuse report"
    report.attach(MIMEText("This is an abuse report.", "plain"))
    report.attach(
        MIMEText("Feedback-Type: abuse\nUser-Agent: fbl/1.0\nVersion: 1\n", "feedback-report")
    )
    report.attach(MIMEText(f"Message-ID: {message_id}\nSubject: x\n\n", "rfc822-headers"))
    return report.as_bytes()


def test_a_hard_bounce_dsn_suppresses_the_address_and_marks_the_message():
    contact = contact_make(email="gone@example.jp")
    message = _sent(contact=contact)

    result = bounces.bounce_process(
        raw=_dsn("gone@example.jp", tokens.message_id_header(message.pk))
    )

    assert result.kind == "hard"
    assert result.message_id == message.pk
    assert Message.objects.get(pk=message.pk).bounced_at is not None
    assert (
        Suppression.objects.get(email_sha256=address_hash("gone@example.jp")).reason
        == SuppressionReason.HARD_BOUNCE
    )
    assert Event.objects.filter(
        type=EventType.EMAIL_BOUNCED, contact=contact, properties__kind="hard"
    ).exists()
    # and the next mail to that address is not sent
    later = message_make(contact=contact)
    delivery.messages_deliver(message_ids=[later.pk])
    assert Message.objects.get(pk=later.pk).status == MessageStatus.SUPPRESSED


def test_a_forged_message_id_falls_back_to_the_recipient():
    message = _sent(contact=contact_make(email="gone2@example.jp"))
    forged = f"<m{message.pk + 1000}.AAAAAAAAAAAAAAAA@{tokens.mail_domain()}>"

    result = bounces.bounce_process(raw=_dsn("gone2@example.jp", forged))

    assert result.message_id == message.pk


def test_a_delayed_dsn_is_soft_and_suppresses_nothing():
    message = _sent(contact=contact_make(email="slow@example.jp"))

    result = bounces.bounce_process(
        raw=_dsn(
            "slow@example.jp",
            tokens.message_id_header(message.pk),
            action="delayed",
            status="4.4.1",
        )
    )

    assert result.kind == "soft"
    assert not Suppression.objects.exists()


def test_a_complaint_suppresses_opts_out_and_records_the_event():
    message = _sent()

    result = bounces.bounce_process(raw=_arf(tokens.message_id_header(message.pk)))

    assert result.kind == "complaint"
    stored = Message.objects.get(pk=message.pk)
    assert stored.complained_at is not None
    assert Suppression.objects.get().reason == SuppressionReason.COMPLAINT
    assert not may_send(contact_id=stored.contact_id, topic_key="newsletter")  # type: ignore[arg-type]
    assert Event.objects.filter(type=EventType.EMAIL_COMPLAINED).count() == 1


def test_complaints_past_the_threshold_pause_the_sender_and_its_mail_waits(settings):
    # given a profile that sent 4 mails (minimum volume 4), threshold 20 %
    settings.MAIL_COMPLAINT_MIN_VOLUME = 4
    sender = sender_make(complaint_threshold=0.2)
    sent = [_sent(sender=sender) for _ in range(4)]

    # when one of four complains (25 %)
    bounces.bounce_process(raw=_arf(tokens.message_id_header(sent[0].pk)))

    # then the profile is paused with the reason, and its next message waits
    paused = SenderProfile.objects.get(pk=sender.pk)
    assert paused.paused_at is not None
    assert "25.00%" in paused.pause_reason
    waiting = message_make(sender=paused)
    delivery.messages_deliver(message_ids=[waiting.pk])
    stored = Message.objects.get(pk=waiting.pk)
    assert stored.status == MessageStatus.QUEUED
    assert "paused" in stored.last_error


def test_a_mail_to_the_mailto_unsubscribe_address_opts_out():
    message = _sent()
    token = tokens.token_make(tokens.UNSUBSCRIBE, message.pk)
    mail = MIMEText("unsubscribe")
    mail["To"] = f"unsubscribe+{token}@{tokens.mail_domain()}"
    mail["From"] = "person@example.jp"

    result = bounces.bounce_process(raw=mail.as_bytes())

    assert result.kind == "unsubscribe"
    assert not may_send(contact_id=message.contact_id, topic_key="newsletter")  # type: ignore[arg-type]


def test_the_bounce_maildir_is_read_and_emptied(tmp_path: Path):
    import mailbox

    message = _sent(contact=contact_make(email="gone3@example.jp"))
    box = mailbox.Maildir(tmp_path / "bounces")
    box.add(_dsn("gone3@example.jp", tokens.message_id_header(message.pk)))

    done = bounces.bounce_mailbox_poll(path=str(tmp_path / "bounces"))

    assert done == 1
    assert len(mailbox.Maildir(tmp_path / "bounces")) == 0
    assert Suppression.objects.filter(email_sha256=address_hash("gone3@example.jp")).exists()


def test_the_webhook_processes_a_raw_dsn(api):
    message = _sent(contact=contact_make(email="gone4@example.jp"))

    response = api.post(
        "/api/v1/messages/bounces",
        data=_dsn("gone4@example.jp", tokens.message_id_header(message.pk)),
        content_type="message/rfc822",
    )

    assert response.status_code == 200
    assert response.json()["kind"] == "hard"
    assert response.json()["message_id"] == message.pk


def test_an_empty_webhook_body_is_422(api):
    response = api.post("/api/v1/messages/bounces", data=b"", content_type="message/rfc822")

    assert response.status_code == 422
    assert clock.now()
