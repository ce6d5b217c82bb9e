"""Fixtures for the campaigns tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
from django.test import Client

from sokyaku.core import services as core_services


@pytest.fixture
def client_with_scopes(db: None) -> Callable[[Sequence[str]], Client]:
    """A factory of API clients whose key has exactly the given scopes."""

    def make(scopes: Sequence[str]) -> Client:
        token = core_services.apikey_create(name="scoped", scopes=list(scopes), system=True).token
        return Client(headers={"Authorization": f"Bearer {token}"})

    return make
