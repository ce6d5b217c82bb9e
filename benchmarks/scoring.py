"""Set-based scoring recompute against the bare aggregate it reduces to.

``size`` contacts (half at target-industry companies, some 部長) and ``10 × size`` events over
the last 60 days (product and blog page views, email opens, some of them machine opens,
downloads, webinars, inquiries) are written with raw SQL (``executemany`` for contacts, one
``INSERT … SELECT`` for the events), with the preset rule set plus a capped email-open rule
published first (so nothing is scored on the way in). Then two paths are timed:

- ``aggregate`` (baseline): one ``GROUP BY contact_id`` over ``activity_event`` computing
  ``SUM(CASE <rule> THEN points END · 2^((t - now)/h))`` — the arithmetic without the ledger,
  caps, fit, bands or writes;
- ``recompute``: ``scoring.services.recompute_execute`` for every contact (ledger rebuilt with
  caps, engagement, fit, temperature, ``band_drops_at``, upsert, band-change events).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from pathlib import Path

from django.db import connection, transaction

from benchmarks.results import Measurement, Stopwatch
from sokyaku.activity.models import Event
from sokyaku.contacts.models import Company, Contact
from sokyaku.core import clock
from sokyaku.scoring import sql
from sokyaku.scoring.models import RecomputeRun, ScoreEntry, ScoreState
from sokyaku.scoring.services import PRESET, recompute_execute, ruleset_publish

EVENTS_PER_CONTACT = 10
CONTACT_BATCH = 20_000
DAYS = 60


def _definition() -> dict[str, object]:
    opens = {
        "kind": "behaviour",
        "name": "メール開封",
        "event_type": "email_opened",
        "conditions": [],
        "points": 1,
        "cap": 3,
        "cap_period": "week",
    }
    return {**PRESET, "rules": [*PRESET["rules"], opens]}


def _companies() -> list[int]:
    now = clock.now()
    ids = []
    for n, (industry, band) in enumerate([("G", "300-999"), ("E", "100-299"), ("I", "10-49")]):
        company = Company.objects.create(
            name=f"ベンチ{n}株式会社",
            match_key=f"bench{n}",
            industry=industry,
            employee_band=band,
            created_at=now,
            updated_at=now,
        )
        ids.append(company.pk)
    return ids


def _contacts(size: int) -> None:
    """``size`` live contacts, ``executemany`` in batches (columns filled like Django would)."""
    companies = _companies()
    now = clock.now()
    template = Contact(created_at=now, updated_at=now)
    fields = [f for f in Contact._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    base = {f.attname: f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields}
    quote = connection.ops.quote_name
    statement = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(Contact._meta.db_table),
        ", ".join(quote(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        for start in range(0, size, CONTACT_BATCH):
            rows = []
            for n in range(start, min(size, start + CONTACT_BATCH)):
                values = dict(base)
                values.update(
                    family_name="山田",
                    given_name=f"{n}",
                    email=f"bench{n}@example.co.jp",
                    dedupe_key=f"e:bench{n}@example.co.jp",
                    title="部長" if n % 4 == 0 else "担当",
                    title_level=4 if n % 4 == 0 else 1,
                    company_id=companies[n % 3],
                )
                rows.append([values[f.attname] for f in fields])
            with transaction.atomic():
                cursor.executemany(statement, rows)


def _events(now_ts: float) -> int:
    """``EVENTS_PER_CONTACT`` events per contact with one INSERT … SELECT."""
    postgres = connection.vendor == "postgresql"
    k = " UNION ALL ".join(f"SELECT {i} AS i" for i in range(EVENTS_PER_CONTACT))
    offset = f"((c.id * 7919 + k.i * 104729) %% {DAYS * 86400})"
    when = sql.timestamp(f"({now_ts} - {offset})", connection)
    roll = "((c.id * 31 + k.i * 17) %% 20)"
    props = (
        f'CASE WHEN {roll} < 10 AND k.i %% 2 = 0 THEN \'{{"url": "/product/ma"}}\''
        f' WHEN {roll} < 10 THEN \'{{"url": "/blog/nurturing"}}\''
        f' WHEN {roll} = 14 THEN \'{{"message_id": "m", "machine": true}}\''
        f' WHEN {roll} < 15 THEN \'{{"message_id": "m"}}\''
        f' WHEN {roll} < 17 THEN \'{{"asset": "whitepaper"}}\''
        f' WHEN {roll} < 19 THEN \'{{"webinar": "intro", "minutes": 40}}\''
        " ELSE '{}' END"
    )
    if postgres:
        props = f"CAST({props} AS jsonb)"
    kind = (
        f"CASE WHEN {roll} < 10 THEN 'page_view' WHEN {roll} < 15 THEN 'email_opened'"
        f" WHEN {roll} < 17 THEN 'asset_downloaded' WHEN {roll} < 19 THEN 'webinar_attended'"
        " ELSE 'inquiry' END"
    )
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} (contact_id, visitor_id, type, occurred_at,"
            f" received_at, source, properties, idempotency_key)"
            f" SELECT c.id, %s, {kind}, {when}, {when}, 'api', {props}, NULL"
            f" FROM {Contact._meta.db_table} c CROSS JOIN ({k}) k",
            [""],
        )
        return int(cursor.rowcount)


def _aggregate(now_ts: float, half_life: float) -> int:
    epoch = sql.epoch("occurred_at", connection)
    url = (
        "properties ->> 'url'"
        if connection.vendor == "postgresql"
        else ("json_extract(properties, '$.url')")
    )
    points = (
        f"CASE WHEN type = 'page_view' AND {url} LIKE '%%/product%%' THEN 5"
        " WHEN type = 'asset_downloaded' THEN 10 WHEN type = 'webinar_attended' THEN 15"
        " WHEN type = 'inquiry' THEN 30 WHEN type = 'email_opened' THEN 1 ELSE 0 END"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), SUM(s) FROM (SELECT contact_id, SUM(({points})"
            f" * POWER(2.0, ({epoch} - %s) / %s)) AS s FROM {Event._meta.db_table}"
            " GROUP BY contact_id) g",
            [now_ts, half_life],
        )
        count, _total = cursor.fetchone()
    return int(count)


def scoring_run(*, size: int, backend: str, data_dir: Path) -> list[Measurement]:
    del data_dir
    now = clock.now()
    ruleset = ruleset_publish(definition=_definition(), comment="benchmark")
    started = time.perf_counter()
    _contacts(size)
    events = _events(now.timestamp())
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    setup = time.perf_counter() - started

    baseline = Stopwatch()
    with baseline.running():
        grouped = _aggregate(now.timestamp(), ruleset.half_life_days * 86400)
    run = RecomputeRun.objects.create(ruleset=ruleset, total=size, created_at=now)
    recompute = Stopwatch()
    profile = cProfile.Profile() if os.environ.get("SOKYAKU_BENCH_PROFILE") else None
    with recompute.running():
        if profile:
            profile.enable()
        finished = recompute_execute(run_id=run.pk)
        if profile:
            profile.disable()
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    if finished.status != "done" or ScoreState.objects.count() != size:
        raise RuntimeError(f"recompute did not score every contact: {finished.status}")
    entries = ScoreEntry.objects.count()
    ratio = recompute.seconds / baseline.seconds if baseline.seconds else float("inf")
    print(
        f"scoring: {size} contacts, {events} events (setup {setup:.1f} s); "
        f"aggregate {baseline.seconds:.2f} s over {grouped} contacts, "
        f"recompute {recompute.seconds:.2f} s ({entries} ledger rows) = {ratio:.1f}× the aggregate",
        flush=True,
    )
    return [
        Measurement("scoring", backend, "aggregate", events, baseline.seconds, baseline=True),
        Measurement(
            "scoring",
            backend,
            "recompute",
            events,
            recompute.seconds,
            note=f"{size} contacts, {entries} ledger rows",
        ),
    ]
