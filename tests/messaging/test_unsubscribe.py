"""RFC 8058 one-click unsubscribe, the confirmation page, the preference centre, and the rule
that an opt-out stops every queued marketing message at once."""

from __future__ import annotations

import pytest
from django.test import Client

from sokyaku.activity.models import Event, EventType
from sokyaku.consent.models import ConsentRecord, ConsentSource, ConsentStatus
from sokyaku.consent.selectors import may_send
from sokyaku.messaging import tokens
from sokyaku.messaging.models import Message, MessageStatus
from sokyaku.messaging.services import delivery
from tests.messaging.engine_factories import contact_make, message_make, topic_make

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _sent(contact=None) -> Message:  # type: ignore[no-untyped-def]
    message = message_make(contact=contact)
    delivery.messages_deliver(message_ids=[message.pk])
    return Message.objects.get(pk=message.pk)


def test_one_click_post_without_cookies_or_csrf_unsubscribes():
    # given a fresh client that enforces CSRF and has no cookies, as a mailbox provider
    provider = Client(enforce_csrf_checks=True)
    message = _sent()

    response = provider.post(
        _path(tokens.unsubscribe_url(message.pk)),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert not may_send(contact_id=message.contact_id, topic_key="newsletter")  # type: ignore[arg-type]
    record = ConsentRecord.objects.filter(status=ConsentStatus.WITHDRAWN).get()
    assert record.source == ConsentSource.UNSUBSCRIBE
    assert record.topic is None
    assert Message.objects.get(pk=message.pk).unsubscribed_at is not None
    assert (
        Event.objects.filter(
            type=EventType.EMAIL_UNSUBSCRIBED, contact_id=message.contact_id
        ).count()
        == 1
    )


def test_get_shows_a_confirmation_and_never_unsubscribes(client: Client):
    message = _sent()

    response = client.get(_path(tokens.unsubscribe_url(message.pk)))

    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert ConsentRecord.objects.filter(status=ConsentStatus.WITHDRAWN).count() == 0
    assert Message.objects.get(pk=message.pk).unsubscribed_at is None


def test_the_confirmation_button_unsubscribes(client: Client):
    message = _sent()

    response = client.post(_path(tokens.unsubscribe_url(message.pk)))

    assert response.status_code == 200
    assert not may_send(contact_id=message.contact_id, topic_key="newsletter")  # type: ignore[arg-type]


def test_a_tampered_unsubscribe_token_is_404_and_changes_nothing(client: Client):
    message = _sent()
    token = tokens.token_make(tokens.UNSUBSCRIBE, message.pk)
    other = _sent()
    forged = token.replace(str(message.pk), str(other.pk), 1)

    response = client.post(f"/m/u/{forged}/", data={"List-Unsubscribe": "One-Click"})

    assert response.status_code == 404
    assert ConsentRecord.objects.filter(status=ConsentStatus.WITHDRAWN).count() == 0


def test_an_opt_out_suppresses_every_queued_marketing_message_at_once(client: Client):
    # given mail 1 sent and mails 2 and 3 already queued for the same person
    contact = contact_make()
    first = _sent(contact)
    later = [message_make(contact=contact) for _ in range(2)]

    # when they unsubscribe from mail 1
    client.post(_path(tokens.unsubscribe_url(first.pk)), data={"List-Unsubscribe": "One-Click"})

    # then mails 2 and 3 are suppressed before any worker looks at them, and stay unsent
    stopped = Message.objects.filter(pk__in=[m.pk for m in later])
    assert set(stopped.values_list("status", "suppressed_reason")) == {
        (MessageStatus.SUPPRESSED, "Opted out")
    }
    assert delivery.messages_deliver(message_ids=[m.pk for m in later]).sent == 0


def test_the_preference_centre_changes_topics_one_by_one(client: Client):
    topic_make("seminars")
    contact = contact_make()
    message = _sent(contact)
    queued = message_make(contact=contact)
    page = _path(tokens.preferences_url(message.pk))

    shown = client.get(page)
    response = client.post(page, data={"topic": ["seminars"]})

    assert shown.status_code == 200
    assert "メールマガジン" in shown.content.decode()
    assert response.status_code == 200
    assert may_send(contact_id=contact.pk, topic_key="seminars")
    assert not may_send(contact_id=contact.pk, topic_key="newsletter")
    assert Message.objects.get(pk=queued.pk).status == MessageStatus.SUPPRESSED


def test_a_tampered_preferences_token_is_404(client: Client):
    response = client.get("/m/p/1-AAAAAAAAAAAAAAAAAAAAAAAAAAA/")

    assert response.status_code == 404
