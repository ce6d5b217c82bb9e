"""The sending pause page and the Outbox's re-send, as marketers, admins and sales reps use them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from sokyaku.messaging.models import Message, MessageStatus, SenderProfile
from sokyaku.messaging.services import pausing
from tests.messaging.engine_factories import message_make, sender_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def as_marketer(client: Client, marketer: Any) -> Iterator[Client]:
    client.force_login(marketer)
    yield client


def test_a_marketer_pauses_and_resumes_all_marketing_sending(as_marketer: Client) -> None:
    # given a queued newsletter
    message_make()

    # when the marketer pauses all marketing sending with a reason
    response = as_marketer.post("/messaging/sending/pause/", {"reason": "誤った配信リスト"})

    # then the page says so, with the reason and the waiting mail
    assert response.status_code == 302
    page = as_marketer.get("/messaging/sending/").content.decode()
    assert "All marketing sending has been paused since" in page
    assert "誤った配信リスト" in page
    assert "1 marketing message is waiting." in page
    assert pausing.marketing_paused()
    outbox = as_marketer.get("/messaging/outbox/").content.decode()
    assert "All marketing sending is paused" in outbox

    # when they resume it
    as_marketer.post("/messaging/sending/resume/")
    assert not pausing.marketing_paused()
    assert "Pause all marketing sending" in as_marketer.get("/messaging/sending/").content.decode()


def test_a_sender_profile_is_paused_and_resumed_from_the_page(as_marketer: Client) -> None:
    profile = sender_make()

    as_marketer.post(f"/messaging/senders/{profile.pk}/pause/", {"reason": "苦情の確認"})
    profile.refresh_from_db()
    assert profile.paused_at is not None
    assert profile.pause_reason == "苦情の確認"

    as_marketer.post(f"/messaging/senders/{profile.pk}/resume/")
    profile.refresh_from_db()
    assert profile.paused_at is None


def test_a_sales_rep_sees_the_switch_but_cannot_use_it(client: Client, sales_rep: Any) -> None:
    profile = sender_make()
    client.force_login(sales_rep)

    page = client.get("/messaging/sending/")

    assert page.status_code == 200
    assert "Pause all marketing sending" not in page.content.decode()
    assert client.post("/messaging/sending/pause/").status_code == 403
    assert client.post(f"/messaging/senders/{profile.pk}/pause/").status_code == 403
    assert not pausing.marketing_paused()
    assert not SenderProfile.objects.filter(paused_at__isnull=False).exists()


def _failed(**fields: Any) -> Message:
    message = message_make(**fields)
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.FAILED, last_error="554 relay misconfigured"
    )
    return message


def test_the_ticked_failed_messages_are_queued_again_from_the_outbox(as_marketer: Client) -> None:
    # given two failed messages on the Outbox's failed list
    first, second = _failed(), _failed()
    page = as_marketer.get("/messaging/outbox/?status=failed").content.decode()
    assert f'name="ids" value="{first.pk}"' in page
    assert "Send the selected failed messages again" in page

    # when the marketer ticks one and sends it again
    response = as_marketer.post("/messaging/outbox/resend/", {"ids": [str(first.pk)]})

    # then only that one left the failed state (and, with no SMTP server, went to the local sink)
    assert response.status_code == 302
    assert Message.objects.get(pk=first.pk).status != MessageStatus.FAILED
    assert Message.objects.get(pk=second.pk).status == MessageStatus.FAILED


def test_all_failed_since_a_day_of_one_sender_are_queued_again(as_marketer: Client) -> None:
    profile = sender_make()
    mine, other = _failed(sender=profile), _failed()

    as_marketer.post(
        "/messaging/outbox/resend/", {"failed_since": "2000-01-01", "sender": str(profile.pk)}
    )

    assert Message.objects.get(pk=mine.pk).status != MessageStatus.FAILED
    assert Message.objects.get(pk=other.pk).status == MessageStatus.FAILED


def test_a_sales_rep_cannot_resend(client: Client, sales_rep: Any) -> None:
    message = _failed()
    client.force_login(sales_rep)

    assert client.post("/messaging/outbox/resend/", {"ids": [str(message.pk)]}).status_code == 403
    assert Message.objects.get(pk=message.pk).status == MessageStatus.FAILED
