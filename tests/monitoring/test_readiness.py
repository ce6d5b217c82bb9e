"""``/readyz`` as a load balancer or an operator's monitoring meets it: 200 while the worker beats
and nothing is overdue, 503 with the failing check named once something is out of bounds."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from sokyaku.activity.models import PendingReaction
from sokyaku.core import clock
from sokyaku.core.services import worker_heartbeat
from sokyaku.messaging.models import Message, MessageStatus
from sokyaku.messaging.services import pausing
from sokyaku.monitoring import readiness
from tests.messaging.engine_factories import message_make

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)
Usage = namedtuple("Usage", "total used free")


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with clock.frozen(NOW):
        yield


@pytest.fixture
def roomy_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The data dir's file system reports 100 GB, half free (whatever the test machine has)."""
    monkeypatch.setattr(readiness.shutil, "disk_usage", lambda path: Usage(100e9, 50e9, 50e9))


def _ready(client: Client) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    return response.status_code, response.json()


def _failing(body: dict[str, Any]) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["ok"]}


def _reactions_done() -> None:
    """The after-commit work of storing the test's contacts ran (a test never commits)."""
    PendingReaction.objects.all().delete()


def test_all_is_well_answers_200_with_every_check(client: Client, roomy_disk: None) -> None:
    # given a worker that just beat and nothing overdue
    worker_heartbeat()

    status, body = _ready(client)

    assert status == 200
    assert body["status"] == "ready"
    assert set(body["checks"]) == {
        "database", "worker_heartbeat", "outbox", "enrollments", "reactions",
        "marketing_paused", "queue_depth", "disk",
    }  # fmt: skip
    assert all(check["ok"] for check in body["checks"].values())
    assert body["checks"]["worker_heartbeat"]["value"] == 0
    assert body["checks"]["disk"]["value"] == 50e9


def test_a_heartbeat_older_than_two_ticks_is_not_ready(client: Client, roomy_disk: None) -> None:
    # given a worker that beat, then stopped
    worker_heartbeat()

    # when two ticks and a half pass, the beat is still fresh enough; after three, it is not
    with clock.frozen(NOW + timedelta(minutes=2)):
        assert _ready(client)[0] == 200
    with clock.frozen(NOW + timedelta(minutes=3)):
        status, body = _ready(client)

    assert status == 503
    assert body["status"] == "not ready"
    assert _failing(body) == {"worker_heartbeat"}
    heartbeat = body["checks"]["worker_heartbeat"]
    assert (heartbeat["ok"], heartbeat["value"], heartbeat["limit"]) == (False, 180, 150)


def test_no_worker_ever_is_not_ready(client: Client, roomy_disk: None) -> None:
    status, body = _ready(client)
    assert status == 503
    assert body["checks"]["worker_heartbeat"]["detail"] == "no worker has run yet"


def test_mail_due_for_more_than_five_minutes_is_not_ready(client: Client, roomy_disk: None) -> None:
    # given a message queued (its delivery lost) and a worker that keeps beating
    message = message_make()
    _reactions_done()
    with clock.frozen(NOW + timedelta(minutes=6)):
        worker_heartbeat()
        status, body = _ready(client)

    assert status == 503
    assert _failing(body) == {"outbox"}
    assert body["checks"]["outbox"] == {"ok": False, "value": 360, "limit": 300}
    assert Message.objects.get(pk=message.pk).status == MessageStatus.QUEUED


def test_marketing_mail_held_by_the_pause_is_not_overdue_work(
    client: Client, roomy_disk: None
) -> None:
    # given all marketing sending paused with a newsletter queued
    message_make()
    _reactions_done()
    pausing.marketing_sending_pause(actor=None)

    with clock.frozen(NOW + timedelta(minutes=30)):
        worker_heartbeat()
        status, body = _ready(client)

    assert status == 200
    assert body["checks"]["marketing_paused"]["value"] == 1


def test_an_overdue_reaction_is_not_ready(client: Client, roomy_disk: None) -> None:
    PendingReaction.objects.create(
        created_at=NOW, due_at=NOW, event_ids=[1], contact_ids=[], reactions=["scoring"]
    )
    with clock.frozen(NOW + timedelta(minutes=10)):
        worker_heartbeat()
        status, body = _ready(client)

    assert status == 503
    assert _failing(body) == {"reactions"}


@pytest.mark.parametrize(
    ("free", "total"),
    [(0.9e9, 100e9), (4e9, 100e9)],  # under 1 GB; under 5 %
)
def test_a_disk_nearly_full_is_not_ready(
    client: Client, monkeypatch: pytest.MonkeyPatch, free: float, total: float
) -> None:
    worker_heartbeat()
    monkeypatch.setattr(
        readiness.shutil, "disk_usage", lambda path: Usage(total, total - free, free)
    )

    status, body = _ready(client)

    assert status == 503
    assert _failing(body) == {"disk"}


def test_the_bounds_come_from_the_settings(client: Client, roomy_disk: None, settings: Any) -> None:
    settings.READY_HEARTBEAT_MAX_SECONDS = 600
    worker_heartbeat()
    with clock.frozen(NOW + timedelta(minutes=9)):
        assert _ready(client)[0] == 200


def test_healthz_stays_liveness(client: Client) -> None:
    # no worker at all: alive, just not ready
    assert client.get("/healthz").status_code == 200


def test_a_head_request_gets_the_status_alone(client: Client, roomy_disk: None) -> None:
    worker_heartbeat()
    assert client.head("/readyz").status_code == 200
