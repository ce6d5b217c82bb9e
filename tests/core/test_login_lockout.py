"""Sign-in throttling: after too many failures for one username from one address, that pair is
locked out for the cool-off, on /login/ and on the admin's login alike, and the lockout reads
the same for an existing and an unknown username."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import F
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
LOCKED = "ログインの失敗が続いたため、しばらくログインできません。"


def _fail(client: Client, url: str, username: str, times: int, **extra: object) -> None:
    """``times`` failed attempts; the one that reaches the limit is answered with the lockout."""
    for _ in range(times):
        client.post(url, {"username": username, "password": "wrong"}, **extra)


def _normalised(html: str) -> str:
    """The page without what differs on every rendering (CSRF token, CSP nonce)."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'nonce="[^"]*"', "", html)


def test_after_the_failure_limit_even_the_right_password_is_refused(client: Client, marketer):
    # given as many failed attempts as the limit allows
    _fail(client, LOGIN, "marketer", settings.AXES_FAILURE_LIMIT)
    # when the right password follows from the same address
    response = client.post(LOGIN, {"username": "marketer", "password": "x"})
    # then the sign-in is refused with the generic Japanese message, and no one is signed in
    html = response.content.decode()
    assert response.status_code == 429
    assert LOCKED in html
    assert 'name="username"' in html
    assert client.get(reverse("contacts:list")).status_code == 302


def test_below_the_limit_a_failure_is_an_ordinary_error(client: Client, marketer):
    # given two failures fewer than the limit
    _fail(client, LOGIN, "marketer", settings.AXES_FAILURE_LIMIT - 2)
    # when one more wrong password, then the right one follow
    wrong = client.post(LOGIN, {"username": "marketer", "password": "wrong"})
    right = client.post(LOGIN, {"username": "marketer", "password": "x"})
    # then the first is the ordinary error and the second signs the person in
    assert wrong.status_code == 200
    assert "正しいユーザー名とパスワードを入力してください" in wrong.content.decode()
    assert right.status_code == 302


def test_the_lockout_reads_the_same_for_an_unknown_username(marketer):
    # given the limit of failures for an existing and for an unknown username
    known, unknown = Client(), Client()
    _fail(known, LOGIN, "marketer", settings.AXES_FAILURE_LIMIT)
    _fail(unknown, LOGIN, "nobody-here", settings.AXES_FAILURE_LIMIT)
    # when each tries once more
    answer_known = known.post(LOGIN, {"username": "marketer", "password": "x"})
    answer_unknown = unknown.post(LOGIN, {"username": "nobody-here", "password": "x"})
    # then both get the same page, which names neither the account nor the limit
    assert answer_known.status_code == answer_unknown.status_code == 429
    assert _normalised(answer_known.content.decode()) == _normalised(
        answer_unknown.content.decode()
    )
    assert "marketer" not in answer_known.content.decode()


def test_the_lockout_is_per_username_and_address(client: Client, marketer):
    # given the marketer locked out from one address
    _fail(client, LOGIN, "marketer", settings.AXES_FAILURE_LIMIT, REMOTE_ADDR="203.0.113.7")
    # when the same person signs in from another address
    response = Client().post(
        LOGIN, {"username": "marketer", "password": "x"}, REMOTE_ADDR="198.51.100.20"
    )
    # then that works
    assert response.status_code == 302


def test_the_cool_off_ends_the_lockout(client: Client, marketer):
    # given a lockout whose failures lie further back than the cool-off
    _fail(client, LOGIN, "marketer", settings.AXES_FAILURE_LIMIT)
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(minutes=1)
    )
    # when the right password is sent
    response = client.post(LOGIN, {"username": "marketer", "password": "x"})
    # then the person is signed in
    assert response.status_code == 302


def test_the_admin_login_is_throttled_too(client: Client, admin_user):
    # given the limit of failures on the admin's login page
    _fail(client, ADMIN_LOGIN, "admin", settings.AXES_FAILURE_LIMIT)
    # when the right password follows
    response = client.post(
        ADMIN_LOGIN, {"username": "admin", "password": "x", "next": reverse("admin:index")}
    )
    # then it is refused with the same message, and the admin stays closed
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_a_forged_forwarded_for_header_does_not_escape_the_lockout(client: Client, marketer):
    # given a lockout, with no proxy in front (SOKYAKU_BEHIND_PROXY unset)
    _fail(client, LOGIN, "marketer", settings.AXES_FAILURE_LIMIT)
    # when the client claims another address in X-Forwarded-For
    response = client.post(
        LOGIN,
        {"username": "marketer", "password": "x"},
        headers={"X-Forwarded-For": "198.51.100.99"},
    )
    # then it is still locked out
    assert response.status_code == 429


def test_behind_the_proxy_each_forwarded_client_is_counted_apart(
    client: Client, marketer, settings
):
    # given the app behind its proxy (SOKYAKU_BEHIND_PROXY), and one client locked out through it
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    through = {"X-Forwarded-For": "203.0.113.7"}
    _fail(client, LOGIN, "marketer", settings.AXES_FAILURE_LIMIT, headers=through)
    # when another client signs in through the same proxy, and the locked-out one tries again
    other = Client().post(
        LOGIN,
        {"username": "marketer", "password": "x"},
        headers={"X-Forwarded-For": "198.51.100.20"},
    )
    locked = client.post(LOGIN, {"username": "marketer", "password": "x"}, headers=through)
    # then only the client that failed is locked out
    assert other.status_code == 302
    assert locked.status_code == 429
