"""A segment count against the hand-written SQL it compiles to.

``size`` contacts at ``size ÷ 50`` companies (every employee band, several industries, a
spread of title levels) and ``10 × size`` events over the last 120 days (a tenth of them
downloads) are written with raw SQL (``executemany`` for companies and contacts, one
``INSERT … SELECT`` for the events). Then the segment "company ≥ 100 employees AND title level
≥ director AND downloaded something in the last 90 days" is counted three ways:

- ``sql`` (baseline): the hand-written ``SELECT COUNT(*) … JOIN company … EXISTS (events)``;
- ``count``: ``segments.conditions.definition_queryset(definition).count()`` (validation,
  compilation to the ORM query, the query);
- ``build``: ``segments.services.segment_refresh`` of a new segment with that definition
  (the ``INSERT … SELECT`` of the members, counts; no events on a first build).

Both counts must agree; the run fails otherwise.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from django.db import connection, transaction

from benchmarks.results import Measurement, Stopwatch
from sokyaku.activity.models import Event
from sokyaku.contacts.models import Company, Contact, EmployeeBand
from sokyaku.core import clock
from sokyaku.segments.conditions import definition_queryset
from sokyaku.segments.models import Segment, SegmentKind

EVENTS_PER_CONTACT = 10
CONTACT_BATCH = 20_000
DAYS = 120
REPEAT = 3
DEFINITION = {
    "op": "and",
    "conditions": [
        {"field": "company.employees", "op": "gte", "value": 100},
        {"field": "title_level", "op": "gte", "value": 4},
        {"event": "asset_downloaded", "within_days": 90},
    ],
}


def _insert_rows(model: type, rows: list[dict[str, object]], template: object) -> None:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]  # type: ignore[attr-defined]
    base = {f.attname: f.get_db_prep_save(getattr(template, f.attname), connection) for f in fields}
    quote = connection.ops.quote_name
    statement = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),  # type: ignore[attr-defined]
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CONTACT_BATCH):
            part = [
                [{**base, **row}[f.attname] for f in fields]
                for row in rows[start : start + CONTACT_BATCH]
            ]
            with transaction.atomic():
                cursor.executemany(statement, part)


def _companies(count: int) -> list[int]:
    now = clock.now()
    bands = list(EmployeeBand.values)
    industries = ["E", "G", "I", "L", "D"]
    rows: list[dict[str, object]] = [
        {
            "name": f"ベンチ企業{n}",
            "match_key": f"benchseg{n}",
            "industry": industries[n % len(industries)],
            "employee_band": bands[n % len(bands)],
        }
        for n in range(count)
    ]
    _insert_rows(Company, rows, Company(created_at=now, updated_at=now))
    return list(Company.objects.order_by("pk").values_list("pk", flat=True))


def _contacts(size: int) -> None:
    now = clock.now()
    companies = _companies(max(10, size // 50))
    levels = [0, 1, 1, 2, 3, 4, 5]
    rows: list[dict[str, object]] = [
        {
            "family_name": "佐藤",
            "given_name": f"{n}",
            "email": f"seg{n}@example.co.jp",
            "dedupe_key": f"e:seg{n}@example.co.jp",
            "title_level": levels[n % len(levels)],
            "company_id": companies[(n * 7) % len(companies)],
        }
        for n in range(size)
    ]
    _insert_rows(Contact, rows, Contact(created_at=now, updated_at=now))


def _timestamp(expression: str) -> str:
    if connection.vendor == "postgresql":
        return f"to_timestamp({expression})"
    return f"datetime({expression}, 'unixepoch')"


def _events(now_ts: float) -> int:
    """``EVENTS_PER_CONTACT`` events per contact with one ``INSERT … SELECT``."""
    k = " UNION ALL ".join(f"SELECT {i} AS i" for i in range(EVENTS_PER_CONTACT))
    offset = f"((c.id * 7919 + k.i * 104729) %% {DAYS * 86400})"
    when = _timestamp(f"({now_ts} - {offset})")
    roll = "((c.id * 31 + k.i * 17) %% 10)"
    kind = f"CASE WHEN {roll} = 0 THEN 'asset_downloaded' ELSE 'page_view' END"
    props = f'CASE WHEN {roll} = 0 THEN \'{{"asset": "wp"}}\' ELSE \'{{"url": "/"}}\' END'
    if connection.vendor == "postgresql":
        props = f"CAST({props} AS jsonb)"
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(
            f"INSERT INTO {Event._meta.db_table} (contact_id, visitor_id, type, occurred_at,"  # noqa: S608
            " received_at, source, properties, idempotency_key)"
            f" SELECT c.id, %s, {kind}, {when}, {when}, 'api', {props}, NULL"
            f" FROM {Contact._meta.db_table} c CROSS JOIN ({k}) k",
            [""],
        )
        return int(cursor.rowcount)


def _hand_written_count() -> int:
    now = clock.now()
    bands = [b.value for b in EmployeeBand if b.minimum >= 100]
    placeholders = ", ".join(["%s"] * len(bands))
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {Contact._meta.db_table} c"  # noqa: S608
            f" JOIN {Company._meta.db_table} co ON co.id = c.company_id"
            f" WHERE c.merged_into_id IS NULL AND co.employee_band IN ({placeholders})"
            " AND c.title_level >= 4 AND EXISTS (SELECT 1 FROM"
            f" {Event._meta.db_table} e WHERE e.contact_id = c.id AND e.type = 'asset_downloaded'"
            " AND e.occurred_at >= %s AND e.occurred_at <= %s)",
            [*bands, adapt(now - timedelta(days=90)), adapt(now)],
        )
        return int(cursor.fetchone()[0])


def segments_run(*, size: int, backend: str, data_dir: Path) -> list[Measurement]:
    """Time the three paths (best of ``REPEAT`` for the counts) and check the counts agree."""
    from sokyaku.segments.services import segment_refresh

    del data_dir
    now = clock.now()
    with clock.frozen(now):
        started = time.perf_counter()
        _contacts(size)
        events = _events(now.timestamp())
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        setup = time.perf_counter() - started

        sql_times, orm_times = [], []
        expected = found = -1
        for _round in range(REPEAT):
            watch = Stopwatch()
            with watch.running():
                expected = _hand_written_count()
            sql_times.append(watch.seconds)
            watch = Stopwatch()
            with watch.running():
                found = definition_queryset(DEFINITION).count()
            orm_times.append(watch.seconds)
        if found != expected:
            raise RuntimeError(f"segment count {found} != hand-written SQL {expected}")
        segment = Segment.objects.create(
            name="ベンチマーク", kind=SegmentKind.DYNAMIC, definition=DEFINITION,
            created_at=now, updated_at=now,
        )  # fmt: skip
        build = Stopwatch()
        with build.running():
            entered, _left = segment_refresh(segment=segment)
        if entered != expected:
            raise RuntimeError(f"segment build took {entered} members, expected {expected}")
    best_sql, best_orm = min(sql_times), min(orm_times)
    ratio = best_orm / best_sql if best_sql else float("inf")
    print(
        f"segments: {size} contacts, {events} events (setup {setup:.1f} s); "
        f"{expected} match; hand-written SQL {best_sql:.3f} s, definition_queryset().count() "
        f"{best_orm:.3f} s = {ratio:.2f}× the SQL; build {build.seconds:.2f} s",
        flush=True,
    )
    return [
        Measurement("segments", backend, "sql", size, best_sql, baseline=True,
                    note=f"{expected} of {size} match"),
        Measurement("segments", backend, "count", size, best_orm, note=f"{ratio:.2f}× the SQL"),
        Measurement("segments", backend, "build", size, build.seconds,
                    note=f"{entered} members written"),
    ]  # fmt: skip
