"""Property-based runs of the whole API against its own OpenAPI document (schemathesis).

The document is fetched from the production WSGI app at ``/api/v1/openapi.json``, so the URL
itself is part of what is tested. Each operation gets generated requests, valid and invalid
(``test_api_conforms``); ``test_api_workflows`` chains them through the document's links
(upsert → get / edit / timeline / events) so edits and timelines of real contacts are covered.

Checks: every default schemathesis check (no server error, status codes, content types,
response schemas and headers, invalid data rejected, auth not ignored, unsupported methods)
except ``positive_data_acceptance``: the schemas describe shape only, on purpose (STYLE.md),
so a schema-valid email or phone can still be refused by the services with a 422.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from sokyaku.wsgi import application
from tests.api.factories import make_contacts

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
# Mutating the Authorization header would spend most examples on 401s; authentication has
# its own tests (test_auth.py), and the `ignored_auth` check still calls every operation
# without the key.
schema.config.generation.update(with_security_parameters=False)


@schemathesis.serializer("message/rfc822")
def _raw_mail(ctx: Any, value: Any) -> bytes:
    """The bounce webhook takes a raw mail: send the generated value as its bytes."""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


EXCLUDED_CHECKS = [positive_data_acceptance]
# Examples per operation (and scenarios for the workflows): enough to find real bugs, small
# enough for the whole file to run in well under a minute. Raise it to hunt:
# SOKYAKU_FUZZ_EXAMPLES=1000 pytest tests/api/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("SOKYAKU_FUZZ_EXAMPLES", "40"))
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    # The same examples every run, so a red CI run is reproducible and a green one stays
    # green; SOKYAKU_FUZZ_RANDOM=1 explores new ones.
    derandomize=os.environ.get("SOKYAKU_FUZZ_RANDOM") != "1",
    deadline=None,
    # The database fixtures are function-scoped on purpose: every example of a test shares
    # its transaction, and the test's data is rolled back at the end.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)

# The key of the running test: each test has its own database, so its own key.
_token: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class _BearerKey:
    """Sends the API key the way the document says (bearer), so schemathesis knows which part
    of a request is authentication."""

    def get(self, case: Any, ctx: Any) -> str:
        return _token.get("value", "")

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture(autouse=True)
def _wsgi_on_the_test_database(api_token: str) -> Iterator[None]:
    """A real key and a few contacts, and the WSGI app kept on the test's connection.

    Django closes the database connection when a request finishes; the test client switches
    that off, and so must we, or the test's transaction would go with it.
    """
    _token["value"] = api_token
    make_contacts(3)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _invalid_keys_not_limited(settings):  # type: ignore[no-untyped-def]
    """The ``ignored_auth`` check sends a wrong key to every operation, all from one address;
    the limit on invalid keys per address (tested in test_rate_limit.py) would answer the rest
    of the run with 429."""
    settings.API_AUTH_FAILURE_LIMIT = 0


def _authenticate(case: Any) -> None:
    # Cases of the examples and coverage phases are built at collection, before the test's
    # key exists: give them the current one.
    if case.headers and "Authorization" in case.headers:
        case.headers["Authorization"] = f"Bearer {_token['value']}"


@schema.parametrize()
@SETTINGS
def test_api_conforms(case: Any) -> None:
    _authenticate(case)
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)


class _Workflows(schema.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": {"Authorization": f"Bearer {_token['value']}"}}

    def validate_response(
        self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        case.validate_response(
            response,
            excluded_checks=EXCLUDED_CHECKS,
            additional_checks=additional_checks,
            headers=self.get_call_kwargs(case)["headers"],
            transport_kwargs=kwargs,
        )


def test_api_workflows() -> None:
    _Workflows.run(
        settings=settings(SETTINGS, max_examples=max(1, MAX_EXAMPLES // 2), stateful_step_count=6)
    )
