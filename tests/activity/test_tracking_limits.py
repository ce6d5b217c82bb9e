"""Limits on the public tracking endpoints: one client cannot write without bound, per address,
per visitor, in new visitors, nor everyone together; over a limit the collector answers 429 and
the pixel still answers its image, and nothing is stored."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.activity import tracking
from sokyaku.activity.models import Event, Visitor
from sokyaku.core import clock

pytestmark = pytest.mark.django_db

COLLECT = reverse("tracking:collect")
PIXEL = reverse("tracking:pixel")
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
T0 = datetime(2026, 4, 1, 10, 0, 5, tzinfo=clock.TOKYO)


def _client(ip: str = "203.0.113.7") -> Client:
    return Client(headers={"User-Agent": CHROME}, REMOTE_ADDR=ip)


def _views(*visitor_ids: str) -> list[dict[str, str]]:
    return [
        {"visitor_id": vid, "url": f"https://www.example.co.jp/p/{n}"}
        for n, vid in enumerate(visitor_ids)
    ]


def _beacon(client: Client, views: list[dict[str, str]]):  # type: ignore[no-untyped-def]
    return client.post(COLLECT, json.dumps(views), content_type="text/plain;charset=UTF-8")


def _new_ids(n: int) -> list[str]:
    return [secrets.token_hex(16) for _ in range(n)]


def test_one_client_cannot_mint_visitors_without_bound(settings) -> None:
    # given one client sending page views of ever new visitors, by beacon and by pixel
    client = _client()
    with clock.frozen(T0):
        answers = [_beacon(client, _views(*_new_ids(10))).status_code for _ in range(60)]
        pixels = [client.get(PIXEL, {"url": "https://www.example.co.jp/"}) for _ in range(30)]
    # then only the address's budget of new visitors was created
    assert Visitor.objects.count() == settings.TRACKING_NEW_VISITORS_PER_IP
    assert Event.objects.count() == settings.TRACKING_NEW_VISITORS_PER_IP
    assert answers.count(204) == settings.TRACKING_NEW_VISITORS_PER_IP // 10
    assert set(answers[settings.TRACKING_NEW_VISITORS_PER_IP // 10 :]) == {429}
    # and the pixel still answered an image each time, without handing out visitor cookies
    assert {p.status_code for p in pixels} == {200}
    assert all(p.content.startswith(b"GIF89a") for p in pixels)
    assert not any(tracking.COOKIE_NAME in p.cookies for p in pixels)


def test_a_refused_beacon_says_when_to_come_back(settings) -> None:
    # given a budget of ten new visitors, spent
    settings.TRACKING_NEW_VISITORS_PER_IP = 10
    client = _client()
    with clock.frozen(T0):
        _beacon(client, _views(*_new_ids(10)))
        # when one more new visitor comes from the address
        refused = _beacon(client, _views(*_new_ids(1)))
    # then the answer is 429 with Retry-After up to the window's end and a JSON detail
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= settings.TRACKING_WINDOW_SECONDS
    assert refused.json()["detail"]
    assert refused["Access-Control-Allow-Origin"] == "*"


def test_the_next_window_accepts_the_client_again(settings) -> None:
    # given an address that spent its new visitors
    settings.TRACKING_NEW_VISITORS_PER_IP = 10
    client = _client()
    with clock.frozen(T0):
        _beacon(client, _views(*_new_ids(10)))
        assert _beacon(client, _views(*_new_ids(1))).status_code == 429
        # when the window has passed
        clock.advance(timedelta(seconds=settings.TRACKING_WINDOW_SECONDS))
        again = _beacon(client, _views(*_new_ids(1)))
    # then it is accepted
    assert again.status_code == 204
    assert Visitor.objects.count() == 11


def test_one_visitor_has_a_limit_of_its_own(settings) -> None:
    # given a visitor that sent as many page views as one visitor may in a window
    vid = _new_ids(1)[0]
    client = _client()
    with clock.frozen(T0):
        for _ in range(settings.TRACKING_VISITOR_LIMIT // 10):
            assert _beacon(client, _views(*[vid] * 10)).status_code == 204
        # when it sends one more, even from another address
        refused = _beacon(_client("198.51.100.20"), _views(vid))
        other = _beacon(client, _views(*_new_ids(1)))
    # then that view is refused and another visitor's is not
    assert refused.status_code == 429
    assert other.status_code == 204
    assert Event.objects.filter(visitor_id=vid).count() == settings.TRACKING_VISITOR_LIMIT


def test_one_address_has_a_limit_of_page_views(settings) -> None:
    # given an address allowed 30 page views a window, of visitors already known
    settings.TRACKING_IP_LIMIT = 30
    known = _new_ids(10)
    client = _client()
    with clock.frozen(T0):
        _beacon(client, _views(*known))
        _beacon(client, _views(*known))
        _beacon(client, _views(*known))
        # when it sends more
        refused = _beacon(client, _views(known[0]))
        elsewhere = _beacon(_client("198.51.100.20"), _views(known[0]))
    # then they are refused there, not from another address
    assert refused.status_code == 429
    assert elsewhere.status_code == 204
    assert Event.objects.count() == 31


def test_a_global_cap_protects_the_database(settings) -> None:
    # given a cap of 20 page views a window from everyone together
    settings.TRACKING_GLOBAL_LIMIT = 20
    with clock.frozen(T0):
        for n in range(4):
            assert _beacon(_client(f"198.51.100.{n}"), _views(*_new_ids(5))).status_code == 204
        # when anyone else sends a view, by beacon or by pixel
        beacon = _beacon(_client("203.0.113.99"), _views(*_new_ids(1)))
        pixel = _client("203.0.113.98").get(PIXEL, {"url": "https://www.example.co.jp/"})
    # then nothing more is stored, and the pixel still answers its image
    assert beacon.status_code == 429
    assert pixel.status_code == 200
    assert pixel.content.startswith(b"GIF89a")
    assert Event.objects.count() == 20


def test_behind_the_proxy_the_forwarded_client_is_counted(settings) -> None:
    # given the app behind its proxy, and one forwarded client that spent its new visitors
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRACKING_NEW_VISITORS_PER_IP = 10
    proxy = "10.0.0.2"
    first = Client(headers={"User-Agent": CHROME, "X-Forwarded-For": "203.0.113.7"})
    second = Client(headers={"User-Agent": CHROME, "X-Forwarded-For": "198.51.100.20"})
    with clock.frozen(T0):
        first.post(
            COLLECT,
            json.dumps(_views(*_new_ids(10))),
            content_type="text/plain",
            REMOTE_ADDR=proxy,
        )
        # when each client sends one more new visitor through the same proxy
        refused = first.post(
            COLLECT, json.dumps(_views(*_new_ids(1))), content_type="text/plain", REMOTE_ADDR=proxy
        )
        accepted = second.post(
            COLLECT, json.dumps(_views(*_new_ids(1))), content_type="text/plain", REMOTE_ADDR=proxy
        )
    # then only the client that spent its budget is refused
    assert refused.status_code == 429
    assert accepted.status_code == 204
