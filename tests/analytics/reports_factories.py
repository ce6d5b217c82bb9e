"""Factories for the report tests: mails that are sent, opened, clicked, converted, bounced and
unsubscribed the way people and mail servers do it (through the messaging services), handoffs
handed to reps and worked through the handoff services, and deals through the deals services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.handoff import services as handoff_services
from sokyaku.handoff.models import Handoff, HandoffTrigger
from sokyaku.messaging import tokens
from sokyaku.messaging.models import Broadcast, Message, MessageLink, SenderProfile, Template
from sokyaku.messaging.services import bounces, delivery, tracking
from sokyaku.messaging.services.outbox import message_enqueue
from sokyaku.sequences.models import Step
from tests.sequences.factories import TOPIC

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
PERSON_IP = "203.0.113.7"
_counter = iter(range(1, 10**9))


def deliver(message: Message) -> Message:
    """Send a queued message now (the worker's job) and read it back."""
    delivery.messages_deliver(message_ids=[message.pk])
    return Message.objects.get(pk=message.pk)


def mail(
    *,
    contact: Contact,
    sender: SenderProfile,
    template: Template,
    step: Step | None = None,
    variant: str = "",
    broadcast: Broadcast | None = None,
) -> Message:
    """A sequence step's (or a broadcast's) mail to ``contact``, queued and sent now; the
    variant label as the sequence engine records it in the message context."""
    message, _created = message_enqueue(
        dedupe_key=f"report-test:{next(_counter)}",
        contact=contact,
        sender=sender,
        template=template,
        topic_key=TOPIC,
        context={"variant": variant} if variant else {},
        sequence_id=step.sequence_id if step is not None else None,
        step_id=step.pk if step is not None else None,
        broadcast=broadcast,
    )
    return deliver(message)


def open_mail(message: Message) -> None:
    """The person opens the mail (the pixel loads from a browser)."""
    tracking.message_open_record(message_id=message.pk, ip=PERSON_IP, user_agent=BROWSER)


def click_mail(message: Message) -> None:
    """The person clicks the mail's first link."""
    link = MessageLink.objects.filter(message=message).order_by("position").first()
    assert link is not None
    tracking.message_click_record(
        message_id=message.pk, position=link.position, ip=PERSON_IP, user_agent=BROWSER
    )


def unsubscribe(message: Message) -> None:
    tracking.message_unsubscribe(message_id=message.pk)


def hard_bounce(message: Message) -> None:
    """The recipient's server returns a DSN: user unknown."""
    recipient = message.to_address
    raw = (
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
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n"
        "\r\n--B\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {tokens.message_id_header(message.pk)}\r\nTo: {recipient}\r\n"
        "Subject: x\r\n"
        "\r\n--B--\r\n"
    ).encode()
    bounces.bounce_process(raw=raw)


def goal_action(contact: Contact, type: str = "form_submitted", **properties: Any) -> None:
    """The person does what the mail asked for (a goal action), now."""
    activity_services.event_ingest(
        event=event_build(
            type=type,
            occurred_at=clock.now(),
            source=EventSource.API,
            properties=properties or {"form": "demo"},
            contact_id=contact.pk,
        )
    )


def handoff_to(contact: Contact, trigger: HandoffTrigger, rep: User | None) -> Handoff:
    """Hand ``contact`` to sales (no routing rule: the queue), then give it to ``rep``."""
    handoff = handoff_services.handoff_create(contact=contact, trigger=trigger)
    if rep is not None:
        handoff = handoff_services.handoff_reassign(
            handoff=handoff, to_user=rep, reason="担当割当", actor=None
        )
    return handoff


def call(contact: Contact, rep: User, at: datetime | None = None) -> None:
    """The rep calls the lead (a touch: speed to lead, SLA)."""
    handoff_services.activity_log(contact=contact, actor=rep, kind="call", occurred_at=at)
