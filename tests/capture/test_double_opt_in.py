"""Double opt-in: a ticked topic stays pending until the person opens the mailed link and
confirms; the link expires. Mail goes through a real SMTP conversation."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from sokyaku.capture.models import Submission
from sokyaku.capture.services import confirmation
from sokyaku.consent.models import ConsentRecord, ConsentSource, ConsentStatus
from sokyaku.consent.selectors import consent_state
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.messaging.services import delivery
from tests.capture.conftest import lead_form

pytestmark = pytest.mark.django_db

LINK_RE = re.compile(r"(https?://\S+/f/confirm/\S+)")


@pytest.fixture
def doi_form(topics, now):
    return lead_form(double_opt_in=True)


@pytest.fixture
def sent(doi_form, submit, smtp_server, django_capture_on_commit_callbacks):
    """A submission of the double opt-in form, and the confirmation mail it sent."""
    with django_capture_on_commit_callbacks(execute=True):
        response = submit("whitepaper", headers={"User-Agent": "UA-form"})
    (message,) = smtp_server.wait_for(1)
    return response, message


def _link_path(message) -> str:
    match = LINK_RE.search(message.get_content())
    assert match is not None
    return urlsplit(match.group(1)).path


def _granted(topic: str = "newsletter") -> bool:
    contact = Contact.objects.get()
    return consent_state(contact_id=contact.pk)[topic].granted


def test_the_submission_is_pending_and_a_japanese_mail_with_the_link_is_sent(sent):
    response, message = sent
    # the person is asked to check their inbox
    assert "確認メールをお送りしました" in response.content.decode()
    # the consent is recorded as pending, and does not count yet
    record = ConsentRecord.objects.get()
    assert record.status == ConsentStatus.PENDING
    assert not _granted()
    # one mail, in Japanese, to the address typed, with a link to this site
    assert message["To"] == "taro.yamada@example.co.jp"
    assert "ご登録を完了してください" in message["Subject"]
    body = message.get_content()
    assert "山田 太郎 様" in body
    assert "メールマガジン" in body
    assert LINK_RE.search(body).group(1).startswith(settings.SITE_URL + "/f/confirm/")
    assert message.get_content_charset() == "utf-8"
    assert Submission.objects.get().confirmation_sent_at is not None


def test_opening_the_link_asks_to_confirm_and_confirming_grants_the_consent(client, sent):
    _response, message = sent
    path = _link_path(message)
    # when the link is opened (a mail scanner would stop here)
    page = client.get(path)
    # then a confirm button is shown and nothing changed yet
    assert page.status_code == 200
    assert "確認する" in page.content.decode()
    assert not _granted()
    # when the button is pressed
    done = client.post(path, headers={"User-Agent": "UA-mail"}, REMOTE_ADDR="192.0.2.44")
    # then the consent counts, through a new record that confirms the pending one
    assert done.status_code == 200
    assert "ご登録が完了しました" in done.content.decode()
    assert _granted()
    pending, granted = ConsentRecord.objects.order_by("id")
    assert granted.confirms_id == pending.pk
    assert (granted.status, granted.source) == (ConsentStatus.GRANTED, ConsentSource.CONFIRMATION)
    assert (granted.ip, granted.user_agent) == ("192.0.2.44", "UA-mail")
    assert granted.text_sha256 == pending.text_sha256
    # and confirming again changes nothing
    again = client.post(path)
    assert "すでに確認済み" in again.content.decode()
    assert ConsentRecord.objects.count() == 2


def test_the_link_expires(client, sent):
    _response, message = sent
    path = _link_path(message)
    # when the person comes back after the link's lifetime
    clock.advance(confirmation.CONFIRM_MAX_AGE + timedelta(minutes=1))
    # then the link is refused, and the consent stays pending
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410
    assert not _granted()
    assert ConsentRecord.objects.count() == 1


def test_a_link_confirmed_just_before_it_expires_works(client, sent):
    _response, message = sent
    clock.advance(confirmation.CONFIRM_MAX_AGE - timedelta(minutes=1))
    assert client.post(_link_path(message)).status_code == 200
    assert _granted()


def test_a_forged_link_is_refused(client, sent):
    assert client.get("/f/confirm/forged-token").status_code == 404
    assert client.post("/f/confirm/forged-token").status_code == 404
    assert not _granted()


def test_the_mail_is_sent_once_even_if_queued_and_delivered_again(sent, smtp_server):
    submission = Submission.objects.get()
    assert confirmation.confirmation_mail_queue(submission=submission) is False
    delivery.outbox_tick()
    assert len(smtp_server.messages) == 1


def test_without_a_ticked_topic_no_mail_is_sent(
    doi_form, submit, smtp_server, django_capture_on_commit_callbacks
):
    from tests.capture.conftest import answers

    with django_capture_on_commit_callbacks(execute=True):
        response = submit("whitepaper", answers(_consent_newsletter=""))
    assert response.status_code == 200
    assert "確認メール" not in response.content.decode()
    assert smtp_server.messages == []
