"""Shared fixtures. Each test run gets its own data dir (see ``tests/settings.py``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.test import Client

from sokyaku.core import roles, services
from sokyaku.core.models import ApiScope

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
