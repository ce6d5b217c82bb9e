"""The segments benchmark still runs end to end (tiny size, SQLite).

It checks that the three paths ran and the counts agreed (the case fails otherwise); it never
looks at the timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_segments_case_runs_all_paths() -> None:
    # given an environment without the test run's database settings
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SOKYAKU_DATA_DIR", "DJANGO_SETTINGS_MODULE")
    }
    # when the segments case runs at a tiny size
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "700", "--only", "segments",
         "--backend", "sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    # then the hand-written SQL, the compiled count and the build each ran over every contact
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("segments ")]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("sqlite", "sql", "700"),
        ("sqlite", "count", "700"),
        ("sqlite", "build", "700"),
    ]
