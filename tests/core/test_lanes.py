"""Worker lanes: periodic ticks and the hot path are taken before bulk work queued earlier.

The product's own Huey instance is pointed at a real queue of the class the settings choose in
each mode (SQLite file; Redis priority queue), tasks are enqueued the way the web process and
the consumer's scheduler enqueue them, and ``HUEY.dequeue()`` — what a free worker thread
calls — says in which order they run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import huey
import pytest
from django.utils.module_loading import autodiscover_modules
from huey.api import PeriodicTask
from huey.contrib.djhuey import HUEY

from sokyaku.core import lanes
from tests.conftest import skip_or_fail

autodiscover_modules("tasks")  # what the consumer does at start: every app's tasks registered

BULK_PERIODIC = {
    "sokyaku.analytics.tasks.rollups_refresh_task",
    "sokyaku.segments.tasks.segments_refresh_hourly",
    "sokyaku.segments.tasks.segments_refresh_nightly",
    "sokyaku.scoring.predictive.tasks.predictions_refresh_daily",
}


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        skip_or_fail("REDIS_URL is not set: the Redis queue is not tested")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {url} is not reachable: {exc}")
    return url


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def queue(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The product's HUEY, not immediate, on a fresh queue of the mode's storage class."""
    name = f"lanes-{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        storage = huey.SqliteHuey.storage_class(name, filename=str(tmp_path / "tasks.sqlite3"))
    else:
        storage = huey.PriorityRedisHuey.storage_class(name, url=_redis_url())
    monkeypatch.setattr(HUEY, "storage", storage)
    monkeypatch.setattr(HUEY, "_immediate", False)
    yield request.param
    storage.flush_all()


def _scheduler_enqueues(at: datetime) -> list[str]:
    """What the consumer's scheduler does each minute: enqueue the periodic tasks due."""
    due = HUEY.read_periodic(at)
    for task in due:
        HUEY.enqueue(task)
    return [task.name for task in due]


def _drain() -> list[tuple[str, tuple[object, ...]]]:
    """What the worker threads would take, in order: (task name, arguments)."""
    taken = []
    while (task := HUEY.dequeue()) is not None:
        taken.append((task.name, tuple(task.args)))
    return taken


def test_every_task_names_its_lane() -> None:
    tasks = HUEY._registry._registry
    assert len(tasks) >= 25
    known = (lanes.TICK, lanes.SEND, lanes.HOT, lanes.BULK)
    assert {name for name, cls in tasks.items() if cls.default_priority not in known} == set()
    periodic = {
        name: cls.default_priority for name, cls in tasks.items() if issubclass(cls, PeriodicTask)
    }
    assert {name for name, lane in periodic.items() if lane != lanes.TICK} == BULK_PERIODIC
    assert all(periodic[name] == lanes.BULK for name in BULK_PERIODIC)


def test_a_tick_is_taken_before_the_bulk_work_queued_ahead_of_it(queue: str) -> None:
    from sokyaku.activity.tasks import reactions_run_task
    from sokyaku.contacts.tasks import import_run_task
    from sokyaku.messaging.tasks import broadcast_start_task, messages_deliver
    from sokyaku.scoring.tasks import recompute_task

    # given a burst of bulk work: imports, a broadcast and its deliveries, recomputes
    for job_id in range(300):
        import_run_task(job_id)
    broadcast_start_task(1)
    for chunk in range(20):
        messages_deliver([chunk], priority=lanes.BULK)
    recompute_task(7)
    bulk = 300 + 1 + 20 + 1
    # and, after it, the hot path: a submission's reactions and a sales alert's delivery
    reactions_run_task(42)
    messages_deliver([4242])
    # when the scheduler's minute comes
    ticks = _scheduler_enqueues(datetime(2026, 12, 7, 10, 0))
    order = [name for name, _args in _drain()]
    # then every tick (outbox, sequences, SLA, band drops, heartbeat, repairs) comes first,
    # the hot path next, and the bulk work after both
    bulk_periodic = {name.rsplit(".", 1)[1] for name in BULK_PERIODIC}
    tick_names = [name for name in ticks if name not in bulk_periodic]
    assert {"outbox_tick", "sequences_tick_task",
            "sla_tick_task", "import_sweep",
            "heartbeat"} <= set(tick_names)  # fmt: skip
    assert sorted(order[: len(tick_names)]) == sorted(tick_names)
    assert order[len(tick_names) : len(tick_names) + 2] == [
        "messages_deliver",
        "reactions_run_task",
    ]
    assert len(order) == len(ticks) + 2 + bulk
    # and a periodic bulk job (rollups) waits its turn behind the bulk work queued before it
    assert order[-1] == "rollups_refresh_task"


@pytest.mark.django_db(transaction=True)
def test_a_broadcast_queues_its_deliveries_on_the_bulk_lane(queue: str) -> None:
    from sokyaku.activity.tasks import reactions_run_task
    from sokyaku.messaging.services.outbox import deliver_after_commit

    # given a broadcast's deliveries asked for after its commit
    deliver_after_commit([1, 2, 3], bulk=True)
    # when a form submission then queues its reactions and its mail
    reactions_run_task(5)
    deliver_after_commit([9])
    # then the submission's mail is taken first, its reactions next, the broadcast after both
    assert _drain() == [
        ("messages_deliver", ([9],)),
        ("reactions_run_task", (5,)),
        ("messages_deliver", ([1, 2, 3],)),
    ]
