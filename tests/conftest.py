"""Shared fixtures. Each test run gets its own data dir (see ``tests/settings.py``)."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import translation

from sokyaku.core import roles, services
from sokyaku.core.models import ApiScope

REQUIRE_SERVICES = os.environ.get("SOKYAKU_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip a test that needs a service we do not have; in CI (services required) fail it."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded (SQLite) installation as ``sokyaku migrate`` leaves it, made once a run."""
    data_dir = tmp_path_factory.mktemp("migrated")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    subprocess.run(
        [sys.executable, "-m", "sokyaku.cli", "migrate", "-v", "0"],
        env={**env, "SOKYAKU_DATA_DIR": str(data_dir)},
        check=True,
    )
    database = data_dir / "sokyaku.sqlite3"
    with sqlite3.connect(database) as db:  # everything in the one file, to be copied
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return database


@pytest.fixture
def migrated_data_dir(_migrated_template: Path) -> Callable[[Path], Path]:
    """Put a freshly migrated embedded installation into a data dir (returned): the database
    ``sokyaku migrate`` writes on a new machine, copied instead of migrated once more."""

    def install(data_dir: Path) -> Path:
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_migrated_template, data_dir / "sokyaku.sqlite3")
        return data_dir

    return install


@pytest.fixture(autouse=True)
def _no_handoff_triggers_cached() -> None:
    """Every test database starts without handoff triggers; a test that saves one drops this."""
    from sokyaku.handoff.reactions import triggers_forget_all

    triggers_forget_all()


@pytest.fixture(autouse=True)
def _no_webhook_subscriptions_cached() -> None:
    """Every test database starts without webhook subscriptions; making one drops this."""
    from sokyaku.webhooks.services.publishing import subscriptions_forget_all

    subscriptions_forget_all()


@pytest.fixture
def english(client: Client) -> Iterator[None]:
    """Pages and messages in English (the msgids) for tests that assert UI text; the default
    language is Japanese. Covers code run in the test and requests made with ``client``."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def admin_user(db):  # type: ignore[no-untyped-def]
    return services.user_create(
        username="admin", password="x", role=roles.ADMIN, check_password=False
    )


@pytest.fixture
def marketer(db):  # type: ignore[no-untyped-def]
    return services.user_create(
        username="marketer", password="x", role=roles.MARKETER, check_password=False
    )


@pytest.fixture
def sales_rep(db):  # type: ignore[no-untyped-def]
    return services.user_create(
        username="rep", password="x", role=roles.SALES_REP, check_password=False
    )


@pytest.fixture
def api_token(db) -> str:  # type: ignore[no-untyped-def]
    return services.apikey_create(name="tests", scopes=list(ApiScope.values), system=True).token


@pytest.fixture
def api(api_token: str) -> Client:
    """A test client that sends a full-scope API key."""
    return Client(headers={"Authorization": f"Bearer {api_token}"})


@pytest.fixture
def logged_in(client: Client, marketer) -> Iterator[Client]:  # type: ignore[no-untyped-def]
    client.force_login(marketer)
    yield client


@dataclass
class SmtpSink:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives."""

    host: str
    port: int
    messages: list[EmailMessage]

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        """The received messages once there are ``count`` of them (bounded wait)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpSink]:  # type: ignore[no-untyped-def]
    """Django sends mail over a real SMTP conversation to this sink during the test."""
    from aiosmtpd.controller import Controller

    messages: list[EmailMessage] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
            messages.append(
                BytesParser(policy=policy.default).parsebytes(envelope.original_content)  # type: ignore[arg-type]
            )
            return "250 OK"

    with socket.socket() as probe:  # a free port (the controller cannot start on port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    try:
        yield SmtpSink(host="127.0.0.1", port=port, messages=messages)
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def _rate_limits_start_empty() -> None:
    """Rate-limit counters (``core.ratelimit``) start at zero in every test. The database cache
    needs no clearing: each test's transaction is rolled back."""
    from django.core.cache import cache

    if cache.__class__.__name__ != "DatabaseCache":
        cache.clear()
