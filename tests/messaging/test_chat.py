"""Chat delivery: Slack, LINE and generic webhook payloads reach a real local HTTP server (with
the private-address guard lifted by the test setting); without it, 127.0.0.1 is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.core import clock
from sokyaku.messaging.models import (
    ChatChannel,
    ChatKind,
    Message,
    MessageChannel,
    MessageStatus,
    Stream,
)
from sokyaku.messaging.services import delivery
from sokyaku.messaging.services.chat import RefusedTarget, target_check
from sokyaku.messaging.services.outbox import message_enqueue
from tests.messaging.engine_factories import contact_make

pytestmark = pytest.mark.django_db


class _Server:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        received = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.requests.append((self.path, dict(self.headers), body))
                self.send_response(received.statuses.pop(0) if received.statuses else 200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def hook(settings) -> Iterator[_Server]:  # type: ignore[no-untyped-def]
    server = _Server()
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    settings.CHAT_ALLOW_PRIVATE = True
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def _channel(kind: str, url: str, secret: str = "") -> ChatChannel:
    return ChatChannel.objects.create(
        name=f"{kind} channel", kind=kind, url=url, secret=secret, created_at=clock.now()
    )


def _chat(
    channel: ChatChannel,
    contact=None,
    text: str = "{{ contact.family_name }}様が資料をダウンロードしました",
) -> Message:  # type: ignore[no-untyped-def]
    contact = contact or contact_make()
    message, _ = message_enqueue(
        dedupe_key=f"chat:{channel.pk}:{contact.pk}",
        contact=contact,
        channel=MessageChannel.CHAT,
        stream=Stream.TRANSACTIONAL,
        chat_channel=channel,
        context={"text": text},
    )
    return message


def test_slack_receives_text_and_blocks(hook):
    message = _chat(
        _channel(ChatKind.SLACK, f"{hook.url}/services/T000/B000/XXX"),
        contact_make(family_name="佐藤"),
    )

    report = delivery.messages_deliver(message_ids=[message.pk])

    assert report.sent == 1
    path, _headers, body = hook.requests[0]
    payload = json.loads(body)
    assert path == "/services/T000/B000/XXX"
    assert payload["text"] == "佐藤様が資料をダウンロードしました"
    assert payload["blocks"][0]["text"]["text"] == payload["text"]
    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT
    assert Event.objects.filter(type=EventType.CHAT_SENT, contact_id=message.contact_id).exists()


@pytest.mark.parametrize(
    "tag",
    ['{% now "Y" %}', "{% debug %}", "{% load static %}{% static 'x.css' %}", "{{ '<b>'|safe }}"],
)
def test_a_chat_text_gets_only_the_mail_template_language(hook, tag):
    # given a notice text with a Django tag the mail templates do not have
    message = _chat(
        _channel(ChatKind.SLACK, f"{hook.url}/services/T000/B000/XXX"),
        contact_make(family_name="佐藤"),
        text=f"{{{{ contact.family_name }}}}様 {tag}",
    )
    # when it is delivered
    delivery.messages_deliver(message_ids=[message.pk])
    # then the tag did nothing: the text is sent as written, the settings and clock stay unread
    payload = json.loads(hook.requests[0][2])
    assert payload["text"] == f"{{{{ contact.family_name }}}}様 {tag}"


def test_the_chat_text_keeps_the_mail_tags_and_filters(hook):
    message = _chat(
        _channel(ChatKind.SLACK, f"{hook.url}/services/T000/B000/XXX"),
        contact_make(family_name="佐藤"),
        text="{% if contact.family_name %}{{ contact.family_name|default:'—' }}様{% endif %}",
    )
    delivery.messages_deliver(message_ids=[message.pk])
    assert json.loads(hook.requests[0][2])["text"] == "佐藤様"


def test_line_push_has_the_bearer_token_and_the_users_line_id(hook):
    contact = contact_make()
    type(contact).objects.filter(pk=contact.pk).update(
        custom_fields={"line_user_id": "U4af4980629"}
    )
    message = _chat(
        _channel(ChatKind.LINE, f"{hook.url}/v2/bot/message/push", secret="line-token"), contact
    )

    delivery.messages_deliver(message_ids=[message.pk])

    _path, headers, body = hook.requests[0]
    assert headers["Authorization"] == "Bearer line-token"
    assert json.loads(body) == {
        "to": "U4af4980629",
        "messages": [{"type": "text", "text": "山田様が資料をダウンロードしました"}],
    }


def test_line_without_a_user_id_is_suppressed_with_the_reason(hook):
    message = _chat(_channel(ChatKind.LINE, f"{hook.url}/push", secret="t"))

    delivery.messages_deliver(message_ids=[message.pk])

    stored = Message.objects.get(pk=message.pk)
    assert stored.status == MessageStatus.SUPPRESSED
    assert "LINE user id" in stored.suppressed_reason
    assert hook.requests == []


def test_generic_webhook_is_signed_with_the_secret(hook):
    message = _chat(_channel(ChatKind.GENERIC, f"{hook.url}/hook", secret="s3cret"))

    delivery.messages_deliver(message_ids=[message.pk])

    _path, headers, body = hook.requests[0]
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Sokyaku-Signature"] == f"sha256={expected}"
    assert json.loads(body)["contact"]["email"]


def test_a_5xx_is_retried_later(hook):
    hook.statuses.append(503)
    message = _chat(_channel(ChatKind.SLACK, f"{hook.url}/x"))

    delivery.messages_deliver(message_ids=[message.pk])
    assert Message.objects.get(pk=message.pk).status == MessageStatus.QUEUED
    with clock.frozen(clock.now() + timedelta(minutes=2)):
        delivery.outbox_tick()

    assert Message.objects.get(pk=message.pk).status == MessageStatus.SENT
    assert len(hook.requests) == 2


def test_loopback_is_refused_without_the_test_setting(hook, settings):
    settings.CHAT_ALLOW_PRIVATE = False
    message = _chat(_channel(ChatKind.SLACK, f"{hook.url}/x"))

    delivery.messages_deliver(message_ids=[message.pk])

    stored = Message.objects.get(pk=message.pk)
    assert stored.status == MessageStatus.FAILED
    assert "Refused target" in stored.last_error
    assert hook.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.0.0.5/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[::ffff:a9fe:a9fe]/x",
        "http://224.0.0.1/x",
        "http://0.0.0.0/x",
        "http://localhost/x",
        "file:///etc/passwd",
    ],
)
def test_the_guard_refuses_non_public_targets(settings, url):
    settings.CHAT_ALLOW_PRIVATE = False

    with pytest.raises(RefusedTarget):
        target_check(url)
