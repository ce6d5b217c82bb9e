"""The delivery benchmark still runs end to end (tiny size, SQLite): the raw, engine and
django-post-office paths each send every message to the sink (the case fails otherwise).
Timings are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_delivery_case_sends_every_message_all_three_ways() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SOKYAKU_DATA_DIR", "DJANGO_SETTINGS_MODULE")
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "40", "--only", "delivery",
         "--backend", "sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("delivery")]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("sqlite", "raw", "40"),
        ("sqlite", "engine", "40"),
        ("sqlite", "post_office", "40"),
    ]
