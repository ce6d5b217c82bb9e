"""The dashboard and the channel table against the bare SQL aggregates they reduce to.

``size`` contacts created over the last year across the installed channels (a fifth of them with
a campaign), ``10 × size`` events, their lifecycle history (everyone a lead; a fifth MQL, a
twelfth SQL, a twentieth opportunity, a fiftieth customer with a won deal), handoffs for the
MQLs, two marketing mails per contact (a third opened, a twentieth clicked, one in a hundred
bounced), current stage and temperature — all written set based (``INSERT … SELECT`` over a
generated series). Then, for the last 90 days:

- ``sql`` (baseline): the hand-written aggregates the dashboard's numbers reduce to — leads,
  first entries into each stage, handoffs and their conversion, won deals and revenue, the mail
  counts, grouped by channel and campaign over the raw tables, plus the hot-lead ratio from the
  current state. Best of three.
- ``raw``: ``analytics.metrics.raw_counts`` for the period (the same numbers through the ORM).
- ``rebuild``: ``rollups_rebuild`` of the whole year (set based, after a bulk load).
- ``refresh``: ``rollups_refresh`` of one (busy) day — what one change costs the rollups.
- ``kpis``: ``kpis(period)`` from the rollups, with the state KPIs (hot-lead ratio,
  nurturing rate, repeat rate) read at request time.
- ``channels``: ``channel_table(period)``.
- ``dashboard``: the dashboard page, rendered for a logged-in admin (KPIs and the previous
  period, charts, funnel).

The rollup numbers must equal the raw numbers, and ``raw`` must equal the hand-written SQL; the
run fails otherwise.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import connection, models, transaction

from benchmarks.results import Measurement, Stopwatch
from sokyaku.activity.models import Event
from sokyaku.analytics.metrics import CONVERSION_WINDOW, GOAL_EVENT_TYPES
from sokyaku.campaigns.models import Campaign, Channel, ChannelCost
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.deals.models import Deal, DealStage, DealStatus, Order, Pipeline
from sokyaku.deals.services import pipeline_presets_install
from sokyaku.handoff.models import Handoff
from sokyaku.lifecycle.models import ContactStage, Stage, StageChange
from sokyaku.messaging.models import Message, MessageChannel, MessageStatus, Stream
from sokyaku.scoring.models import ScoreState

assert timedelta(days=7) == CONVERSION_WINDOW, "the hand-written SQL says 7 days"
DAYS = 365
PERIOD_DAYS = 90
EVENTS_PER_CONTACT = 10
REPEAT = 3
# Every k-th contact reaches the stage, this many days after it was created.
STAGES = (
    (Stage.LEAD, 1, 0),
    (Stage.MQL, 5, 3),
    (Stage.SQL, 12, 10),
    (Stage.OPPORTUNITY, 20, 15),
    (Stage.CUSTOMER, 50, 30),
)


def _seconds(expression: str) -> str:
    """An instant ``expression`` seconds after the epoch, as the backend stores it."""
    if connection.vendor == "postgresql":
        return f"to_timestamp({expression})"
    return f"datetime({expression}, 'unixepoch')"


def _json(expression: str) -> str:
    return f"CAST({expression} AS jsonb)" if connection.vendor == "postgresql" else expression


def _series(count: int) -> str:
    """A ``WITH`` clause naming ``seq(n)``: 0 … count − 1."""
    if connection.vendor == "postgresql":
        return f"WITH seq(n) AS (SELECT generate_series(0, {count - 1}))"
    return (
        f"WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n < {count - 1})"
    )


def _insert_select(
    model: type[models.Model],
    template: models.Model,
    expressions: dict[str, str],
    source: str,
    *,
    prefix: str = "",
) -> int:
    """``INSERT INTO model SELECT …``: the columns in ``expressions`` computed from ``source``,
    every other column the template's value. Returns the rows written."""
    fields = [
        f for f in model._meta.concrete_fields if not f.primary_key or f.attname in expressions
    ]
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for field in fields:
        columns.append(quote(field.column))
        if field.attname in expressions:
            values.append(expressions[field.attname].replace("%", "%%"))
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(getattr(template, field.attname), connection))
    statement = (
        f"{prefix} INSERT INTO {quote(model._meta.db_table)} ({', '.join(columns)})"
        f" SELECT {', '.join(values)} FROM {source.replace('%', '%%')}"
    )
    with connection.cursor() as cursor, transaction.atomic():
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def _load(size: int, now_ts: int) -> dict[str, int]:
    """Write the data set; returns rows per table."""
    now = clock.now()
    channels = list(Channel.objects.order_by("pk").values_list("pk", flat=True))
    campaigns = [
        Campaign.objects.create(
            name=f"ベンチ施策{i}", channel_id=channels[i], utm_campaign=f"bench{i}"
        )
        for i in range(min(5, len(channels)))
    ]
    month = now.astimezone(clock.TOKYO).date().replace(day=1)
    for _back in range(13):
        ChannelCost.objects.bulk_create(
            ChannelCost(channel_id=pk, month=month, amount_jpy=300_000 + 10_000 * i)
            for i, pk in enumerate(channels)
        )
        month = (month - timedelta(days=1)).replace(day=1)
    rows: dict[str, int] = {}
    created = f"({now_ts} - ((seq.n * 7919) % {DAYS * 86400}))"
    case = " ".join(f"WHEN {i} THEN {pk}" for i, pk in enumerate(channels))
    campaign = " ".join(f"WHEN {i} THEN '{c.utm_campaign}'" for i, c in enumerate(campaigns))
    touch = f"""CASE WHEN seq.n % 5 = 0 THEN '{{"campaign": "' ||
        (CASE (seq.n / 5) % {len(campaigns)} {campaign} END) || '"}}' ELSE '{{}}' END"""
    if connection.vendor == "postgresql":
        touch = touch.replace("seq.n / 5", "(seq.n / 5)")
    _insert_select(
        Contact,
        Contact(created_at=now, updated_at=now),
        {
            "family_name": "'佐藤'",
            "given_name": "CAST(seq.n AS TEXT)",
            "email": "'a' || seq.n || '@example.co.jp'",
            "dedupe_key": "'e:a' || seq.n || '@example.co.jp'",
            "first_touch_channel_id": f"CASE seq.n % {len(channels)} {case} END",
            "first_touch": _json(touch),
            "created_at": _seconds(created),
            "updated_at": _seconds(created),
        },
        "seq",
        prefix=_series(size),
    )
    rows["contacts"] = Contact.objects.count()
    contact = Contact._meta.db_table
    epoch = (
        "EXTRACT(EPOCH FROM c.created_at)"
        if connection.vendor == "postgresql"
        else "CAST(strftime('%s', c.created_at) AS INTEGER)"
    )
    rows["stage_changes"] = 0
    previous = ""
    for stage, every, after in STAGES:
        rows["stage_changes"] += _insert_select(
            StageChange,
            StageChange(from_stage=previous, to_stage=stage, changed_at=now, source="rule"),
            {
                "contact_id": "c.id",
                "changed_at": _seconds(f"{epoch} + {after * 86400}"),
            },
            f"{contact} c WHERE c.id % {every} = 0 AND {epoch} + {after * 86400} <= {now_ts}",
        )
        previous = stage
    furthest = " ".join(
        f"WHEN c.id % {every} = 0 AND {epoch} + {after * 86400} <= {now_ts} THEN '{stage}'"
        for stage, every, after in reversed(STAGES)
    )
    rows["contact_stages"] = _insert_select(
        ContactStage,
        ContactStage(stage=Stage.LEAD, entered_at=now),
        {
            "contact_id": "c.id",
            "stage": f"CASE {furthest} ELSE 'lead' END",
            "entered_at": "c.created_at",
        },
        f"{contact} c",
    )
    rows["score_states"] = _insert_select(
        ScoreState,
        ScoreState(updated_at=now),
        {
            "contact_id": "c.id",
            "temperature": "CASE c.id % 10 WHEN 0 THEN 'hot' WHEN 1 THEN 'warm' WHEN 2 THEN "
            "'warm' ELSE 'cold' END",
        },
        f"{contact} c",
    )
    rows["handoffs"] = _insert_select(
        Handoff,
        Handoff(
            trigger_kind="mql", action_label="MQL", acted_at=now, created_at=now, sla_due_at=now
        ),
        {
            "contact_id": "c.id",
            "acted_at": _seconds(f"{epoch} + {3 * 86400}"),
            "created_at": _seconds(f"{epoch} + {3 * 86400}"),
            "sla_due_at": _seconds(f"{epoch} + {4 * 86400}"),
            "status": "CASE WHEN c.id % 12 = 0 THEN 'accepted' ELSE 'rejected' END",
        },
        f"{contact} c WHERE c.id % 5 = 0 AND {epoch} + {3 * 86400} < {now_ts}",
    )
    if not Pipeline.objects.exists():
        pipeline_presets_install()
    pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    assert pipeline is not None
    won = DealStage.objects.filter(pipeline=pipeline, kind="won").first()
    assert won is not None
    rows["deals"] = _insert_select(
        Deal,
        Deal(
            pipeline=pipeline,
            stage=won,
            name="ベンチ案件",
            status=DealStatus.WON,
            closed_at=now,
            stage_entered_at=now,
            created_at=now,
            updated_at=now,
        ),
        {
            "contact_id": "c.id",
            "amount": "500000 + (c.id % 7) * 100000",
            "closed_at": _seconds(f"{epoch} + {30 * 86400}"),
            "created_at": _seconds(f"{epoch} + {15 * 86400}"),
        },
        f"{contact} c WHERE c.id % 50 = 0 AND {epoch} + {30 * 86400} < {now_ts}",
    )
    k = " UNION ALL ".join(f"SELECT {i} AS i" for i in range(2))
    sent = f"{epoch} + 86400 * (1 + k.i * 7)"
    rows["messages"] = _insert_select(
        Message,
        Message(
            dedupe_key="",
            channel=MessageChannel.EMAIL,
            stream=Stream.MARKETING,
            status=MessageStatus.SENT,
            created_at=now,
        ),
        {
            "dedupe_key": "'bench-' || c.id || '-' || k.i",
            "contact_id": "c.id",
            "created_at": _seconds(sent),
            "sent_at": _seconds(sent),
            "opened_at": f"CASE WHEN (c.id + k.i) % 3 = 0 THEN {_seconds(sent + ' + 3600')} END",
            "clicked_at": f"CASE WHEN (c.id + k.i) % 20 = 0 THEN {_seconds(sent + ' + 3700')} END",
            "bounced_at": f"CASE WHEN (c.id + k.i) % 100 = 1 THEN {_seconds(sent + ' + 60')} END",
        },
        f"{contact} c CROSS JOIN ({k}) k WHERE {sent} < {now_ts}",
    )
    k = " UNION ALL ".join(f"SELECT {i} AS i" for i in range(EVENTS_PER_CONTACT))
    roll = "((c.id * 31 + k.i * 17) % 20)"
    kind = (
        f"CASE WHEN {roll} = 0 THEN 'form_submitted' WHEN {roll} = 1 THEN 'score_band_changed'"
        f" WHEN {roll} < 4 THEN 'asset_downloaded' ELSE 'page_view' END"
    )
    props = (
        f"""CASE WHEN {roll} = 1 THEN '{{"from": "cold", "to": "warm"}}' """
        """ELSE '{"url": "/"}' END"""
    )
    occurred = f"{epoch} + ((c.id * 104729 + k.i * 7919) % (1 + {now_ts} - {epoch}))"
    rows["events"] = _insert_select(
        Event,
        Event(type="page_view", occurred_at=now, received_at=now, source="api"),
        {
            "contact_id": "c.id",
            "type": kind,
            "occurred_at": _seconds(occurred),
            "received_at": _seconds(occurred),
            "properties": _json(props),
        },
        f"{contact} c CROSS JOIN ({k}) k",
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return rows


def _bare_sql(start: Any, end: Any) -> Counter[tuple[str, int, str]]:
    """The period's numbers by (metric, channel id, utm campaign), hand-written."""
    adapt = connection.ops.adapt_datetimefield_value
    window = [adapt(start), adapt(end)]
    if connection.vendor == "postgresql":
        campaign = "c.first_touch ->> 'campaign'"
    else:
        campaign = "json_extract(c.first_touch, '$.campaign')"
    contact, change = Contact._meta.db_table, StageChange._meta.db_table
    handoff, deal, message = Handoff._meta.db_table, Deal._meta.db_table, Message._meta.db_table
    source = f"COALESCE(c.first_touch_channel_id, 0), {campaign}"
    order, event = Order._meta.db_table, Event._meta.db_table
    goals = ", ".join(f"'{t}'" for t in GOAL_EVENT_TYPES)
    if connection.vendor == "postgresql":
        week_later = "m.sent_at + INTERVAL '7 days'"
    else:
        week_later = "datetime(m.sent_at, '+7 days')"
    out: Counter[tuple[str, int, str]] = Counter()
    queries: list[tuple[tuple[str, ...], str, list[Any]]] = [
        (
            ("leads", "leads_converted"),
            f"SELECT {source}, COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM {change} s"
            " WHERE s.contact_id = c.id AND s.to_stage = 'customer') THEN 1 ELSE 0 END)"
            f" FROM {contact} c WHERE c.merged_into_id IS NULL"
            " AND c.created_at >= %s AND c.created_at < %s GROUP BY 1, 2",
            window,
        ),
        (
            ("orders", "order_revenue"),
            f"SELECT {source}, COUNT(*), SUM(o.amount) FROM {order} o JOIN {contact} c"
            " ON c.id = o.contact_id WHERE o.ordered_at >= %s AND o.ordered_at < %s"
            " GROUP BY 1, 2",
            window,
        ),
        (
            ("handoffs", "handoffs_converted"),
            f"SELECT {source}, COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM {change} s"
            " WHERE s.contact_id = h.contact_id AND s.to_stage IN ('opportunity', 'customer',"
            " 'advocate') AND s.changed_at >= h.created_at) OR EXISTS (SELECT 1 FROM"
            f" {deal} d WHERE d.handoff_id = h.id) THEN 1 ELSE 0 END) FROM {handoff} h"
            f" JOIN {contact} c ON c.id = h.contact_id WHERE h.created_at >= %s"
            " AND h.created_at < %s GROUP BY 1, 2",
            window,
        ),
        (
            ("won", "revenue"),
            f"SELECT {source}, COUNT(*), SUM(d.amount) FROM {deal} d JOIN {contact} c"
            " ON c.id = d.contact_id WHERE d.status = 'won' AND d.closed_at >= %s"
            " AND d.closed_at < %s GROUP BY 1, 2",
            window,
        ),
        (
            ("sent", "delivered", "opened", "clicked", "converted", "bounced"),
            f"SELECT {source}, COUNT(*), SUM(CASE WHEN m.bounced_at IS NULL THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN m.opened_at IS NOT NULL THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN m.clicked_at IS NOT NULL THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN m.clicked_at IS NOT NULL AND EXISTS (SELECT 1 FROM"
            f" {event} e WHERE e.contact_id = m.contact_id AND e.type IN ({goals})"
            f" AND e.occurred_at >= m.clicked_at AND e.occurred_at < {week_later})"
            " THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN m.bounced_at IS NOT NULL THEN 1 ELSE 0 END)"
            f" FROM {message} m JOIN {contact} c ON c.id = m.contact_id"
            " WHERE m.channel = 'email' AND m.stream = 'marketing' AND m.sent_at >= %s"
            " AND m.sent_at < %s GROUP BY 1, 2",
            window,
        ),
    ]
    for metric, stage in (
        ("mqls", "mql"),
        ("sqls", "sql"),
        ("opportunities", "opportunity"),
        ("customers", "customer"),
    ):
        queries.append(
            (
                (metric,),
                f"SELECT {source}, COUNT(*) FROM {change} s JOIN {contact} c"
                " ON c.id = s.contact_id WHERE s.to_stage = %s AND s.changed_at >= %s"
                " AND s.changed_at < %s AND c.merged_into_id IS NULL AND NOT EXISTS (SELECT 1"
                f" FROM {change} e WHERE e.contact_id = s.contact_id AND e.to_stage = s.to_stage"
                " AND (e.changed_at < s.changed_at OR (e.changed_at = s.changed_at"
                " AND e.id < s.id))) GROUP BY 1, 2",
                [stage, *window],
            )
        )
    with connection.cursor() as cursor:
        for metrics, sql, params in queries:
            cursor.execute(sql, params)
            for channel, utm, *values in cursor.fetchall():
                for metric, value in zip(metrics, values, strict=True):
                    if value:
                        out[(metric, int(channel), utm or "")] += int(value)
        cursor.execute(
            f"SELECT COUNT(*), SUM(CASE WHEN t.temperature = 'hot' THEN 1 ELSE 0 END)"  # noqa: S608
            f" FROM {ContactStage._meta.db_table} s JOIN {ScoreState._meta.db_table} t"
            " ON t.contact_id = s.contact_id WHERE s.stage IN ('lead', 'mql', 'sql',"
            " 'opportunity', 'recycled')"
        )
        open_leads, hot = cursor.fetchone()
        out[("open_leads", 0, "")] = int(open_leads or 0)
        out[("hot", 0, "")] = int(hot or 0)
    return out


def _best(function: Any) -> tuple[float, Any]:
    times, result = [], None
    for _round in range(REPEAT):
        watch = Stopwatch()
        with watch.running():
            result = function()
        times.append(watch.seconds)
    return min(times), result


def analytics_run(*, size: int, backend: str, data_dir: Path) -> list[Measurement]:
    """Load, rebuild the rollups, then time the baseline and each path (best of three)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from sokyaku.analytics import rollups
    from sokyaku.analytics.metrics import campaign_ids, raw_counts
    from sokyaku.analytics.period import Filters, Period
    from sokyaku.analytics.selectors.channels import channel_table
    from sokyaku.analytics.selectors.kpis import kpis
    from sokyaku.core.roles import ADMIN

    del data_dir
    now = clock.now()
    with clock.frozen(now):
        started = time.perf_counter()
        rows = _load(size, int(now.timestamp()))
        setup = time.perf_counter() - started
        today = clock.local_now().date()
        period = Period(first=today - timedelta(days=PERIOD_DAYS - 1), last=today)
        start, end = period.bounds()

        rebuild = Stopwatch()
        with rebuild.running():
            written = rollups.rollups_rebuild()
        sql_seconds, expected = _best(lambda: _bare_sql(start, end))
        raw_seconds, raw = _best(lambda: raw_counts(start, end))
        utm = {pk: key for key, pk in campaign_ids().items()}
        by_source = Counter({(m, ch, utm.get(cp, "")): v for (_d, m, ch, cp), v in raw.items()})
        for key, value in expected.items():
            if key[0] not in ("open_leads", "hot") and by_source[key] != value:
                raise RuntimeError(f"raw_counts {key}: {by_source[key]} != hand-written {value}")
        rolled = rollups.rollup_counts(period.first, period.last)
        if rolled != raw:
            raise RuntimeError("rollup numbers differ from the raw numbers")
        kpi_seconds, figures = _best(lambda: kpis(period, Filters()))
        if figures.leads != sum(v for k, v in expected.items() if k[0] == "leads"):
            raise RuntimeError("kpis() leads differ from the hand-written count")
        channel_seconds, _table = _best(lambda: channel_table(period, Filters()))

        busiest = max(
            {k[0] for k in rollups.rollup_counts(period.first, period.last, by_day=True)},
            key=lambda day: day or today,
        )
        refresh = Stopwatch()
        with refresh.running():
            rollups.rollups_refresh([busiest or today])

        admin = get_user_model().objects.create_user("bench-admin")
        admin.groups.add(Group.objects.get(name=ADMIN))
        client = Client(HTTP_HOST="localhost")
        client.force_login(admin)
        url = f"/analytics/?from={period.first}&to={period.last}"

        def page() -> int:
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"dashboard answered {response.status_code}")
            return len(response.content)

        page_seconds, _length = _best(page)

    def ratio(seconds: float) -> str:
        return f"{seconds / sql_seconds:.2f}× the SQL" if sql_seconds else ""

    print(
        f"analytics: {rows['contacts']} contacts, {rows['events']} events, "
        f"{rows['messages']} mails, {rows['stage_changes']} stage changes (setup {setup:.0f} s); "
        f"bare SQL {sql_seconds:.3f} s, raw_counts {raw_seconds:.3f} s, kpis {kpi_seconds:.3f} s, "
        f"channel table {channel_seconds:.3f} s, dashboard page {page_seconds:.3f} s; "
        f"rebuild {rebuild.seconds:.1f} s ({written} rows), one day's refresh "
        f"{refresh.seconds:.3f} s",
        flush=True,
    )
    return [
        Measurement("analytics", backend, "sql", size, sql_seconds, baseline=True,
                    note=f"{PERIOD_DAYS} days of {rows['events']:,} events"),
        Measurement("analytics", backend, "raw", size, raw_seconds, note=ratio(raw_seconds)),
        Measurement("analytics", backend, "kpis", size, kpi_seconds, note=ratio(kpi_seconds)),
        Measurement("analytics", backend, "channels", size, channel_seconds,
                    note=ratio(channel_seconds)),
        Measurement("analytics", backend, "dashboard", size, page_seconds,
                    note=ratio(page_seconds)),
        Measurement("analytics", backend, "rebuild", size, rebuild.seconds,
                    note=f"{written} rollup rows, {DAYS} days"),
        Measurement("analytics", backend, "refresh", size, refresh.seconds,
                    note="one day", latency=True),
    ]  # fmt: skip
