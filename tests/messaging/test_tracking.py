"""Open pixel and click tracking: human vs machine opens, only stored links resolve."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from sokyaku.activity.models import Event, EventType
from sokyaku.core import clock
from sokyaku.messaging import tokens
from sokyaku.messaging.models import Message
from sokyaku.messaging.public_views import PIXEL
from sokyaku.messaging.services import delivery
from tests.messaging.engine_factories import message_make

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def _sent() -> Message:
    message = message_make()
    delivery.messages_deliver(message_ids=[message.pk])
    return Message.objects.get(pk=message.pk)


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def _opens(message: Message) -> list[dict[str, object]]:
    return list(
        Event.objects.filter(
            type=EventType.EMAIL_OPENED, properties__message_id=message.pk
        ).values_list("properties", flat=True)
    )


def test_a_human_open_sets_opened_at_once_and_returns_the_gif(client: Client):
    message = _sent()
    pixel = _path(tokens.open_url(message.pk))

    with clock.frozen(clock.now() + timedelta(minutes=5)):
        first = client.get(pixel, HTTP_USER_AGENT=BROWSER)
        client.get(pixel, HTTP_USER_AGENT=BROWSER)

    assert first.status_code == 200
    assert first["Content-Type"] == "image/gif"
    assert first.content == PIXEL
    assert Message.objects.get(pk=message.pk).opened_at is not None
    assert _opens(message) == [{"message_id": message.pk, "machine": False}]


@pytest.mark.parametrize(
    ("agent", "ip", "after"),
    [
        ("Mozilla/5.0", "203.0.113.5", timedelta(minutes=5)),  # Apple Mail Privacy Protection
        (BROWSER, "17.58.1.2", timedelta(minutes=5)),  # Apple's network
        ("Barracuda Sentinel (EE)", "198.51.100.7", timedelta(minutes=5)),  # security scanner
        ("", "198.51.100.7", timedelta(minutes=5)),  # no user agent
        (BROWSER, "198.51.100.7", timedelta(seconds=2)),  # within seconds of delivery
    ],
)
def test_machine_opens_are_flagged_and_do_not_count(client: Client, agent, ip, after):
    message = _sent()

    with clock.frozen(message.sent_at + after):  # type: ignore[operator]
        response = client.get(
            _path(tokens.open_url(message.pk)), HTTP_USER_AGENT=agent, REMOTE_ADDR=ip
        )

    assert response.status_code == 200
    assert Message.objects.get(pk=message.pk).opened_at is None
    assert _opens(message) == [{"message_id": message.pk, "machine": True}]


def test_a_click_redirects_to_the_stored_link_and_is_recorded(client: Client):
    message = _sent()

    with clock.frozen(clock.now() + timedelta(minutes=5)):
        response = client.get(_path(tokens.click_url(message.pk, 1)), HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 302
    assert response["Location"] == "https://sample.example/demo"
    stored = Message.objects.get(pk=message.pk)
    assert stored.clicked_at is not None
    assert stored.opened_at is not None
    assert (
        Event.objects.get(type=EventType.EMAIL_CLICKED).properties["url"]
        == "https://sample.example/demo"
    )


def test_a_position_the_message_never_had_is_404(client: Client):
    message = _sent()

    response = client.get(_path(tokens.click_url(message.pk, 7)), HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 404
    assert Message.objects.get(pk=message.pk).clicked_at is None


def test_a_tampered_click_token_is_404_and_changes_nothing(client: Client):
    message = _sent()
    token = tokens.token_make(tokens.CLICK, message.pk, 0)
    forged = token.replace(f"{message.pk}.0", f"{message.pk}.1", 1)

    response = client.get(f"/m/c/{forged}/", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 404
    assert Event.objects.filter(type=EventType.EMAIL_CLICKED).count() == 0


def test_a_token_of_another_purpose_does_not_open_a_redirect(client: Client):
    message = _sent()
    open_token = tokens.token_make(tokens.OPEN, message.pk)

    response = client.get(f"/m/c/{open_token}/", HTTP_USER_AGENT=BROWSER)

    assert response.status_code == 404


def test_a_scanner_following_links_is_redirected_but_not_counted(client: Client):
    message = _sent()

    with clock.frozen(clock.now() + timedelta(minutes=5)):
        response = client.get(
            _path(tokens.click_url(message.pk, 0)), HTTP_USER_AGENT="Mimecast/1.0"
        )

    assert response.status_code == 302
    assert Message.objects.get(pk=message.pk).clicked_at is None
