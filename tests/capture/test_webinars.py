"""Webinar registration through a form: one registration per person, a full webinar refuses
(nothing stored), a confirmation mail with a calendar file (.ics) that calendars read right.
Mail goes through a real SMTP conversation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from icalendar import Calendar

from sokyaku.activity.models import Event, EventType
from sokyaku.capture import calendar
from sokyaku.capture.models import Submission, Webinar, WebinarRegistration
from sokyaku.capture.services import webinars as webinar_services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from tests.capture.conftest import answers, lead_form

pytestmark = pytest.mark.django_db

STARTS = datetime(2026, 4, 10, 5, 0, tzinfo=UTC)  # 14:00 in Tokyo


def make_webinar(**overrides: object) -> Webinar:
    data = webinar_services.WebinarInput(
        title="MA活用セミナー 2026",
        description="リード育成の実践",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(minutes=90),
        capacity=0,
        location_kind="online",
        join_url="https://zoom.example.jp/j/123",
    )
    for name, value in overrides.items():
        setattr(data, name, value)
    return webinar_services.webinar_create(data=data)


@pytest.fixture
def webinar(now) -> Webinar:
    return make_webinar()


@pytest.fixture
def registration_form(topics, now, webinar):
    return lead_form(kind="webinar_registration", kind_options={"webinar": webinar.pk})


def _registered_events() -> int:
    return Event.objects.filter(type=EventType.WEBINAR_REGISTERED).count()


def test_registering_records_the_registration_and_mails_a_calendar_file(
    registration_form, webinar, submit, smtp_server, django_capture_on_commit_callbacks
):
    # when a person registers
    with django_capture_on_commit_callbacks(execute=True):
        response = submit("whitepaper")
    (message,) = smtp_server.wait_for(1)
    # then they are registered once, with the event on their timeline
    assert response.status_code == 200
    registration = WebinarRegistration.objects.get()
    contact = Contact.objects.get()
    assert registration.contact == contact
    assert registration.webinar == webinar
    event = Event.objects.get(type=EventType.WEBINAR_REGISTERED)
    assert event.contact == contact
    assert event.properties["webinar_id"] == webinar.pk
    # and the mail, in UTF-8, names the webinar and its time in Tokyo
    assert message["To"] == "taro.yamada@example.co.jp"
    assert message["Subject"].strip() == "【お申し込み完了】MA活用セミナー 2026"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "2026/04/10 14:00" in body
    assert "https://zoom.example.jp/j/123" in body
    # and its .ics is read by a calendar library as the right event
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_type() == "text/calendar"
    ics = Calendar.from_ical(attachment.get_content())
    (vevent,) = ics.walk("VEVENT")
    start = vevent.decoded("dtstart")
    end = vevent.decoded("dtend")
    assert start == STARTS
    assert str(start.tzinfo) == "Asia/Tokyo"
    assert (start.hour, start.minute) == (14, 0)
    assert end == STARTS + timedelta(minutes=90)
    assert str(vevent["uid"]) == calendar.registration_uid(registration=registration)
    assert str(vevent["summary"]) == "MA活用セミナー 2026"
    assert str(vevent["url"]) == "https://zoom.example.jp/j/123"
    (alarm,) = vevent.walk("VALARM")
    assert alarm.decoded("trigger") == timedelta(hours=-1)
    registration.refresh_from_db()
    assert registration.mail_sent_at is not None


def test_the_calendar_uid_is_stable_per_registration(webinar, now):
    contact = Contact.objects.create(email="a@example.jp", created_at=now, updated_at=now)
    registration = WebinarRegistration.objects.create(
        webinar=webinar, contact=contact, registered_at=now
    )
    first = Calendar.from_ical(calendar.registration_ics(registration=registration))
    clock.advance(timedelta(days=1))
    second = Calendar.from_ical(calendar.registration_ics(registration=registration))
    assert first.walk("VEVENT")[0]["uid"] == second.walk("VEVENT")[0]["uid"]


def test_registering_twice_is_one_registration(
    registration_form, submit, smtp_server, django_capture_on_commit_callbacks
):
    # when the same person sends the registration form twice
    with django_capture_on_commit_callbacks(execute=True):
        submit("whitepaper")
        again = submit("whitepaper")
    # then both submissions are kept, but there is one registration, one event, one mail
    assert again.status_code == 200
    assert "すでにお申し込みいただいています" in again.content.decode()
    assert Submission.objects.count() == 2
    assert WebinarRegistration.objects.count() == 1
    assert _registered_events() == 1
    assert len(smtp_server.wait_for(1)) == 1


def test_a_full_webinar_refuses_and_stores_nothing(topics, now, submit, smtp_server):
    # given a webinar with one seat, taken
    webinar = make_webinar(capacity=1)
    lead_form(kind="webinar_registration", kind_options={"webinar": webinar.pk})
    submit("whitepaper")
    # when another person tries to register
    refused = submit("whitepaper", answers(email="hanako@example.co.jp", given_name="花子"))
    # then the form says it is full and nothing of theirs is stored
    assert refused.status_code == 422
    assert "満席" in refused.content.decode()
    assert WebinarRegistration.objects.count() == 1
    assert Submission.objects.count() == 1
    assert not Contact.objects.filter(email="hanako@example.co.jp").exists()
    assert _registered_events() == 1


def test_the_person_already_registered_is_not_refused_when_full(topics, now, submit):
    webinar = make_webinar(capacity=1)
    lead_form(kind="webinar_registration", kind_options={"webinar": webinar.pk})
    submit("whitepaper")
    again = submit("whitepaper")
    assert again.status_code == 200
    assert WebinarRegistration.objects.count() == 1


def test_the_end_must_follow_the_start(now):
    from sokyaku.core.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        make_webinar(ends_at=STARTS - timedelta(hours=1))
    assert "ends_at" in refused.value.field_errors


def test_marketers_create_a_webinar_in_tokyo_time_and_see_registrants(
    logged_in: Client, topics, now, submit
):
    # when a marketer creates a webinar starting 14:00 Tokyo time
    created = logged_in.post(
        "/capture/webinars/new/",
        {
            "title": "<script>alert(1)</script>セミナー",
            "description": "",
            "starts_at": "2026-04-10T14:00",
            "ends_at": "2026-04-10T15:30",
            "capacity": "50",
            "location_kind": "online",
            "join_url": "https://zoom.example.jp/j/1",
            "venue": "",
        },
    )
    webinar = Webinar.objects.get()
    assert created.status_code == 302
    assert webinar.starts_at == STARTS
    # and sets up its registration form, and a person registers
    logged_in.post(f"/capture/webinars/{webinar.pk}/form/")
    lead_form(kind="webinar_registration", kind_options={"webinar": webinar.pk})
    submit(
        "whitepaper",
        answers(family_name="<script>x</script>山田", company="株式会社サンプル"),
        using=Client(),
    )
    # then the webinar page lists them, surname first, with company, everything inert
    page = logged_in.get(f"/capture/webinars/{webinar.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;山田 太郎" in html
    assert "株式会社サンプル" in html or "サンプル" in html
    assert "<script>alert(1)" not in html
    assert "<script>x" not in html
    assert "1 / 50" in logged_in.get("/capture/webinars/").content.decode()
