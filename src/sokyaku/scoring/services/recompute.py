"""Set-based recompute: every contact's ledger and score rebuilt from the events, in SQL.

``recompute_start`` records a ``RecomputeRun`` and enqueues the task after commit;
``recompute_execute`` walks the live contacts in id ranges of ``RANGE`` ids, one transaction per
range, advancing ``done`` so the UI can show progress. For each range:

1. the range's ``ScoreEntry`` rows are deleted and rebuilt with one ``INSERT … SELECT`` per
   behaviour rule over ``activity_event`` (the rule's conditions compiled by ``rules.behaviour_q``;
   a cap keeps the first ``cap`` events of each Asia/Tokyo day or week by
   ``ROW_NUMBER() OVER (PARTITION BY contact, period ORDER BY occurred_at, id)``);
2. engagement ``SUM(points · 2^((t_i - now)/h))`` and fit ``SUM(CASE WHEN rule THEN points)``
   are computed per contact, with temperature and ``band_drops_at``, and written with one upsert;
3. the contacts whose band moved get ``score_band_changed`` events, built from one query that
   compares the new band with the stored one and stored with one ``event_ingest_batch``
   (so lifecycle and segment listeners see them like any other event).

``scores_recompute_contacts`` runs the same steps for a given set of contacts (a merge, or an
ingested batch too large to score event by event): the result equals the incremental path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min, Q

from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import NotFound
from sokyaku.scoring import sql
from sokyaku.scoring.compiled import Compiled, compiled_for
from sokyaku.scoring.models import RecomputeRun, RecomputeStatus, RuleSet, ScoreEntry
from sokyaku.scoring.rules import behaviour_q, fit_points_expression, machine_open_q

logger = logging.getLogger(__name__)

RANGE = 20_000  # contact ids per transaction
ID_CHUNK = 500  # ids per IN (...) list


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@dataclass(frozen=True)
class Selection:
    """Which contacts a rebuild covers: as Qs on Contact and on contact_id, and as raw SQL."""

    contacts: Q
    by_contact: Q
    raw: str
    params: tuple[Any, ...]

    @classmethod
    def id_range(cls, lo: int, hi: int) -> Selection:
        return cls(
            contacts=Q(id__gte=lo, id__lt=hi),
            by_contact=Q(contact_id__gte=lo, contact_id__lt=hi),
            raw="contact_id >= %s AND contact_id < %s",
            params=(lo, hi),
        )

    @classmethod
    def ids(cls, ids: Sequence[int]) -> Selection:
        marks = ", ".join(["%s"] * len(ids))
        return cls(
            contacts=Q(id__in=list(ids)),
            by_contact=Q(contact_id__in=list(ids)),
            raw=f"contact_id IN ({marks})",
            params=tuple(ids),
        )


def _insert_entries(compiled: Compiled, selection: Selection) -> None:
    """Rebuild the ledger rows of the selected contacts."""
    ScoreEntry.objects.filter(selection.by_contact).delete()
    table = _q(ScoreEntry._meta.db_table)
    with connection.cursor() as cursor:
        for rule in compiled.behaviour:
            q = behaviour_q(event_type=rule.event_type, conditions=rule.conditions)
            if rule.event_type == EventType.EMAIL_OPENED and not compiled.score_machine_opens:
                q &= ~machine_open_q()
            events = (
                Event.objects.filter(q, selection.by_contact, contact__merged_into__isnull=True)
                .order_by()
                .values_list("id", "contact_id", "occurred_at")
            )
            inner, params = events.query.sql_with_params()
            if rule.cap_period and rule.cap:
                period = sql.bucket(rule.cap_period, "e.occurred_at", connection)
                statement = (
                    f"INSERT INTO {table} (contact_id, rule_id, event_id, points, occurred_at) "  # noqa: S608 (vendor SQL + Django-compiled params)
                    f"SELECT contact_id, %s, id, %s, occurred_at FROM ("
                    f"SELECT e.id AS id, e.contact_id AS contact_id, e.occurred_at AS occurred_at,"
                    f" ROW_NUMBER() OVER (PARTITION BY e.contact_id, {period}"
                    f" ORDER BY e.occurred_at, e.id) AS rn FROM ({inner}) e) r WHERE rn <= %s"
                )
                cursor.execute(statement, [rule.id, rule.points, *params, rule.cap])
            else:
                statement = (
                    f"INSERT INTO {table} (contact_id, rule_id, event_id, points, occurred_at) "  # noqa: S608 (vendor SQL + Django-compiled params)
                    f"SELECT e.contact_id, %s, e.id, %s, e.occurred_at FROM ({inner}) e"
                )
                cursor.execute(statement, [rule.id, rule.points, *params])


def _new_values_sql(
    compiled: Compiled, selection: Selection, now_ts: float
) -> tuple[str, list[Any]]:
    """SELECT contact_id, eng, fit, temp, drops for the selected live contacts."""
    fit_qs = (
        Contact.objects.filter(selection.contacts, merged_into__isnull=True)
        .order_by()
        .annotate(fit_points=fit_points_expression(compiled.fit_rules))
        .values("id", "fit_points")
    )
    fit_sql, fit_params = fit_qs.query.sql_with_params()
    h = sql.literal(compiled.half_life)
    now = sql.literal(now_ts)
    entries = _q(ScoreEntry._meta.db_table)
    eng_sql = (
        f"SELECT contact_id, SUM(points * POWER(2.0, ({sql.epoch('occurred_at', connection)}"  # noqa: S608 (vendor SQL + Django-compiled params)
        f" - {now}) / {h})) AS eng FROM {entries} WHERE {selection.raw} GROUP BY contact_id"
    )
    warm, hot = sql.literal(compiled.warm_at), sql.literal(compiled.hot_at)

    def drop(edge: str) -> str:
        return sql.timestamp(f"({now} + {h} * LN(v.eng / ({edge} - v.fit)) / LN(2.0))", connection)

    statement = (
        "SELECT v.contact_id AS contact_id, v.eng AS eng, v.fit AS fit,"  # noqa: S608 (vendor SQL + Django-compiled params)
        f" CASE WHEN v.eng + v.fit >= {hot} THEN 'hot' WHEN v.eng + v.fit >= {warm} THEN 'warm'"
        " ELSE 'cold' END AS temp,"
        f" CASE WHEN v.eng + v.fit >= {hot} AND v.fit < {hot} THEN {drop(hot)}"
        f" WHEN v.eng + v.fit < {hot} AND v.eng + v.fit >= {warm} AND v.fit < {warm}"
        f" THEN {drop(warm)} ELSE NULL END AS drops"
        f" FROM (SELECT f.id AS contact_id, COALESCE(b.eng, 0.0) AS eng, f.fit_points AS fit"
        f" FROM ({fit_sql}) f LEFT JOIN ({eng_sql}) b ON b.contact_id = f.id) v"
    )
    return statement, [*fit_params, *selection.params]


def _rebuild(compiled: Compiled, selection: Selection) -> int:
    """Steps 1–3 for the selected contacts, inside the caller's transaction. Returns how many."""
    from sokyaku.activity.services import event_ingest_batch

    now = clock.now()
    now_ts = now.timestamp()
    _insert_entries(compiled, selection)
    values_sql, params = _new_values_sql(compiled, selection, now_ts)
    state = _q("scoring_scorestate")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT n.contact_id, COALESCE(s.temperature, 'cold'), n.temp, n.eng + n.fit"  # noqa: S608 (vendor SQL + Django-compiled params)
            f" FROM ({values_sql}) n LEFT JOIN {state} s ON s.contact_id = n.contact_id"
            f" WHERE COALESCE(s.temperature, 'cold') <> n.temp",
            params,
        )
        changes = cursor.fetchall()
        cursor.execute(
            f"INSERT INTO {state} (contact_id, engagement, engagement_epoch, fit, temperature,"  # noqa: S608 (vendor SQL + Django-compiled params)
            f" band_drops_at, ruleset_version, updated_at)"
            f" SELECT n.contact_id, n.eng, {sql.literal(now_ts)}, n.fit, n.temp, n.drops,"
            f" {int(compiled.version)}, %s FROM ({values_sql}) n WHERE 1 = 1"
            " ON CONFLICT (contact_id) DO UPDATE SET engagement = excluded.engagement,"
            " engagement_epoch = excluded.engagement_epoch, fit = excluded.fit,"
            " temperature = excluded.temperature, band_drops_at = excluded.band_drops_at,"
            " ruleset_version = excluded.ruleset_version, updated_at = excluded.updated_at",
            [connection.ops.adapt_datetimefield_value(now), *params],
        )
        written = cursor.rowcount
    if changes:
        event_ingest_batch(
            events=[
                event_build(
                    type=EventType.SCORE_BAND_CHANGED,
                    occurred_at=now,
                    source=EventSource.SYSTEM,
                    properties={"from": old, "to": new, "score": round(float(total), 1)},
                    contact_id=contact_id,
                )
                for contact_id, old, new, total in changes
            ]
        )
    return max(written, 0)


def scores_recompute_contacts(
    *, contact_ids: Sequence[int], ruleset: RuleSet | None = None, compiled: Compiled | None = None
) -> None:
    """Rebuild the ledger and scores of ``contact_ids`` under ``ruleset`` (set-based).

    Runs inside the caller's transaction; records ``score_band_changed`` for band moves.
    """
    if compiled is None:
        if ruleset is None:
            raise ValueError("scores_recompute_contacts needs a rule set")
        compiled = compiled_for(ruleset)
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), ID_CHUNK):
        _rebuild(compiled, Selection.ids(ids[start : start + ID_CHUNK]))


def recompute_start(*, ruleset: RuleSet | None = None, actor: Any = None) -> RecomputeRun:
    """Record a recompute of every live contact under ``ruleset`` (default: the active one).

    Enqueues ``tasks.recompute_task`` after commit. Raises ``NotFound`` without a rule set.
    """
    if ruleset is None:
        ruleset = RuleSet.objects.filter(is_active=True).first()
        if ruleset is None:
            raise NotFound("There is no active scoring rule set.")
    run = RecomputeRun.objects.create(
        ruleset=ruleset,
        total=Contact.objects.filter(merged_into__isnull=True).count(),
        created_at=clock.now(),
    )
    logger.info(
        "scoring.recompute_started",
        extra={"run": run.pk, "version": ruleset.version, "actor": getattr(actor, "pk", None)},
    )
    from sokyaku.scoring import tasks

    transaction.on_commit(lambda: tasks.recompute_task(run.pk))
    return run


def recompute_execute(*, run_id: int) -> RecomputeRun:
    """Run a recorded recompute to the end, one id range per transaction (safe to run twice).

    A run whose rule set is no longer active is marked failed (a newer publish superseded it and
    started its own run). On error the run is marked failed and the error re-raised; ranges
    already done stay committed and a new run redoes everything.
    """
    run = RecomputeRun.objects.select_related("ruleset").get(pk=run_id)
    if run.status in (RecomputeStatus.DONE, RecomputeStatus.FAILED):
        return run
    ruleset = run.ruleset
    if not ruleset.is_active:
        run.status = RecomputeStatus.FAILED
        run.error = "A newer rule set was published; its own recompute replaces this one."
        run.finished_at = clock.now()
        run.save(update_fields=["status", "error", "finished_at"])
        return run
    run.status = RecomputeStatus.RUNNING
    run.started_at = clock.now()
    run.done = 0
    run.total = Contact.objects.filter(merged_into__isnull=True).count()
    run.save(update_fields=["status", "started_at", "done", "total"])
    compiled = compiled_for(ruleset)
    bounds = Contact.objects.aggregate(lo=Min("id"), hi=Max("id"))
    try:
        if bounds["lo"] is not None:
            for lo in range(bounds["lo"], bounds["hi"] + 1, RANGE):
                with transaction.atomic():
                    written = _rebuild(compiled, Selection.id_range(lo, lo + RANGE))
                    run.done = min(run.total, run.done + written)
                    run.save(update_fields=["done"])
    except Exception as exc:
        run.status = RecomputeStatus.FAILED
        run.error = str(exc)[:2000]
        run.finished_at = clock.now()
        run.save(update_fields=["status", "error", "finished_at"])
        logger.exception("scoring.recompute_failed", extra={"run": run.pk})
        raise
    run.status = RecomputeStatus.DONE
    run.done = run.total
    run.finished_at = clock.now()
    run.save(update_fields=["status", "done", "finished_at"])
    logger.info("scoring.recompute_done", extra={"run": run.pk, "contacts": run.total})
    return run
