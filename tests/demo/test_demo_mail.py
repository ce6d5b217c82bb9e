"""The demo's mail history: every mail a demo person got is a sent outbox row, and the mail
events (sent, bounced, opened, clicked) name that row, as those of real sends do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from django.db.models import F

from sokyaku.activity.models import Event, EventType
from sokyaku.consent.models import Suppression
from sokyaku.core import clock
from sokyaku.demo.behaviour import NEWSLETTER_PREFIX, STEP_MAIL_SUBJECTS
from sokyaku.demo.generator import DemoSummary, demo_load
from sokyaku.demo.mail import mail_demo_setup
from sokyaku.messaging.models import Message, MessageStatus, SenderProfile, Stream
from sokyaku.messaging.services.delivery import address_hash
from sokyaku.sequences.models import StepKind
from sokyaku.sequences.presets import b2b_sequence

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 15, 9, 30, tzinfo=clock.TOKYO)
SIZE = 300
MAIL_EVENTS = (
    EventType.EMAIL_SENT,
    EventType.EMAIL_BOUNCED,
    EventType.EMAIL_OPENED,
    EventType.EMAIL_CLICKED,
)


@pytest.fixture
def loaded() -> Iterator[DemoSummary]:
    yield demo_load(contacts=SIZE, seed=7, now=NOW)


def test_every_mail_sent_is_a_sent_marketing_message_to_the_contact(loaded: DemoSummary) -> None:
    sent = Event.objects.filter(type=EventType.EMAIL_SENT)
    mails = Message.objects.filter(dedupe_key__startswith="demo:")
    sender = SenderProfile.objects.get(stream=Stream.MARKETING, is_default=True)
    # every email_sent event has its message, and nothing else became one
    assert loaded.messages == mails.count() == sent.count() > SIZE
    assert set(mails.values_list("channel", "stream", "status", "sender")) == {
        ("email", Stream.MARKETING, MessageStatus.SENT, sender.pk)
    }
    assert not mails.exclude(to_address=F("contact__email")).exists()
    assert not mails.exclude(created_at=F("sent_at")).exists()
    assert not mails.filter(sent_at__gt=NOW).exists()
    sent_at = {e.properties["message_id"]: e.occurred_at for e in sent}
    assert sent_at == dict(mails.values_list("pk", "sent_at"))


def test_the_open_rate_and_click_rate_are_plausible(loaded: DemoSummary) -> None:
    delivered = Message.objects.filter(dedupe_key__startswith="demo:", bounced_at__isnull=True)
    opened = delivered.filter(opened_at__isnull=False).count()
    clicked = delivered.filter(clicked_at__isnull=False).count()
    assert 0.10 < opened / delivered.count() < 0.60
    assert 0 < clicked < opened
    # a click is an open too, and comes after it
    assert not delivered.filter(clicked_at__isnull=False, opened_at__isnull=True).exists()
    assert not delivered.filter(clicked_at__lt=F("opened_at")).exists()


def test_every_mail_event_names_a_message_of_its_contact(loaded: DemoSummary) -> None:
    owners = dict(Message.objects.values_list("pk", "contact_id"))
    events = list(Event.objects.filter(type__in=MAIL_EVENTS))
    assert {e.type for e in events} == set(MAIL_EVENTS)
    assert all(owners.get(e.properties["message_id"]) == e.contact_id for e in events)


def test_opened_at_is_the_first_open_of_the_mail(loaded: DemoSummary) -> None:
    first: dict[int, datetime] = {}
    for event in Event.objects.filter(type=EventType.EMAIL_OPENED).order_by("occurred_at"):
        first.setdefault(event.properties["message_id"], event.occurred_at)
    opened = Message.objects.filter(opened_at__isnull=False)
    assert dict(opened.values_list("pk", "opened_at")) == first


def test_step_mails_point_at_the_steps_of_the_b2b_sequence(loaded: DemoSummary) -> None:
    sequence = b2b_sequence()
    assert sequence is not None
    steps = list(sequence.steps.filter(kind=StepKind.EMAIL).order_by("position"))
    for subject, step in zip(STEP_MAIL_SUBJECTS, steps, strict=True):
        mails = Message.objects.filter(dedupe_key__startswith="demo:", subject=subject)
        assert mails.count() > 0
        assert set(mails.values_list("sequence_id", "step_id", "template_id", "topic_key")) == {
            (sequence.pk, step.pk, step.config["template"], sequence.topic_key)
        }
        sent = Event.objects.filter(
            type=EventType.EMAIL_SENT,
            properties__message_id__in=list(mails.values_list("pk", flat=True)),
        )
        assert {(e.properties["sequence"], e.properties["step"]) for e in sent} == {
            (sequence.pk, step.pk)
        }
    others = Message.objects.filter(dedupe_key__startswith="demo:").exclude(
        subject__in=STEP_MAIL_SUBJECTS
    )
    assert others.filter(subject__startswith=NEWSLETTER_PREFIX).exists()
    assert not others.filter(sequence_id__isnull=False).exists()
    assert not others.filter(step_id__isnull=False).exists()


def test_a_bounced_address_is_suppressed_and_gets_no_later_mail(loaded: DemoSummary) -> None:
    bounced = list(Message.objects.filter(bounced_at__isnull=False))
    total = Message.objects.filter(dedupe_key__startswith="demo:").count()
    assert 0 < len(bounced) < total * 0.03
    assert all(m.opened_at is None and m.status == MessageStatus.SENT for m in bounced)
    # the last mail a bounced person got is the one that bounced
    last: dict[int | None, int] = {}
    for contact_id, pk in (
        Message.objects.filter(dedupe_key__startswith="demo:")
        .order_by("sent_at")
        .values_list("contact_id", "pk")
    ):
        last[contact_id] = pk
    assert all(last[m.contact_id] == m.pk for m in bounced)
    suppressed = set(Suppression.objects.values_list("email_sha256", flat=True))
    assert {address_hash(m.to_address) for m in bounced} <= suppressed


def test_running_the_step_again_writes_nothing(loaded: DemoSummary) -> None:
    before = Message.objects.count()
    assert mail_demo_setup() == 0
    assert Message.objects.count() == before
