"""The import benchmark still runs end to end (tiny size, SQLite).

It checks that both paths ran and took every row; it never looks at the timings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_imports_case_runs_both_paths():
    # given an environment without the test run's database settings
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SOKYAKU_DATA_DIR", "DJANGO_SETTINGS_MODULE")
    }
    # when the imports case runs at a tiny size
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "300", "--only", "imports",
         "--backend", "sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    # then it prints one row per path, each with all 300 rows taken
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("imports")]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("sqlite", "raw", "300"),
        ("sqlite", "import", "300"),
    ]
