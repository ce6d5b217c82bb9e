"""The scoring benchmark still runs end to end (tiny size, SQLite).

It checks that both paths ran over every event; it never looks at the timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_scoring_case_runs_both_paths():
    # given an environment without the test run's database settings
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SOKYAKU_DATA_DIR", "DJANGO_SETTINGS_MODULE")
    }
    # when the scoring case runs at a tiny size
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "200", "--only", "scoring",
         "--backend", "sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    # then it prints the aggregate and the recompute, each over all 2,000 events
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("scoring ")]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("sqlite", "aggregate", "2,000"),
        ("sqlite", "recompute", "2,000"),
    ]
