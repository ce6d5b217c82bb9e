"""The Outbox page: list with status filter (query count pinned), a message as sent."""

from __future__ import annotations

import pytest
from django.test import Client

from sokyaku.messaging.models import Message, MessageStatus
from sokyaku.messaging.services import delivery
from tests.messaging.engine_factories import contact_make, message_make

pytestmark = pytest.mark.django_db


def _sent() -> Message:
    message = message_make()
    delivery.messages_deliver(message_ids=[message.pk])
    return Message.objects.get(pk=message.pk)


def test_the_list_shows_sent_and_suppressed_with_the_reason(
    logged_in: Client, django_assert_max_num_queries
):
    for _ in range(5):
        _sent()
    blocked = message_make(contact=contact_make(consent=False))
    delivery.messages_deliver(message_ids=[blocked.pk])

    # (one of them: is all marketing sending paused, for the banner)
    with django_assert_max_num_queries(9):
        response = logged_in.get("/messaging/outbox/")

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("資料ダウンロードのお礼") == 5
    assert "No consent or legal basis" in page


def test_the_status_filter_shows_only_that_status(logged_in: Client):
    _sent()
    blocked = message_make(contact=contact_make(consent=False))
    delivery.messages_deliver(message_ids=[blocked.pk])

    response = logged_in.get("/messaging/outbox/", {"status": MessageStatus.SUPPRESSED})

    page = response.content.decode()
    assert "No consent or legal basis" in page
    assert "資料ダウンロードのお礼" not in page


def test_the_detail_shows_headers_sandboxed_html_and_text(logged_in: Client):
    message = _sent()

    response = logged_in.get(f"/messaging/outbox/{message.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "List-Unsubscribe-Post" in page
    assert 'sandbox=""' in page
    assert "srcdoc=" in page
    assert "資料のご請求ありがとうございます" in page


def test_contact_data_in_the_outbox_is_escaped(logged_in: Client):
    message = message_make(contact=contact_make(family_name="<script>alert(1)</script>"))
    delivery.messages_deliver(message_ids=[message.pk])

    page = logged_in.get("/messaging/outbox/").content.decode()

    assert "<script>alert(1)</script>" not in page


def test_an_unknown_message_is_404(logged_in: Client):
    assert logged_in.get("/messaging/outbox/999999/").status_code == 404


def test_anonymous_users_are_sent_to_login(client: Client):
    response = client.get("/messaging/outbox/")

    assert response.status_code == 302
