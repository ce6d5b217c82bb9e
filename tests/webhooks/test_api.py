"""``/api/v1/webhooks``: subscribe (the secret once), list, get, change, delete, rotate, the
delivery log and replays, with a real receiver on 127.0.0.1; private targets refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from sokyaku.core import clock
from sokyaku.webhooks.models import Delivery
from tests.sequences.factories import contact_make
from tests.webhooks.conftest import band_changed, signed_by

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
JSON = "application/json"


def _post(api: Client, path: str, body: object) -> object:
    return api.post(path, json.dumps(body), content_type=JSON)


def test_subscribe_and_the_secret_is_shown_once(api: Client, receiver):  # type: ignore[no-untyped-def]
    # when a system subscribes to handoffs
    response = _post(
        api, "/api/v1/webhooks", {"url": receiver.url + "/in", "events": ["handoff.created"]}
    )
    # then the answer holds the secret, and later answers never do
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["handoff.created"] and created["is_active"] is True
    got = api.get(f"/api/v1/webhooks/{created['id']}").json()
    listed = api.get("/api/v1/webhooks").json()
    assert "secret" not in got and all("secret" not in item for item in listed)
    assert [item["id"] for item in listed] == [created["id"]]
    assert created["secret"] not in json.dumps(got) + json.dumps(listed)


def test_change_rotate_and_delete(api: Client, receiver):  # type: ignore[no-untyped-def]
    created = _post(
        api, "/api/v1/webhooks", {"url": receiver.url + "/in", "events": ["deal.won"]}
    ).json()
    path = f"/api/v1/webhooks/{created['id']}"
    # events and description change; disabling and enabling with is_active
    changed = api.patch(
        path,
        json.dumps({"events": ["deal.won", "order.created"], "description": "ショップ"}),
        content_type=JSON,
    ).json()
    assert changed["events"] == ["deal.won", "order.created"]
    assert changed["description"] == "ショップ"
    off = api.patch(path, json.dumps({"is_active": False}), content_type=JSON).json()
    assert off["is_active"] is False and off["disabled_at"] is not None
    # a rotation answers the new secret and how long the old one still signs
    rotated = api.post(f"{path}/rotate-secret").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert api.get(path).json()["rotation_ends_at"] == rotated["previous_secret_expires_at"]
    # delete: gone
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404


def test_the_event_types_list_names_every_type(api: Client):
    types = {item["type"] for item in api.get("/api/v1/webhooks/event-types").json()}
    assert {"handoff.created", "deal.won", "order.created", "erasure.done"} <= types
    assert len(types) == 17


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/hook", "private or local"),
        ("https://10.1.2.3/hook", "private or local"),
        ("https://[::1]/hook", "private or local"),
        ("https://169.254.169.254/latest", "private or local"),
        ("https://localhost/hook", "private or local"),
        ("http://crm.example.com/hook", "Only https://"),
        ("ftp://crm.example.com/hook", "https://"),
        ("https://user:pw@crm.example.com/hook", "user name or password"),
    ],
)
def test_a_private_or_plain_target_is_refused(api: Client, settings, url, why):  # type: ignore[no-untyped-def]
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = _post(api, "/api/v1/webhooks", {"url": url, "events": ["deal.won"]})
    assert response.status_code == 422
    (item,) = response.json()["detail"]
    assert item["loc"] == ["body", "url"] and why in item["msg"]


def test_unknown_events_are_refused_with_their_location(api: Client):
    response = _post(
        api, "/api/v1/webhooks", {"url": "https://crm.example.com/h", "events": ["deal.signed"]}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "events"]


def test_the_delivery_log_and_replays(api: Client, receiver, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    with clock.frozen(T0):
        # given a subscription whose receiver was down for the first message
        created = _post(
            api,
            "/api/v1/webhooks",
            {"url": receiver.url + "/in", "events": ["score.band_changed"]},
        ).json()
        path = f"/api/v1/webhooks/{created['id']}"
        receiver.statuses = [502]
        contact = contact_make()
        with django_capture_on_commit_callbacks(execute=True):
            band_changed(contact.pk, "warm")
        # when the log is read
        page = api.get(f"{path}/deliveries").json()
        (item,) = page["items"]
        detail = api.get(f"{path}/deliveries/{item['id']}").json()
        # then it shows the pending delivery and its refused attempt with the answer
        assert (item["status"], item["attempts"], item["last_error"]) == ("pending", 1, "HTTP 502")
        (attempt,) = detail["attempt_log"]
        assert attempt["response_status"] == 502 and attempt["succeeded"] is False
        assert attempt["request_headers"]["webhook-id"] == item["webhook_id"]
        assert json.loads(detail["body"])["type"] == "score.band_changed"
        # when it is replayed at once
        with django_capture_on_commit_callbacks(execute=True):
            replayed = api.post(f"{path}/deliveries/{item['id']}/replay").json()
        # then it is queued at once, and sent right after the answer
        assert replayed["status"] == "pending" and replayed["next_attempt_at"] is not None
        assert len(receiver.requests) == 2
        # and later a period replay of delivered ones sends it once more
        clock.advance(timedelta(minutes=5))
        with django_capture_on_commit_callbacks(execute=True):
            count = _post(
                api,
                f"{path}/replay",
                {"since": (T0 - timedelta(hours=1)).isoformat(), "status": ["delivered"]},
            ).json()
    assert count == {"replayed": 1}
    assert [r.header("webhook-id") for r in receiver.requests] == [item["webhook_id"]] * 3
    assert all(signed_by(created["secret"], r) for r in receiver.requests)
    assert Delivery.objects.get().attempt_log.count() == 3
    # and filtering the log by status finds it delivered
    assert api.get(f"{path}/deliveries?status=failed").json()["count"] == 0
    assert api.get(f"{path}/deliveries?status=delivered").json()["count"] == 1


def test_a_disabled_webhook_is_not_replayed(api: Client, receiver):  # type: ignore[no-untyped-def]
    created = _post(
        api, "/api/v1/webhooks", {"url": receiver.url + "/in", "events": ["deal.won"]}
    ).json()
    path = f"/api/v1/webhooks/{created['id']}"
    api.patch(path, json.dumps({"is_active": False}), content_type=JSON)
    response = _post(api, f"{path}/replay", {"since": "2026-01-01T00:00:00+09:00"})
    assert response.status_code == 409
    assert "disabled" in response.json()["detail"]
