"""The mails a form request causes — a download link, a double opt-in confirmation, a webinar
registration's confirmation — are outbox rows written with the request: a lost queue item only
delays them, the outbox tick sends each once with the row's Message-ID, and marketers see them on
the Outbox page and the contact's timeline in Japanese. Mail goes through a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from sokyaku.capture.models import Form, Submission, WebinarRegistration
from sokyaku.capture.services import assets as asset_services
from sokyaku.capture.services import confirmation
from sokyaku.capture.services import webinars as webinar_services
from sokyaku.contacts.models import Contact
from sokyaku.messaging import tokens
from sokyaku.messaging.models import Message, MessageStatus, Stream, SystemMail
from sokyaku.messaging.services import delivery
from tests.capture.conftest import lead_form
from tests.messaging.smtp_sinks import ScriptedSink, free_port, sink_running, smtp_settings

pytestmark = pytest.mark.django_db

ADDRESS = "taro.yamada@example.co.jp"


def _download_form() -> Form:
    asset = asset_services.asset_create(
        data=asset_services.AssetInput(
            title="2026年版 マーケティング白書",
            kind="whitepaper",
            url="https://files.example.jp/whitepaper.pdf",
        )
    )
    return lead_form(kind="asset_download", kind_options={"asset": asset.pk})


def _confirmation_form() -> Form:
    return lead_form(double_opt_in=True)


def _webinar_form() -> Form:
    starts = datetime(2026, 4, 10, 5, 0, tzinfo=UTC)
    webinar = webinar_services.webinar_create(
        data=webinar_services.WebinarInput(
            title="MA活用セミナー 2026",
            description="リード育成の実践",
            starts_at=starts,
            ends_at=starts + timedelta(minutes=90),
            capacity=0,
            location_kind="online",
            join_url="https://zoom.example.jp/j/123",
        )
    )
    return lead_form(kind="webinar_registration", kind_options={"webinar": webinar.pk})


@dataclass(frozen=True)
class Case:
    make_form: Callable[[], Form]
    kind: str
    subject: str  # in the subject line
    body: str  # in the text
    label: str  # its kind on the Outbox page
    attachment: str = ""

    @property
    def timeline(self) -> str:
        """The entry on the contact's timeline."""
        return f"{self.label}を送信"


CASES = {
    "download": Case(
        _download_form,
        SystemMail.ASSET_LINK,
        "2026年版 マーケティング白書",
        "/a/",
        "資料ダウンロードのご案内",
    ),
    "opt-in": Case(
        _confirmation_form,
        SystemMail.OPTIN_CONFIRMATION,
        "ご登録を完了してください",
        "/f/confirm/",
        "ご登録確認のお願い（ダブルオプトイン）",
    ),
    "webinar": Case(
        _webinar_form,
        SystemMail.WEBINAR_CONFIRMATION,
        "【お申し込み完了】MA活用セミナー 2026",
        "https://zoom.example.jp/j/123",
        "ウェビナーお申し込み完了のご案内",
        attachment="invite.ics",
    ),
}


@pytest.fixture
def sink(settings) -> Iterator[ScriptedSink]:  # type: ignore[no-untyped-def]
    with sink_running(ScriptedSink(port=free_port())) as running:
        smtp_settings(settings, running.port)
        yield running


@pytest.fixture(params=list(CASES), ids=list(CASES))
def case(request, topics, now) -> Case:  # type: ignore[no-untyped-def]
    chosen = CASES[request.param]
    chosen.make_form()
    return chosen


@pytest.fixture
def queued(case, submit, django_capture_on_commit_callbacks) -> Message:  # type: ignore[no-untyped-def]
    """The person submits; the after-commit "deliver now" never runs (its queue item is lost)."""
    with django_capture_on_commit_callbacks(execute=False):
        response = submit("whitepaper")
    assert response.status_code == 200
    return Message.objects.get(system_mail=case.kind)


@pytest.fixture
def staff(marketer) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(marketer)
    return client


def test_the_mail_is_a_queued_outbox_row_when_the_request_commits(case, queued, sink):
    # then, before any task ran, the mail is stored, transactional, to the address typed
    assert queued.status == MessageStatus.QUEUED
    assert queued.stream == Stream.TRANSACTIONAL
    assert queued.to_address == ADDRESS
    assert queued.contact == Contact.objects.get()
    assert case.subject in queued.subject
    assert case.body in queued.body_text
    assert sink.messages == []


def test_the_tick_sends_it_once_with_the_rows_message_id(case, queued, sink):
    # when the outbox's periodic tick comes by
    first = delivery.outbox_tick()
    # then the mail arrives once, with the Message-ID derived from the row
    assert first.sent == 1
    [mail] = sink.wait_for(1)
    stored = Message.objects.get(pk=queued.pk)
    assert stored.status == MessageStatus.SENT
    assert mail["Message-ID"] == stored.headers["Message-ID"]
    assert mail["Message-ID"] == tokens.message_id_header(queued.pk)
    assert mail["To"] == ADDRESS
    assert case.subject in mail["Subject"]
    assert case.body in mail.get_body(preferencelist=("plain",)).get_content()
    assert [a.get_filename() for a in mail.iter_attachments()] == (
        [case.attachment] if case.attachment else []
    )
    # and a second tick sends nothing
    assert delivery.outbox_tick().handled == 0
    assert len(sink.messages) == 1


def test_the_outbox_page_shows_it_with_its_kind_in_japanese(case, queued, sink, staff):
    delivery.outbox_tick()

    listing = staff.get("/messaging/outbox/").content.decode()
    detail = staff.get(f"/messaging/outbox/{queued.pk}/").content.decode()

    assert case.label in listing
    assert case.subject in listing
    assert case.kind not in listing  # no raw value
    assert case.label in detail
    assert case.attachment in detail


def test_the_contacts_timeline_shows_it_in_japanese(case, queued, sink, staff):
    delivery.outbox_tick()
    contact = Contact.objects.get()

    page = staff.get(f"/contacts/{contact.pk}/").content.decode()

    assert case.timeline in page


def test_queuing_it_again_sends_no_second_mail(case, queued, sink):
    submission = Submission.objects.get()
    contact = Contact.objects.get()
    # when the cause's queueing runs again (a re-run of the request's handler)
    again = {
        SystemMail.ASSET_LINK: lambda: asset_services.asset_mail_queue(
            submission=submission,
            contact=contact,
            asset=asset_services.Asset.objects.get(),
            url="https://example.invalid/other",
            language="ja",
        ),
        SystemMail.OPTIN_CONFIRMATION: lambda: confirmation.confirmation_mail_queue(
            submission=submission
        ),
        SystemMail.WEBINAR_CONFIRMATION: lambda: webinar_services.registration_mail_queue(
            registration=WebinarRegistration.objects.get(), language="ja"
        ),
    }[case.kind]
    assert again() is False
    delivery.outbox_tick()
    delivery.outbox_tick()
    # then there is still one row and one mail
    assert Message.objects.filter(system_mail=case.kind).count() == 1
    assert len(sink.wait_for(1)) == 1
