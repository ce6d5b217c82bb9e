"""Event ingestion against its physical limit.

The same ``size`` events (page views with UTM parameters, email opens, form submissions,
downloads, webinar attendance; some anonymous, many with a visitor id) for contacts loaded with
``demo_load``, stored three ways in batches of ``BATCH``, one transaction per batch:

- ``raw``: ``cursor.executemany`` of the same rows into the same ``activity_event`` columns,
  values adapted the way Django adapts them (the baseline: the database's own cost);
- ``service``: ``events.event_build`` + ``services.event_ingest_batch`` (validation, visitor
  rows, anonymous-event attribution, ``bulk_create``);
- ``http``: ``POST /api/v1/events`` to the production server (gunicorn) over loopback with an
  API key, one request per batch, sequentially (JSON parsing, auth, schema validation, contact
  resolution, then the service).

Each path gets one untimed warm-up batch; the rows a path wrote are deleted before the next one,
so every path writes into the same table.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from django.db import connection, transaction
from django.db.models import Max
from django.test.utils import override_settings

from benchmarks.results import Measurement, Stopwatch
from benchmarks.server import server_running
from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource, EventType, Visitor
from sokyaku.activity.services import event_ingest_batch
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.models import ApiScope
from sokyaku.core.services import apikey_create
from sokyaku.demo.generator import demo_load

BATCH = 1000
_SITE = "https://www.demo-ma.example"
_VISITOR_PREFIX = "v-bench-"
_COLUMNS = (
    "contact_id",
    "visitor_id",
    "type",
    "occurred_at",
    "received_at",
    "source",
    "properties",
    "idempotency_key",
)

Spec = dict[str, Any]


def _specs(*, size: int, contact_ids: Sequence[int], now: datetime, seed: int) -> list[Spec]:
    """``size`` events as ``event_build`` keyword arguments (deterministic for ``seed``)."""
    rng = random.Random(seed)
    specs: list[Spec] = []
    for number in range(size):
        roll = rng.random()
        contact_id: int | None = rng.choice(contact_ids)
        visitor = ""
        if roll < 0.6:
            type = EventType.PAGE_VIEW
            utm = {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "search_generic"}
            path = f"/blog/article-{rng.randint(1, 200)}/"
            props: dict[str, Any] = {
                "url": f"{_SITE}{path}?{urlencode(utm)}",
                "title": "リードナーチャリングの進め方と効果測定",
                "referrer": "https://www.google.co.jp/",
                **utm,
            }
            visitor = f"{_VISITOR_PREFIX}{rng.getrandbits(48):012x}"
            if rng.random() < 0.1:
                contact_id = None  # anonymous
        elif roll < 0.8:
            type = EventType.EMAIL_OPENED
            props = {"message_id": f"<bench-{number}@mail.demo-ma.example>", "subject": "メルマガ"}
        elif roll < 0.88:
            type = EventType.FORM_SUBMITTED
            props = {"form": "資料ダウンロード", "fields": {"asset": "MA導入チェックリスト"}}
        elif roll < 0.95:
            type = EventType.ASSET_DOWNLOADED
            props = {"asset": "MA導入チェックリスト"}
        else:
            type = EventType.WEBINAR_ATTENDED
            props = {"webinar": "スコアリングとMQL定義の決め方", "minutes": rng.randint(10, 60)}
        specs.append(
            {
                "type": str(type),
                "occurred_at": now - timedelta(seconds=rng.randint(0, 30 * 86400)),
                "source": str(EventSource.API),
                "properties": props,
                "contact_id": contact_id,
                "visitor_id": visitor,
            }
        )
    return specs


def _batches(specs: Sequence[Spec]) -> list[Sequence[Spec]]:
    return [specs[start : start + BATCH] for start in range(0, len(specs), BATCH)]


# --- the three paths ---------------------------------------------------------------------------


def _raw(batches: Sequence[Sequence[Spec]]) -> int:
    ops = connection.ops
    quote = ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(Event._meta.db_table),
        ", ".join(quote(c) for c in _COLUMNS),
        ", ".join(["%s"] * len(_COLUMNS)),
    )
    stored = 0
    for batch in batches:
        received = ops.adapt_datetimefield_value(clock.now())
        params = [
            (
                s["contact_id"],
                s["visitor_id"],
                s["type"],
                ops.adapt_datetimefield_value(s["occurred_at"]),
                received,
                s["source"],
                ops.adapt_json_value(s["properties"], None),
                None,
            )
            for s in batch
        ]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, params)
        stored += len(params)
    return stored


def _service(batches: Sequence[Sequence[Spec]]) -> int:
    return sum(
        event_ingest_batch(events=[event_build(**spec) for spec in batch]) for batch in batches
    )


def _bodies(batches: Sequence[Sequence[Spec]]) -> list[bytes]:
    bodies = []
    for batch in batches:
        items = []
        for s in batch:
            item = {
                "type": s["type"],
                "occurred_at": s["occurred_at"].isoformat(),
                "source": s["source"],
                "properties": s["properties"],
            }
            if s["contact_id"] is not None:
                item["contact_id"] = s["contact_id"]
            if s["visitor_id"]:
                item["visitor_id"] = s["visitor_id"]
            items.append(item)
        bodies.append(json.dumps(items, ensure_ascii=False).encode())
    return bodies


def _http(client: httpx.Client, bodies: Sequence[bytes]) -> int:
    stored = 0
    for body in bodies:
        response = client.post("/api/v1/events", content=body)
        if response.status_code != 200:
            raise RuntimeError(f"POST /api/v1/events: {response.status_code} {response.text[:500]}")
        stored += int(response.json()["stored"])
    return stored


# --- the case ----------------------------------------------------------------------------------


def _reset(last_id: int) -> None:
    """Delete what a path wrote: events after ``last_id`` and the benchmark's visitors."""
    Event.objects.filter(id__gt=last_id).delete()
    Visitor.objects.filter(id__startswith=_VISITOR_PREFIX).delete()


def ingest_run(*, size: int, backend: str, data_dir: Path) -> list[Measurement]:
    """Time the three ingestion paths on this process's (fresh) database."""
    contacts = max(50, min(2000, size // 10))
    # The demo users' passwords are never used here: skip the deliberately slow hashing.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        demo_load(contacts=contacts, seed=1, events=False)
    contact_ids = list(Contact.objects.values_list("id", flat=True))
    now = clock.now()
    timed = _batches(_specs(size=size, contact_ids=contact_ids, now=now, seed=2))
    warm_up = _batches(_specs(size=BATCH, contact_ids=contact_ids, now=now, seed=3))
    last_id = Event.objects.aggregate(last=Max("id"))["last"] or 0
    note = f"batches of {BATCH}, {contacts:,} demo contacts"
    results: list[Measurement] = []

    def measure(
        path: str, run: Callable[[Any], int], timed_input: Any, warm_input: Any, *, baseline: bool
    ) -> None:
        run(warm_input)
        _reset(last_id)
        watch = Stopwatch()
        with watch.running():
            stored = run(timed_input)
        if stored != size:
            raise RuntimeError(f"{path}: stored {stored} of {size} events")
        results.append(
            Measurement("ingest", backend, path, size, watch.seconds, baseline=baseline, note=note)
        )
        _reset(last_id)

    measure("raw", _raw, timed, warm_up, baseline=True)
    measure("service", _service, timed, warm_up, baseline=False)
    token = apikey_create(name="bench", scopes=[ApiScope.EVENTS_WRITE], system=True).token
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with (
        server_running(log=data_dir / "gunicorn.log") as url,
        httpx.Client(base_url=url, headers=headers, timeout=120) as client,
    ):
        measure(
            "http",
            lambda bodies: _http(client, bodies),
            _bodies(timed),
            _bodies(warm_up),
            baseline=False,
        )
    return results
