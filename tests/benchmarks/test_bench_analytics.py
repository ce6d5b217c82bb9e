"""The analytics benchmark still runs end to end (tiny size, SQLite): the hand-written SQL, the
raw metrics, the rollups and the dashboard agree (the case fails otherwise). Timings are never
asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_analytics_case_agrees_with_the_hand_written_sql() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SOKYAKU_DATA_DIR", "DJANGO_SETTINGS_MODULE")
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "500", "--only", "analytics",
         "--backend", "sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("analytics ")]
    assert [(r[1], r[2]) for r in rows] == [
        ("sqlite", "sql"),
        ("sqlite", "raw"),
        ("sqlite", "kpis"),
        ("sqlite", "channels"),
        ("sqlite", "dashboard"),
        ("sqlite", "rebuild"),
        ("sqlite", "refresh"),
    ]
