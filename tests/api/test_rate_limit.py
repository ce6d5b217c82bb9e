"""The API's rate limit per key: the draft RateLimit headers on every answer, 429 with
Retry-After and a JSON detail over the limit, the next minute open again, other keys unaffected."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.test import Client

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from tests.api.calls import JSON

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts"
T0 = datetime(2026, 4, 1, 10, 0, 20, tzinfo=clock.TOKYO)
CONTACT = {"family_name": "山田", "given_name": "太郎", "email": "taro@example.co.jp"}


def _remaining(response) -> int:  # type: ignore[no-untyped-def]
    match = re.fullmatch(r'"per-key";r=(\d+);t=(\d+)', response["RateLimit"])
    assert match, response["RateLimit"]
    return int(match[1])


def test_every_answer_states_the_policy_and_what_is_left(api: Client, settings) -> None:
    # when a key makes two requests in one minute
    with clock.frozen(T0):
        first = api.get(URL)
        second = api.get(URL)
    # then both carry the policy and the requests left, counting down; the window ends in 40 s
    assert first.status_code == second.status_code == 200
    assert first["RateLimit-Policy"] == f'"per-key";q={settings.API_RATE_LIMIT};w=60'
    assert _remaining(first) == settings.API_RATE_LIMIT - 1
    assert _remaining(second) == settings.API_RATE_LIMIT - 2
    assert second["RateLimit"].endswith(";t=40")


def test_over_the_limit_a_key_gets_429_and_nothing_runs(api: Client, settings) -> None:
    # given a limit of three requests a minute, spent
    settings.API_RATE_LIMIT = 3
    with clock.frozen(T0):
        for _ in range(3):
            assert api.get(URL).status_code == 200
        # when the key sends one more, a write
        refused = api.post(URL, CONTACT, content_type=JSON)
        # and another key sends one
        token = core_services.apikey_create(
            name="other", scopes=list(ApiScope.values), system=True
        ).token
        other = Client(headers={"Authorization": f"Bearer {token}"}).get(URL)
    # then it is refused with the JSON error shape, Retry-After and the headers; nothing stored
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("application/json")
    assert "Rate limit" in refused.json()["detail"]
    assert refused["Retry-After"] == "40"
    assert refused["RateLimit"] == '"per-key";r=0;t=40'
    assert refused["RateLimit-Policy"] == '"per-key";q=3;w=60'
    assert not Contact.objects.exists()
    # and the other key has its own allowance
    assert other.status_code == 200


def test_the_next_minute_the_key_works_again(api: Client, settings) -> None:
    # given a spent allowance
    settings.API_RATE_LIMIT = 2
    with clock.frozen(T0):
        api.get(URL)
        api.get(URL)
        assert api.get(URL).status_code == 429
        # when the minute has passed
        clock.advance(timedelta(seconds=40))
        again = api.get(URL)
    # then the key works again
    assert again.status_code == 200
    assert _remaining(again) == 1


def test_an_unknown_key_is_401_without_rate_limit_headers() -> None:
    # when a request carries no valid key
    response = Client(headers={"Authorization": "Bearer sk_00000000_nope"}).get(URL)
    # then it is 401, with nothing about a key's allowance
    assert response.status_code == 401
    assert "RateLimit" not in response


def test_guessing_keys_from_one_address_is_refused_after_the_limit(
    api_token: str, settings
) -> None:
    # given a limit of three invalid keys a minute per address
    settings.API_AUTH_FAILURE_LIMIT = 3
    guesser = Client(REMOTE_ADDR="203.0.113.7")
    valid = {"Authorization": f"Bearer {api_token}"}
    neighbour = Client(REMOTE_ADDR="198.51.100.20", headers=valid)
    with clock.frozen(T0):
        # when one address sends three unknown or malformed keys, then a fourth
        wrong = [
            guesser.get(URL, headers={"Authorization": f"Bearer {token}"})
            for token in ("sk_0123abcd_guess", "sk_deadbeef_guess", "not-a-key")
        ]
        refused = guesser.get(URL, headers={"Authorization": "Bearer sk_0badc0de_guess"})
        # and then a valid key from the same address, and from another address
        same_address = guesser.get(URL, headers=valid)
        elsewhere = neighbour.get(URL)
    # then the three are 401, and from then on the address gets 429 with Retry-After (40 s
    # to the end of the window), a valid key included, so a guesser learns nothing more
    assert [r.status_code for r in wrong] == [401, 401, 401]
    assert refused.status_code == same_address.status_code == 429
    assert refused["Retry-After"] == "40"
    assert "invalid API key" in refused.json()["detail"]
    # and other addresses are not affected
    assert elsewhere.status_code == 200
    # when the window has passed, the address may try again
    with clock.frozen(T0 + timedelta(seconds=40)):
        assert guesser.get(URL, headers=valid).status_code == 200
