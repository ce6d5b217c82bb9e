"""Personalised mail sends per second through the engine and through django-post-office, against
raw SMTP of pre-rendered bytes.

``n = min(size, 5000)`` contacts (each with an opt-in for the topic) get one queued marketing
message each from a template with merge fields. One aiosmtpd sink, in a process of its own (as a
mail server is), receives every path's mail and counts it. Paths:

- ``raw`` (baseline): the engine's own bytes, rendered beforehand, sent with ``smtplib`` over one
  connection — the floor of what SMTP to this sink costs;
- ``engine``: ``messaging.services.delivery.outbox_tick`` — claim, consent and suppression checks,
  rendering (merge fields, CSS inlining, text part, footer), links stored, MIME build, sending
  over ``MAIL_CONNECTIONS`` connections, statuses and ``email_sent`` events written;
- ``post_office``: the peer, django-post-office, in a child process whose settings install it
  (``benchmarks/settings_post_office.py``): the same people, subject and HTML body queued with
  ``post_office.mail.send_many`` (rendered on delivery, untimed like the engine's queueing),
  then ``post_office.mail.send_queued`` until the queue is empty, with as many threads (SMTP
  connections) and as large batches as the engine.

Each path first sends ``WARM_UP`` other messages untimed; the baseline is the best of
``RAW_RUNS`` runs. The run fails if the sink did not receive every message of a path.
``SOKYAKU_BENCH_PROFILE=1`` prints a cProfile summary of the engine path.

This module is also the post-office child's entry point (``python -m benchmarks.delivery``) and
the sink process's target, so it imports Django models only inside functions.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from benchmarks.results import Measurement, Stopwatch

MAX = 5000
WARM_UP = 20  # messages each path sends untimed first (imports, URLconf, first connections)
RAW_RUNS = 3  # the baseline is the best of this many runs
SUBJECT = "{{ contact.family_name }}様 導入事例のご紹介"
BODY = (
    "<style>p{color:#333}</style><p>{{ contact.family_name }}様</p>"
    "<p>{{ contact.company_name|default:'貴社' }}の皆様に、導入事例をお届けします。</p>"
    '<p><a href="https://sample.example/case">事例を読む</a> / '
    '<a href="https://sample.example/demo">デモを予約</a></p>'
)
# post-office sends the text part its template gives: the same words, written by hand.
TEXT = (
    "{{ contact.family_name }}様\n\n"
    "{{ contact.company_name|default:'貴社' }}の皆様に、導入事例をお届けします。\n\n"
    "事例を読む\nhttps://sample.example/case\nデモを予約\nhttps://sample.example/demo\n"
)
FROM_NAME, FROM_EMAIL = "株式会社サンプル", "info@sample.example"
ROOT = Path(__file__).resolve().parent.parent


def _person(i: int) -> tuple[str, str]:
    """The i-th recipient: family name and address (the same for every path)."""
    return f"佐藤{i}", f"bench{i}@example.co.jp"


# --- The sink: its own process, counting what it accepts --------------------------------------


def _sink_serve(port: int, count: Synchronized[int], ready: Event, stop: Event) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            with count.get_lock():
                count.value += 1
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


@dataclass
class _Sink:
    port: int
    counter: Synchronized[int]

    @property
    def count(self) -> int:
        return int(self.counter.value)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _sink() -> Iterator[_Sink]:
    # "spawn": a fresh interpreter, not a fork of this process with its threads and connections.
    context = multiprocessing.get_context("spawn")
    port = _free_port()
    counter = context.Value("q", 0)
    ready, stop = context.Event(), context.Event()
    process = context.Process(
        target=_sink_serve, args=(port, counter, ready, stop), name="smtp-sink", daemon=True
    )
    process.start()
    try:
        deadline = time.monotonic() + 60
        while not ready.wait(0.1):
            if not process.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the SMTP sink did not start")
        yield _Sink(port=port, counter=counter)
    finally:
        stop.set()
        process.join(10)
        if process.is_alive():
            process.kill()


def _expect(path: str, sink: _Sink, before: int, n: int) -> None:
    received = sink.count - before
    if received != n:
        raise RuntimeError(f"{path}: the sink received {received} messages, expected {n}")


# --- The engine and raw paths (in the benchmark's process) -------------------------------------


def _setup(n: int) -> tuple[list[int], list[int]]:
    """Contacts with consent and one queued message each: the warm-up ids, the timed ids."""
    from django.db import transaction

    from benchmarks.segments import _insert_rows
    from sokyaku.consent.models import (
        ConsentRecord,
        ConsentSource,
        ConsentStatus,
        ConsentTopic,
        LegalBasis,
    )
    from sokyaku.contacts.models import Contact
    from sokyaku.core import clock
    from sokyaku.messaging.models import Message, SenderProfile, Stream, Template

    now = clock.now()
    rows: list[dict[str, object]] = []
    for i in range(n + WARM_UP):
        family_name, email = _person(i)
        rows.append(
            {
                "family_name": family_name,
                "given_name": "花子",
                "email": email,
                "dedupe_key": f"e:{email}",
            }
        )
    _insert_rows(Contact, rows, Contact(created_at=now, updated_at=now))
    topic = ConsentTopic.objects.get_or_create(key="newsletter", defaults={"name": "メルマガ"})[0]
    contacts = list(Contact.objects.order_by("pk").values_list("pk", "email"))
    ConsentRecord.objects.bulk_create(
        [
            ConsentRecord(
                contact_id=pk,
                topic=topic,
                status=ConsentStatus.GRANTED,
                legal_basis=LegalBasis.OPT_IN,
                source=ConsentSource.IMPORT,
                recorded_at=now,
            )
            for pk, _email in contacts
        ],
        batch_size=1000,
    )
    sender = SenderProfile.objects.create(
        name="bench",
        stream=Stream.MARKETING,
        from_name=FROM_NAME,
        from_email=FROM_EMAIL,
        sender_name=FROM_NAME,
        postal_address="東京都千代田区1-1",
        complaints_contact="03-0000-0000",
        unsubscribe_wording="配信停止をご希望の方は、こちらから手続きしてください。",
        created_at=now,
        updated_at=now,
    )
    template = Template.objects.create(
        name="bench", subject=SUBJECT, body_html=BODY, created_at=now, updated_at=now
    )
    with transaction.atomic():
        Message.objects.bulk_create(
            [
                Message(
                    dedupe_key=f"bench:{pk}",
                    channel="email",
                    stream=Stream.MARKETING,
                    contact_id=pk,
                    to_address=email,
                    sender=sender,
                    template=template,
                    topic_key="newsletter",
                    created_at=now,
                )
                for pk, email in contacts
            ],
            batch_size=1000,
        )
    ids = list(Message.objects.order_by("pk").values_list("pk", flat=True))
    return ids[n:], ids[:n]


def _prerendered(ids: list[int]) -> list[tuple[str, str, bytes]]:
    """The engine's own bytes for the messages ``ids`` (built once, outside the timing)."""
    from sokyaku.messaging.mime import MimePolicy, mime_build
    from sokyaku.messaging.models import Message

    policy = MimePolicy()
    items = []
    for message in Message.objects.filter(pk__in=ids).select_related("sender").order_by("pk"):
        data = mime_build(
            headers=message.headers, text=message.body_text, html=message.body_html, policy=policy
        )
        items.append((message.sender.from_email, message.to_address, data))  # type: ignore[union-attr]
    return items


def _engine(sink: _Sink, warm_up: list[int], n: int) -> Stopwatch:
    from django.conf import settings

    from sokyaku.messaging.models import Message, MessageStatus
    from sokyaku.messaging.services import delivery

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.MAIL_DOMAIN_RATE = 0
    delivery.messages_deliver(message_ids=warm_up)
    before = sink.count
    watch = Stopwatch()
    profile = None
    if os.environ.get("SOKYAKU_BENCH_PROFILE"):
        import cProfile

        profile = cProfile.Profile()
    with watch.running():
        if profile is not None:
            profile.enable()
        while delivery.outbox_tick().handled:
            pass
        if profile is not None:
            profile.disable()
    if profile is not None:
        import pstats

        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(
            int(os.environ.get("SOKYAKU_BENCH_PROFILE_LINES", "40"))
        )
    sent = Message.objects.filter(status=MessageStatus.SENT).count()
    if sent != n + len(warm_up):
        raise RuntimeError(f"engine: {sent} messages sent, expected {n + len(warm_up)}")
    _expect("engine", sink, before, n)
    return watch


def _raw(sink: _Sink, ids: list[int]) -> float:
    """The best of ``RAW_RUNS`` runs (the baseline is the floor; noise only adds to it)."""
    items = _prerendered(ids)
    best = float("inf")
    for _run in range(RAW_RUNS):
        before = sink.count
        watch = Stopwatch()
        with watch.running():
            smtp = smtplib.SMTP("127.0.0.1", sink.port)
            for envelope_from, to, data in items:
                smtp.sendmail(envelope_from, [to], data)
            smtp.quit()
        _expect("raw", sink, before, len(ids))
        best = min(best, watch.seconds)
    return best


# --- The django-post-office peer (in a child process with its own settings) --------------------


def _post_office(sink: _Sink, n: int, batch: int, connections: int, timeout: float) -> float:
    """Run the peer in a child process; the seconds its sending took."""
    before = sink.count
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings_post_office",
        "SOKYAKU_SMTP_URL": f"smtp://127.0.0.1:{sink.port}",
        "SOKYAKU_MAIL_BATCH": str(batch),
        "SOKYAKU_MAIL_CONNECTIONS": str(connections),
    }
    command = [sys.executable, "-m", "benchmarks.delivery", "--post-office", str(n)]
    done = subprocess.run(
        command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"post_office: the child failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["sent"] != n + WARM_UP:
        raise RuntimeError(f"post_office: {result['sent']} sent, expected {n + WARM_UP}")
    _expect("post_office", sink, before, n + WARM_UP)
    return float(result["seconds"])


def _post_office_child(n: int) -> int:
    """Inside the peer's process: migrate (adds post-office's tables), queue, send, report."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from post_office import mail
    from post_office.models import STATUS, Email, EmailTemplate

    template = EmailTemplate.objects.create(
        name="bench", subject=SUBJECT, content=TEXT, html_content=BODY
    )
    queued = []
    for i in range(n + WARM_UP):
        family_name, email = _person(i)
        queued.append(
            {
                "recipients": [email],
                "sender": f"{FROM_NAME} <{FROM_EMAIL}>",
                "template": template,
                "context": {"contact": {"family_name": family_name, "company_name": ""}},
                "render_on_delivery": True,
            }
        )
    mail.send_many(queued[n:])
    mail.send_queued(processes=1)  # the warm-up, untimed
    for start in range(0, n, 1000):
        mail.send_many(queued[start : min(n, start + 1000)])
    started = time.perf_counter()
    while mail.get_queued().exists():
        mail.send_queued(processes=1)
    seconds = time.perf_counter() - started
    sent = Email.objects.filter(status=STATUS.sent).count()
    print(json.dumps({"seconds": seconds, "sent": sent}))
    return 0


# --- The case ----------------------------------------------------------------------------------


def delivery_run(size: int, backend: str, data_dir: Path) -> list[Measurement]:
    from django.conf import settings

    n = min(size, MAX)
    settings.MAIL_BATCH = 200
    connections = settings.MAIL_CONNECTIONS
    timeout = 240 * max(1.0, n / 2000)
    with _sink() as sink:
        warm_up, timed = _setup(n)
        engine_time = _engine(sink, warm_up, n)
        raw_seconds = _raw(sink, timed)
        post_office_seconds = _post_office(sink, n, settings.MAIL_BATCH, connections, timeout)

    def ratio(seconds: float) -> float:
        return raw_seconds / seconds if seconds else 0.0

    return [
        Measurement(
            "delivery",
            backend,
            "raw",
            n,
            raw_seconds,
            baseline=True,
            note=f"pre-rendered bytes, smtplib, one connection; best of {RAW_RUNS}",
        ),
        Measurement(
            "delivery",
            backend,
            "engine",
            n,
            engine_time.seconds,
            note=f"{ratio(engine_time.seconds):.2f}× raw; {connections} connections",
        ),
        Measurement(
            "delivery",
            backend,
            "post_office",
            n,
            post_office_seconds,
            note=f"{ratio(post_office_seconds):.2f}× raw; django-post-office, "
            f"{connections} threads",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.delivery",
        description="The django-post-office peer of the delivery benchmark (run by it).",
    )
    parser.add_argument("--post-office", type=int, metavar="N", required=True)
    args = parser.parse_args(argv)
    return _post_office_child(args.post_office)


if __name__ == "__main__":
    sys.exit(main())
