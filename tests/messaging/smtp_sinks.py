"""Scriptable aiosmtpd servers for the engine tests: keep the raw bytes, answer 4xx/5xx on cue."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class ScriptedSink:
    """Receives mail; ``data_replies`` (popped per DATA) and ``reject`` (RCPT → 550) script it."""

    port: int
    raw: list[bytes] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)

    @property
    def messages(self) -> list[EmailMessage]:
        parser = BytesParser(policy=policy.default)
        return [parser.parsebytes(data) for data in self.raw]

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.raw) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


class _Handler:
    def __init__(self, sink: ScriptedSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:  # noqa: N802
        if address in self.sink.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.sink.data_replies:
            return self.sink.data_replies.pop(0)
        self.sink.raw.append(bytes(envelope.original_content))
        return "250 OK"


@contextmanager
def sink_running(sink: ScriptedSink) -> Iterator[ScriptedSink]:
    from aiosmtpd.controller import Controller

    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def smtp_settings(settings: Any, port: int) -> None:
    """Point the engine (through Django's mail settings) at 127.0.0.1:``port``."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


Callback = Callable[[], None]
