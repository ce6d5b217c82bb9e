"""The speed-to-lead benchmark still runs end to end (tiny size, SQLite), in its default modes
(one lead at a time, then a burst): every submission's alert reaches both the SMTP sink and the
webhook receiver (the case fails otherwise). Timings are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV_DROPPED = (
    "DATABASE_URL",
    "SOKYAKU_DATA_DIR",
    "DJANGO_SETTINGS_MODULE",
    "SOKYAKU_BENCH_SPEED_MODES",
)


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_DROPPED}
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "speed_to_lead", "--backend", "sqlite",
         *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=420, check=False,
    )  # fmt: skip


def _path(cells: list[str]) -> str:
    """The path column: the words between the backend and the row count."""
    words = cells[2:]
    count = next(i for i, word in enumerate(words) if word.replace(",", "").isdigit())
    return " ".join(words[:count])


@pytest.mark.bench
def test_speed_to_lead_case_delivers_every_alert_one_at_a_time_and_in_a_burst() -> None:
    done = _bench("--size", "8")

    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("speed_to_lead")]
    assert [(r[1], _path(r)) for r in rows] == [
        ("sqlite", "submit"),
        ("sqlite", "alert mail"),
        ("sqlite", "alert chat"),
        ("sqlite", "burst submit"),
        ("sqlite", "burst alert mail"),
        ("sqlite", "burst alert chat"),
    ]
    assert "submissions/s achieved of 15/s" in done.stdout
    assert f"on {os.cpu_count()} CPUs" in done.stdout  # the load beside the figures


def test_an_unknown_speed_mode_is_refused_before_anything_runs() -> None:
    done = _bench("--speed-modes", "single,flood")

    assert done.returncode == 2
    assert "unknown mode flood" in done.stderr
    assert "running" not in done.stderr
