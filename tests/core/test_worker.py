"""The worker: a real Huey consumer (SQLite queue by default, Redis with REDIS_URL) runs tasks
that the web process enqueues."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail


def _env(data_dir: Path, redis_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(SOKYAKU_DATA_DIR=str(data_dir), SOKYAKU_TASKS_IMMEDIATE="0")
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def _heartbeats(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "sokyaku.sqlite3") as db:
        return int(db.execute("SELECT count(*) FROM core_workerheartbeat").fetchone()[0])


def _run_worker_and_enqueue(data_dir: Path, redis_url: str = "") -> int:
    env = _env(data_dir, redis_url)
    cli = [sys.executable, "-m", "sokyaku.cli"]
    worker = subprocess.Popen([*cli, "worker", "--threads", "1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        # the web side enqueues a task (a plain call of a Huey task enqueues it)
        enqueue = (
            "import django, os;"
            "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'sokyaku.settings');"
            "django.setup(); from sokyaku.core.tasks import heartbeat; heartbeat()"
        )
        subprocess.run([sys.executable, "-c", enqueue], env=env, check=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _heartbeats(data_dir) == 0:
            time.sleep(0.2)
        return _heartbeats(data_dir)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)


def test_sqlite_queue_worker_runs_an_enqueued_task(tmp_path: Path, migrated_data_dir):
    migrated_data_dir(tmp_path)
    assert _run_worker_and_enqueue(tmp_path) >= 1


@pytest.mark.redis
def test_redis_queue_worker_runs_an_enqueued_task(tmp_path: Path, migrated_data_dir):
    url = os.environ.get("REDIS_URL", "")
    if not url:
        skip_or_fail("REDIS_URL is not set: the Redis queue is not tested")
    import redis

    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        skip_or_fail(f"Redis at {url} is not reachable: {exc}")
    migrated_data_dir(tmp_path)
    assert _run_worker_and_enqueue(tmp_path, redis_url=url) >= 1
