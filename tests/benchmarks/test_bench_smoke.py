"""The benchmark runner still works end to end (tiny size, SQLite, real gunicorn over loopback).

It checks that every path ran and stored every row; it never looks at the timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_ingest_case_runs_every_path():
    # given an environment without the test run's database settings
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SOKYAKU_DATA_DIR", "DJANGO_SETTINGS_MODULE")
    }
    # when the ingest case runs at a tiny size
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "300", "--only", "ingest",
         "--backend", "sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    # then it prints one row per path, each with all 300 rows stored
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("ingest")]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("sqlite", "raw", "300"),
        ("sqlite", "service", "300"),
        ("sqlite", "http", "300"),
    ]
