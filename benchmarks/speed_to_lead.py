"""Speed to lead: a demo-request form submitted on the public form → the sales alert received by
the rep's mail server and by the team's chat webhook.

The production processes run as they do in a deployment: the web server (gunicorn, as
``sokyaku serve`` starts it) and the worker (``sokyaku worker``), on this backend's database and,
for PostgreSQL when ``REDIS_URL`` is set, with Huey on Redis; the embedded default (SQLite) uses
Huey on SQLite, as ``sokyaku demo`` does. Two receivers run in processes of their own, as a
mail server and a chat service are: an aiosmtpd sink and an HTTP webhook receiver; each notes
the wall-clock time at which the alert for each lead arrives.

Three modes, chosen with ``SOKYAKU_BENCH_SPEED_MODES`` (comma-separated; ``python -m benchmarks
--speed-modes`` sets it; default ``single,burst``); each starts once the queue of the one before
is empty:

- ``single``: ``n = min(size, 200)`` people each fill in the hosted form (rendered beforehand, as
  a browser does; the form asks for no minimum fill time and no rate limit here), one after
  another: the next submits once the previous one's alerts have arrived, so each measurement is
  one lead's latency on an otherwise idle system. Paths: ``submit`` (baseline), the HTTP round
  trip of the submission itself — the transaction that stores the contact, the event, the score
  and the handoff; an alert cannot arrive before it; ``alert mail`` and ``alert chat``, from the
  moment the POST starts to the moment the receiver has the alert for that person.
- ``burst``: ``n`` people submit at ``BURST_RATE`` a second, open loop: each POST starts on a
  fixed schedule from a pool of threads that grows as needed (one client each), however long
  the earlier ones take (forms rendered beforehand). The same three paths, prefixed ``burst``;
  the note gives the achieved rate.
- ``clients``: ``CLIENTS`` clients each post the form back to back for ``CLIENTS_SECONDS``
  (each post with a fresh render token, made outside the timing the way the form page makes
  it); then the alerts are awaited for at most ``CLIENTS_WAIT`` seconds. Paths: ``clients
  request`` (the median request latency; the note gives p95 and p99) and ``clients
  throughput`` (requests per second; the note says how many alerts arrived).

Latency paths give the median (p50) as ``seconds`` and p95 in the note; ratios are to the median
submit round trip of the same mode. Each mode's first note gives the machine's load average
(1, 5 and 15 minutes) before and after the mode, and its CPU count. ``WARM_UP`` submissions
go first, untimed. The single and burst modes fail if an alert is missing after ``WAIT``
seconds. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import email
import itertools
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import httpx

from benchmarks.results import Measurement

# The ``sokyaku`` command's module: the one place this file names it.
from sokyaku import cli as sokyaku_cli

MAX = 200
WARM_UP = 5
WAIT = 90.0  # seconds to wait for the last alert (single and burst)
SLUG = "demo-request"
LEAD_RE = re.compile(r"lead(\d+)@bench\.example\.co\.jp")
REPS = (("田中", "健太", "kenta"), ("鈴木", "由美", "yumi"), ("高橋", "翔太", "shota"))

MODES = ("single", "burst", "clients")
MODES_DEFAULT = ("single", "burst")
MODES_ENV = "SOKYAKU_BENCH_SPEED_MODES"
# Lead numbers (in the address) of each mode, so no two modes' leads are the same person.
BURST_FIRST = 20_000
CLIENTS_FIRST = 1_000_000
WARM_FIRST = 10_000
BURST_RATE = 15.0  # submissions started per second
CLIENTS = 8
CLIENTS_SECONDS = 60.0
CLIENTS_WAIT = 120.0  # seconds to wait for the clients' alerts after the last request
SETTLE = 60.0  # seconds to wait at most for the queue to empty between modes


def modes_parse(value: str | None) -> tuple[str, ...]:
    """The modes named in ``value`` (comma-separated), in ``MODES`` order; ``MODES_DEFAULT`` when
    ``value`` is empty. Raises ``ValueError`` naming an unknown mode."""
    named = {part.strip() for part in (value or "").split(",") if part.strip()}
    if not named:
        return MODES_DEFAULT
    unknown = sorted(named - set(MODES))
    if unknown:
        raise ValueError(f"unknown mode {', '.join(unknown)} (modes: {', '.join(MODES)})")
    return tuple(mode for mode in MODES if mode in named)


def modes_seconds(modes: Sequence[str]) -> float:
    """How much longer than the single mode alone the modes may take: the runner's time limit
    for this case grows by it."""
    extra = 0.0
    if "burst" in modes:
        extra += SETTLE + MAX / BURST_RATE + WAIT
    if "clients" in modes:
        extra += SETTLE + CLIENTS_SECONDS + CLIENTS_WAIT
    return extra


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

    def wait_until(self, leads: Sequence[int], timeout: float) -> set[tuple[str, int]]:
        """Wait until every lead's two alerts have arrived or ``timeout`` has passed; the
        alerts still missing."""
        deadline = time.monotonic() + timeout
        wanted = {(kind, lead) for lead in leads for kind in ("mail", "chat")}
        while True:
            self.drain()
            missing = wanted - self.arrived.keys()
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.02)

    def wait_for(self, leads: Sequence[int], timeout: float) -> None:
        missing = self.wait_until(leads, timeout)
        if missing:
            sample = sorted(missing)[:5]
            raise RuntimeError(
                f"{len(missing)} alerts did not arrive within {timeout:.0f} s, e.g. {sample}"
            )


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
    from sokyaku.core import clock, roles
    from sokyaku.core.services import user_create
    from sokyaku.handoff import services as handoff_services
    from sokyaku.handoff.models import RuleKind
    from sokyaku.messaging.models import ChatChannel, ChatKind

    settings.CHAT_ALLOW_PRIVATE = True  # the webhook receiver listens on loopback
    # What ``sokyaku migrate`` installs: the sender profiles (alerts go out on the transactional
    # one), the default handoff triggers and pipeline …
    sokyaku_cli._migrate(verbosity=0)
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
            [sys.executable, "-m", sokyaku_cli.__name__, "worker", "--threads", "4"],
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


def _token(client: httpx.Client, base: str) -> str:
    response = client.get(f"{base}/f/{SLUG}")
    response.raise_for_status()
    match = re.search(r'name="_token" value="([^"]+)"', response.text)
    if match is None:
        raise RuntimeError("the hosted form has no submission token")
    return match.group(1)


def _submit(client: httpx.Client, base: str, lead: int, token: str) -> float:
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


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _load(before: tuple[float, float, float], after: tuple[float, float, float]) -> str:
    """The machine's load average (1, 5, 15 min) before and after a mode, and its CPUs."""
    shown = (" ".join(f"{value:.2f}" for value in load) for load in (before, after))
    return f"load {' → '.join(shown)} on {os.cpu_count()} CPUs"


def _queue_settle() -> None:
    """Wait (at most ``SETTLE`` s) until the worker has taken every queued task, then a second
    for the last ones to finish, so a mode starts on a quiet queue."""
    from huey.contrib.djhuey import HUEY

    deadline = time.monotonic() + SETTLE
    while HUEY.pending_count() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)


@dataclass
class _Run:
    backend: str
    base: str
    queue: str  # the task queue, as the notes name it
    receivers: _Receivers
    client: httpx.Client

    def measurement(
        self, path: str, rows: int, seconds: float, note: str, **kwargs: Any
    ) -> Measurement:
        return Measurement("speed_to_lead", self.backend, path, rows, seconds, note=note, **kwargs)

    def latencies(
        self, prefix: str, started: dict[int, float], submit: Sequence[float], note: str
    ) -> list[Measurement]:
        """Median rows (p95 in the note) of the submit round trip and of the two alerts."""
        leads = sorted(started)
        mail = [self.receivers.arrived[("mail", lead)] - started[lead] for lead in leads]
        chat = [self.receivers.arrived[("chat", lead)] - started[lead] for lead in leads]
        n = len(leads)
        common = f"{self.queue}; median of {n} leads, p95 {{:.3f}} s"
        return [
            self.measurement(
                f"{prefix}submit",
                n,
                statistics.median(submit),
                f"{common.format(_quantile(submit, 0.95))}; {note}",
                baseline=True,
                latency=True,
                group=prefix.strip(),
            ),
            *(
                self.measurement(
                    f"{prefix}alert {kind}",
                    n,
                    statistics.median(values),
                    common.format(_quantile(values, 0.95)),
                    latency=True,
                    group=prefix.strip(),
                )
                for kind, values in (("mail", mail), ("chat", chat))
            ),
        ]


def _single(run: _Run, n: int) -> list[Measurement]:
    """One lead at a time: the latency of a lead, not of a queue built up by a flood."""
    tokens = {lead: _token(run.client, run.base) for lead in range(n)}
    load_before = os.getloadavg()
    started: dict[int, float] = {}
    submit: list[float] = []
    for lead in range(n):
        started[lead] = _submit(run.client, run.base, lead, tokens[lead])
        submit.append(time.time() - started[lead])
        run.receivers.wait_for([lead], WAIT)
    return run.latencies("", started, submit, _load(load_before, os.getloadavg()))


def _burst(run: _Run, n: int) -> list[Measurement]:
    """``n`` submissions started every ``1 / BURST_RATE`` s, whatever the earlier ones take."""
    leads = [BURST_FIRST + i for i in range(n)]
    tokens = {lead: _token(run.client, run.base) for lead in leads}
    # One client (one connection) per thread. The pool starts a thread only when every one it
    # has is busy, so it stays small while the server keeps up, and the schedule holds when it
    # does not: a POST never waits for an earlier one to finish.
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()
    started: dict[int, float] = {}
    submit: dict[int, float] = {}

    def post(lead: int) -> None:
        client: httpx.Client | None = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
            with lock:
                clients.append(client)
        at = _submit(client, run.base, lead, tokens[lead])
        submit[lead] = time.time() - at
        started[lead] = at

    load_before = os.getloadavg()
    try:
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="burst") as executor:
            begin = time.time() + 0.05
            futures: list[Future[None]] = []
            for i, lead in enumerate(leads):
                delay = begin + i / BURST_RATE - time.time()
                if delay > 0:
                    time.sleep(delay)
                futures.append(executor.submit(post, lead))
            for future in futures:
                future.result()
    finally:
        for client in clients:
            client.close()
    run.receivers.wait_for(leads, WAIT)
    load_after = os.getloadavg()
    starts = sorted(started.values())
    late = max(started[lead] - (begin + i / BURST_RATE) for i, lead in enumerate(leads))
    rate = (n - 1) / (starts[-1] - starts[0]) if n > 1 and starts[-1] > starts[0] else 0.0
    note = (
        f"{rate:.1f} submissions/s achieved of {BURST_RATE:g}/s (latest start "
        f"{late * 1000:.0f} ms behind its slot; {len(clients)} clients); "
        f"{_load(load_before, load_after)}"
    )
    return run.latencies("burst ", started, [submit[lead] for lead in leads], note)


def _clients(run: _Run) -> list[Measurement]:
    """``CLIENTS`` clients posting back to back for ``CLIENTS_SECONDS``; then the alerts."""
    from sokyaku.capture import tokens
    from sokyaku.capture.services.submission import TOKEN_MAX_AGE

    # The form id and purpose-of-use text of the page as served; fresh tokens are made the way
    # the page makes them (signed, no database), so the clients only post.
    shown = _token(run.client, run.base)
    form = tokens.render_token_read(value=shown, form_id=_form_id(), max_age=TOKEN_MAX_AGE)
    numbers = itertools.count(CLIENTS_FIRST)
    lock = threading.Lock()
    latencies: list[float] = []
    stored: list[int] = []
    errors: list[str] = []
    load_before = os.getloadavg()
    begin = time.monotonic()
    stop = begin + CLIENTS_SECONDS

    def post_back_to_back() -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                with lock:
                    lead = next(numbers)
                token = tokens.render_token_issue(
                    form_id=form.form_id, purpose_text_id=form.purpose_text_id
                )
                try:
                    at = _submit(client, run.base, lead, token)
                except (RuntimeError, httpx.HTTPError) as exc:
                    with lock:
                        errors.append(str(exc))
                    continue
                took = time.time() - at
                with lock:
                    latencies.append(took)
                    stored.append(lead)

    threads = [threading.Thread(target=post_back_to_back) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - begin
    posted_until = time.time()
    if not latencies:
        raise RuntimeError(f"no submission was stored; e.g. {errors[:3]}")
    missing = run.receivers.wait_until(stored, CLIENTS_WAIT)
    load_after = os.getloadavg()
    arrived = {
        kind: sum((kind, lead) not in missing for lead in stored) for kind in ("mail", "chat")
    }
    times = [
        run.receivers.arrived[key]
        for key in itertools.product(("mail", "chat"), stored)
        if key in run.receivers.arrived
    ]
    last = max(times) - posted_until if times else float("nan")
    wait = (
        f"the last {last:.1f} s after the last request"
        if not missing
        else (f"within {CLIENTS_WAIT:.0f} s after the last request")
    )
    n = len(stored)
    failed = f"; {len(errors):,} failed (e.g. {errors[0][:80]})" if errors else ""
    return [
        run.measurement(
            "clients request",
            n,
            statistics.median(latencies),
            f"{CLIENTS} clients back to back for {CLIENTS_SECONDS:.0f} s; p95 "
            f"{_quantile(latencies, 0.95):.3f} s, p99 {_quantile(latencies, 0.99):.3f} s{failed}",
            baseline=True,
            latency=True,
            group="clients",
        ),
        run.measurement(
            "clients throughput",
            n,
            elapsed,
            f"{n / elapsed:.1f} requests/s; alerts arrived: mail {arrived['mail']:,}/{n:,}, "
            f"chat {arrived['chat']:,}/{n:,}, {wait}; {_load(load_before, load_after)}",
            group="clients",
            compare=False,
        ),
    ]


def _form_id() -> int:
    from sokyaku.capture.models import Form

    return int(Form.objects.values_list("pk", flat=True).get(slug=SLUG))


def speed_to_lead_run(size: int, backend: str, data_dir: Path) -> list[Measurement]:
    from django.db import connections

    from benchmarks.server import server_running

    modes = modes_parse(os.environ.get(MODES_ENV))
    n = min(size, MAX)
    measurements: list[Measurement] = []
    with _receivers() as receivers:
        _setup(f"http://127.0.0.1:{receivers.webhook_port}/alerts")
        connections.close_all()
        # The web server and the worker are started with this process's environment.
        os.environ["SOKYAKU_SMTP_URL"] = f"smtp://127.0.0.1:{receivers.smtp_port}"
        os.environ["SOKYAKU_CHAT_ALLOW_PRIVATE"] = "1"  # the webhook receiver is on loopback
        # The runner passes ``REDIS_URL`` on to PostgreSQL only (SQLite is the embedded default).
        queue_name = "Huey on Redis" if os.environ.get("REDIS_URL") else "Huey on SQLite"
        env = dict(os.environ)
        with (
            server_running(log=data_dir / "web.log") as base,
            _worker(env, data_dir / "worker.log"),
            httpx.Client(timeout=30) as client,
        ):
            run = _Run(
                backend=backend, base=base, queue=queue_name, receivers=receivers, client=client
            )
            warm = [WARM_FIRST + i for i in range(WARM_UP)]
            for lead in warm:
                _submit(client, base, lead, _token(client, base))
            receivers.wait_for(warm, WAIT)
            for mode in modes:
                _queue_settle()
                if mode == "single":
                    measurements += _single(run, n)
                elif mode == "burst":
                    measurements += _burst(run, n)
                else:
                    measurements += _clients(run)
    return measurements
