"""Speed to lead: a demo-request form submitted on the public form → the sales alert received by
the rep's mail server and by the team's chat webhook.

The production processes run as they do in a deployment: the web server (gunicorn, as
``sokyaku serve`` starts it) and the worker (``sokyaku worker``), on this backend's database and,
for PostgreSQL when ``REDIS_URL`` is set, with Huey on Redis; the embedded default (SQLite) uses
Huey on SQLite, as ``sokyaku demo`` does. Two receivers run in processes of their own, as a
mail server and a chat service are: an aiosmtpd sink and an HTTP webhook receiver; each notes
the wall-clock time at which the alert for each lead arrives.

``n = min(size, 200)`` people each fill in the hosted form (rendered beforehand, as a browser
does; the form asks for no minimum fill time and no rate limit here), one after another: the
next submits once the previous one's alerts have arrived, so each measurement is one lead's
latency on an otherwise idle system, not the wait in a queue a flood of submissions builds up
(see the README for a burst). Paths:

- ``submit`` (baseline): the HTTP round trip of the submission itself — the transaction that
  stores the contact, the event, the score and the handoff; an alert cannot arrive before it;
- ``alert mail`` and ``alert chat``: from the moment the POST starts to the moment the receiver
  has the alert for that person.

Each path's ``seconds`` is the median (p50) over the n leads; the note gives p95. Ratios are to
the median submit round trip. ``WARM_UP`` submissions go first, untimed. The run fails if an
alert is missing after ``WAIT`` seconds.
"""

from __future__ import annotations

import email
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from benchmarks.results import Measurement

MAX = 200
WARM_UP = 5
WAIT = 90.0  # seconds to wait for the last alert
SLUG = "demo-request"
LEAD_RE = re.compile(r"lead(\d+)@bench\.example\.co\.jp")
REPS = (("田中", "健太", "kenta"), ("鈴木", "由美", "yumi"), ("高橋", "翔太", "shota"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- Receivers, each in its own process; they report (kind, lead, time) on a queue -------------


def _smtp_serve(port: int, out: Queue[tuple[str, int, float]], ready: Event, stop: Event) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
            at = time.time()
            message = email.message_from_bytes(envelope.content, policy=policy.default)
            body = message.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            match = LEAD_RE.search(text)
            if match:
                out.put(("mail", int(match.group(1)), at))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()


def _webhook_serve(
    port: int, out: Queue[tuple[str, int, float]], ready: Event, stop: Event
) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            at = time.time()
            length = int(self.headers.get("Content-Length") or 0)
            payload = self.rfile.read(length).decode("utf-8", "replace")
            match = LEAD_RE.search(payload)
            if match:
                out.put(("chat", int(match.group(1)), at))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.timeout = 0.2
    ready.set()
    while not stop.is_set():
        server.handle_request()
    server.server_close()


@dataclass
class _Receivers:
    smtp_port: int
    webhook_port: int
    queue: Queue[tuple[str, int, float]]
    arrived: dict[tuple[str, int], float]

    def drain(self) -> None:
        while True:
            try:
                kind, lead, at = self.queue.get_nowait()
            except Exception:  # noqa: BLE001 - queue.Empty from another module
                return
            self.arrived.setdefault((kind, lead), at)

    def wait_for(self, leads: list[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wanted = {(kind, lead) for lead in leads for kind in ("mail", "chat")}
        while True:
            self.drain()
            missing = wanted - self.arrived.keys()
            if not missing:
                return
            if time.monotonic() > deadline:
                sample = sorted(missing)[:5]
                raise RuntimeError(
                    f"{len(missing)} alerts did not arrive within {timeout:.0f} s, e.g. {sample}"
                )
            time.sleep(0.02)


@contextmanager
def _receivers() -> Iterator[_Receivers]:
    context = multiprocessing.get_context("spawn")
    queue: Queue[tuple[str, int, float]] = context.Queue()
    smtp_port, webhook_port = _free_port(), _free_port()
    stop = context.Event()
    processes = []
    for target, port, name in (
        (_smtp_serve, smtp_port, "smtp-sink"),
        (_webhook_serve, webhook_port, "webhook-receiver"),
    ):
        ready = context.Event()
        process = context.Process(
            target=target, args=(port, queue, ready, stop), name=name, daemon=True
        )
        process.start()
        processes.append(process)
        if not ready.wait(60):
            raise RuntimeError(f"the {name} did not start")
    try:
        yield _Receivers(smtp_port=smtp_port, webhook_port=webhook_port, queue=queue, arrived={})
    finally:
        stop.set()
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()


# --- Set-up in this process's database ----------------------------------------------------------


def _setup(webhook_url: str) -> None:
    """A new installation's presets, a published demo-request form, a team of three reps with
    round-robin routing, and the team's chat webhook for alerts."""
    from django.conf import settings
    from django.contrib.auth.models import User

    from sokyaku.capture.services import forms as form_services
    from sokyaku.capture.services.forms import FieldSpec, FormInput
    from sokyaku.cli import _migrate
    from sokyaku.core import clock, roles
    from sokyaku.core.services import user_create
    from sokyaku.handoff import services as handoff_services
    from sokyaku.handoff.models import RuleKind
    from sokyaku.messaging.models import ChatChannel, ChatKind

    settings.CHAT_ALLOW_PRIVATE = True  # the webhook receiver listens on loopback
    # What ``sokyaku migrate`` installs: the sender profiles (alerts go out on the transactional
    # one), the default handoff triggers and pipeline …
    _migrate(verbosity=0)
    form = form_services.form_create(
        data=FormInput(
            name="デモ申し込み",
            slug=SLUG,
            kind="demo_request",
            title="無料デモのお申し込み",
            purpose_title="個人情報の取り扱いについて",
            purpose_body="ご入力いただいた個人情報は、デモのご案内とご連絡のために利用します。",
            rate_limit=0,
            min_fill_seconds=0,
            fields=[
                FieldSpec(type="name", label="お名前", required=True),
                FieldSpec(type="email", label="メールアドレス", required=True),
                FieldSpec(type="company", label="会社名"),
                FieldSpec(type="title", label="役職"),
                FieldSpec(type="prefecture", label="都道府県"),
            ],
        )
    )
    form_services.form_publish(form=form)
    reps: list[User] = []
    for family, given, login in REPS:
        rep = user_create(
            username=login,
            email=f"{login}@sales.example.co.jp",
            password="bench-password-1234",  # noqa: S106 - a throwaway benchmark user
            role=roles.SALES_REP,
            check_password=False,
        )
        User.objects.filter(pk=rep.pk).update(first_name=given, last_name=family)
        reps.append(rep)
    team = handoff_services.team_save(
        team=None,
        name="インサイドセールス",
        manager=None,
        share_records=False,
        member_ids=[rep.pk for rep in reps],
        actor=None,
    )
    handoff_services.routing_rule_save(
        rule=None,
        data={"name": "チームで順番に", "kind": RuleKind.ROUND_ROBIN, "team": team},
        actor=None,
    )
    # The channel service asks for https://; the receiver here is plain http on loopback.
    channel = ChatChannel.objects.create(
        name="営業アラート", kind=ChatKind.GENERIC, url=webhook_url, created_at=clock.now()
    )
    handoff_services.handoff_settings_save(
        alert_chat_channel=channel, queue_notify=None, actor=None
    )


@contextmanager
def _worker(env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sokyaku.cli", "worker", "--threads", "4"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _token(client: Any, base: str) -> str:
    response = client.get(f"{base}/f/{SLUG}")
    response.raise_for_status()
    match = re.search(r'name="_token" value="([^"]+)"', response.text)
    if match is None:
        raise RuntimeError("the hosted form has no submission token")
    return match.group(1)


def _submit(client: Any, base: str, lead: int, token: str) -> float:
    """POST one lead's answers; returns the wall-clock time the request started."""
    started = time.time()
    response = client.post(
        f"{base}/f/{SLUG}",
        data={
            "family_name": "山田",
            "given_name": f"太郎{lead}",
            "email": f"lead{lead}@bench.example.co.jp",
            "company": f"株式会社ベンチ{lead}",
            "title": "情報システム部 部長",
            "prefecture": "13",
            "_agree": "1",
            "_token": token,
        },
    )
    if response.status_code not in (200, 302, 303):
        raise RuntimeError(f"submission {lead}: HTTP {response.status_code}")
    return started


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def speed_to_lead_run(size: int, backend: str, data_dir: Path) -> list[Measurement]:
    import httpx
    from django.db import connections

    from benchmarks.server import server_running

    n = min(size, MAX)
    with _receivers() as receivers:
        _setup(f"http://127.0.0.1:{receivers.webhook_port}/alerts")
        connections.close_all()
        # The web server and the worker are started with this process's environment.
        os.environ["SOKYAKU_SMTP_URL"] = f"smtp://127.0.0.1:{receivers.smtp_port}"
        os.environ["SOKYAKU_CHAT_ALLOW_PRIVATE"] = "1"  # the webhook receiver is on loopback
        queue = "Huey on SQLite"
        if backend == "sqlite":
            os.environ.pop("REDIS_URL", None)  # the embedded default
        elif os.environ.get("REDIS_URL"):
            queue = "Huey on Redis"
        env = dict(os.environ)
        with (
            server_running(log=data_dir / "web.log") as base,
            _worker(env, data_dir / "worker.log"),
            httpx.Client(timeout=30) as client,
        ):
            warm = list(range(-WARM_UP, 0))
            tokens = {lead: _token(client, base) for lead in [*warm, *range(n)]}
            for lead in warm:
                _submit(client, base, -lead + 10_000, tokens[lead])
            receivers.wait_for([-lead + 10_000 for lead in warm], WAIT)
            started: dict[int, float] = {}
            submit: list[float] = []
            for lead in range(n):
                started[lead] = _submit(client, base, lead, tokens[lead])
                submit.append(time.time() - started[lead])
                # One lead at a time: the latency of a lead, not of a queue built up by a flood.
                receivers.wait_for([lead], WAIT)
    mail = [receivers.arrived[("mail", lead)] - started[lead] for lead in range(n)]
    chat = [receivers.arrived[("chat", lead)] - started[lead] for lead in range(n)]
    note = f"{queue}; median of {n} leads, p95 {{:.3f}} s"
    return [
        Measurement(
            "speed_to_lead",
            backend,
            "submit",
            n,
            statistics.median(submit),
            baseline=True,
            note=note.format(_quantile(submit, 0.95)),
            latency=True,
        ),
        Measurement(
            "speed_to_lead",
            backend,
            "alert mail",
            n,
            statistics.median(mail),
            note=note.format(_quantile(mail, 0.95)),
            latency=True,
        ),
        Measurement(
            "speed_to_lead",
            backend,
            "alert chat",
            n,
            statistics.median(chat),
            note=note.format(_quantile(chat, 0.95)),
            latency=True,
        ),
    ]
