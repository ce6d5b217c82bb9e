"""The speed-to-lead benchmark still runs end to end (tiny size, SQLite): every submission's
alert reaches both the SMTP sink and the webhook receiver (the case fails otherwise). Timings
are never asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_speed_to_lead_case_delivers_every_alert_by_mail_and_chat() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "SOKYAKU_DATA_DIR", "DJANGO_SETTINGS_MODULE")
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "8", "--only", "speed_to_lead",
         "--backend", "sqlite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("speed_to_lead")]
    assert [(r[1], " ".join(r[2:4]) if r[2] == "alert" else r[2]) for r in rows] == [
        ("sqlite", "submit"),
        ("sqlite", "alert mail"),
        ("sqlite", "alert chat"),
    ]
