"""Crash test: a real worker process (four threads, each delivering its own share of the
messages, as a broadcast queues them) sends to a real SMTP server, is killed with SIGKILL in
the middle, and is restarted.

The bound it states and checks (docs/messaging.md): every message is delivered, and the only
Message-IDs that may arrive twice are those of the batch that was on the wire at the kill
(accepted by the server, but the worker died before writing ``sent``): the threads of one
process take turns at the wire, so duplicates ≤ ``MAIL_BATCH`` × worker processes killed.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.messaging.smtp_sinks import free_port

COUNT = 300
BATCH = 40
THREADS = 4
SHARE = 60  # ids per delivery task: five tasks for four threads
# Short, so the restart need not wait long; but longer than a batch takes on a busy machine. A
# lease that runs out while its batch is still being delivered lets another thread claim and
# send those messages too (the product's lease is 300 s for that reason).
LEASE = 10

_SETUP = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sokyaku.settings")
django.setup()
from django.db import transaction
from huey.contrib.djhuey import HUEY
from sokyaku.core import clock
from sokyaku.messaging.models import SenderProfile, Stream, Template
from sokyaku.messaging.services.outbox import message_enqueue
now = clock.now()
sender = SenderProfile.objects.create(name="tx", stream=Stream.TRANSACTIONAL, from_name="サンプル",
    from_email="info@sample.example", created_at=now, updated_at=now)
template = Template.objects.create(name="t",
    subject="{{ contact.family_name|default:'お客' }}様へのお知らせ",
    body_html="<p>こんにちは</p><p><a href='https://sample.example/x'>x</a></p>",
    created_at=now, updated_at=now)
with transaction.atomic():
    for i in range(%(count)d):
        message_enqueue(dedupe_key=f"crash:{i}", contact=None, stream=Stream.TRANSACTIONAL,
            to_address=f"p{i}@example.jp", sender=sender, template=template)
HUEY.flush()  # the deliveries below are queued in shares, one task per share
"""

_DELIVER = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sokyaku.settings")
django.setup()
from sokyaku.messaging.models import Message
from sokyaku.messaging.tasks import messages_deliver
ids = sorted(Message.objects.values_list("pk", flat=True))
for start in range(0, len(ids), %(share)d):
    messages_deliver(ids[start : start + %(share)d])
"""

_DRAIN = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sokyaku.settings")
django.setup()
from sokyaku.messaging.tasks import outbox_drain
outbox_drain()
"""


def _statuses(data_dir: Path) -> collections.Counter[str]:
    with sqlite3.connect(data_dir / "sokyaku.sqlite3", timeout=30) as db:
        rows = db.execute("SELECT status, count(*) FROM messaging_message GROUP BY status")
        return collections.Counter({status: int(n) for status, n in rows.fetchall()})


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sokyaku.cli", "worker", "--threads", str(THREADS)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _wait(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_killed_worker_loses_nothing_and_duplicates_at_most_what_was_in_flight(
    tmp_path: Path, migrated_data_dir
):
    from aiosmtpd.controller import Controller

    received: list[str] = []

    class SlowSink:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            await asyncio.sleep(0.01)  # a real server takes time: the kill must land mid-batch
            for line in bytes(envelope.original_content).split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    received.append(line.split(b":", 1)[1].strip().decode())
                    break
            return "250 OK"

    port = free_port()
    controller = Controller(SlowSink(), hostname="127.0.0.1", port=port)
    controller.start()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        SOKYAKU_DATA_DIR=str(tmp_path),
        SOKYAKU_TASKS_IMMEDIATE="0",
        SOKYAKU_SMTP_URL=f"smtp://127.0.0.1:{port}",
        SOKYAKU_MAIL_LEASE_SECONDS=str(LEASE),
        SOKYAKU_MAIL_BATCH=str(BATCH),
        SOKYAKU_MAIL_CONNECTIONS="2",
        SOKYAKU_MAIL_DOMAIN_RATE="0",
    )
    try:
        # given COUNT queued messages and a worker whose threads deliver them share by share
        migrated_data_dir(tmp_path)
        subprocess.run([sys.executable, "-c", _SETUP % {"count": COUNT}], env=env, check=True)
        worker = _worker(env)
        subprocess.run([sys.executable, "-c", _DELIVER % {"share": SHARE}], env=env, check=True)

        # when it is killed with SIGKILL in the middle of the batch
        _wait(lambda: len(received) >= COUNT // 3, timeout=60)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        at_kill = _statuses(tmp_path)
        in_flight = at_kill["sending"]
        assert 0 < len(received) < COUNT, "the kill must land mid-batch"

        # and restarted once the dead worker's lease ran out
        time.sleep(LEASE + 0.5)
        worker = _worker(env)
        try:
            subprocess.run([sys.executable, "-c", _DRAIN], env=env, check=True)
            _wait(lambda: _statuses(tmp_path)["sent"] == COUNT, timeout=90)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    finally:
        controller.stop()

    # then every message was delivered, and duplicates are at most the one batch the killed
    # process had on the wire (MAIL_BATCH × one worker process), never one per thread
    assert _statuses(tmp_path) == collections.Counter({"sent": COUNT})
    assert len(set(received)) == COUNT
    duplicates = len(received) - len(set(received))
    assert duplicates <= in_flight
    assert duplicates <= BATCH * 1
