"""Fixtures of the webhook tests: a real HTTP receiver on 127.0.0.1 that answers as scripted
and keeps every request, with private targets allowed as the operator setting allows them."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from sokyaku.webhooks.services.subscriptions import Created, subscription_create
from tests.capture.conftest import now, submit, topics  # noqa: F401 - the capture fixtures


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower(), "")


@dataclass
class Receiver:
    """A real webhook receiver: ``statuses`` are answered in turn, then 200."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    answer: bytes = b'{"ok": true}'


def signed_by(secret: str, request: Received) -> bool:
    """Whether one of the request's signatures is the one ``secret`` makes for its id,
    timestamp and body (the check of ``Webhook.verify`` without its 5-minute window around the
    wall clock: the tests run on a frozen clock)."""
    msg_id = request.header("webhook-id")
    stamp = datetime.fromtimestamp(int(request.header("webhook-timestamp")), tz=UTC)
    expected = Webhook(secret).sign(msg_id=msg_id, timestamp=stamp, data=request.body.decode())
    given = request.header("webhook-signature").split(" ")
    return expected in given and all(
        s.startswith("v1,") and len(base64.b64decode(s[3:])) == 32 for s in given
    )


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:  # type: ignore[no-untyped-def]
    server: ThreadingHTTPServer
    box: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            hook = box["hook"]
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hook.requests.append(Received(self.path, dict(self.headers), body))
            status = hook.statuses.pop(0) if hook.statuses else 200
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(hook.answer if status < 300 else b'{"error": "busy"}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box["hook"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    try:
        yield box["hook"]
    finally:
        server.shutdown()
        server.server_close()


def subscribe(receiver: Receiver, *types: str, path: str = "/hooks") -> Created:
    """A subscription of the receiver to ``types``."""
    return subscription_create(
        url=receiver.url + path, event_types=list(types), description="CRM", actor=None
    )


def band_changed(contact_id: int, to: str, *, score: int = 40) -> None:
    """A ``score_band_changed`` of the contact, stored through the event stream (relayed as
    ``score.band_changed``)."""
    from sokyaku.activity import services as activity_services
    from sokyaku.activity.events import event_build
    from sokyaku.activity.models import EventSource
    from sokyaku.core import clock

    activity_services.event_ingest(
        event=event_build(
            type="score_band_changed",
            occurred_at=clock.now(),
            source=EventSource.SYSTEM,
            properties={"from": "cold", "to": to, "score": score},
            contact_id=contact_id,
        )
    )
