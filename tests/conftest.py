"""Shared fixtures. Each test session gets its own data dir, so the suite never touches ./var."""

from __future__ import annotations

import os
import tempfile

# Before Django reads its settings: a private data dir for this run.
os.environ.setdefault("SOKYAKU_DATA_DIR", tempfile.mkdtemp(prefix="sokyaku-test-"))
os.environ.setdefault("SOKYAKU_TASKS_IMMEDIATE", "1")

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
from django.test import Client  # noqa: E402

from sokyaku.core import roles, services  # noqa: E402
from sokyaku.core.models import ApiScope  # noqa: E402

REQUIRE_SERVICES = os.environ.get("SOKYAKU_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip a test that needs a service we do not have; in CI (services required) fail it."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


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
    return services.apikey_create(name="tests", scopes=list(ApiScope.values)).token


@pytest.fixture
def api(api_token: str) -> Client:
    """A test client that sends a full-scope API key."""
    return Client(headers={"Authorization": f"Bearer {api_token}"})


@pytest.fixture
def logged_in(client: Client, marketer) -> Iterator[Client]:  # type: ignore[no-untyped-def]
    client.force_login(marketer)
    yield client
