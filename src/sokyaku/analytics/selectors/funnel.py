"""The funnel lead → MQL → SQL → opportunity → customer, with the conversion between stages
and the median time spent in each.

Two readings of a period:

- ``cohort``: the contacts created in the period, each counted at every stage it has reached
  by now. Reaching a stage means reaching it or any later one — a lead a rep qualified straight
  to SQL counts as an MQL too — so every stage holds at most the one before it.
- ``period``: the stage entries that happened in the period (first entries, as the MQL and SQL
  counts of the KPI table), whoever made them. Stages are independent counts here; a
  "conversion" over 100 % says more people moved on than came in during the period.

The median days in a stage come from the lifecycle history: from the first entry into the
stage to the first entry into any later stage of the funnel (a recycled lead's way back does
not end its MQL stay). Contacts that have not moved on yet are left out; ``None`` when nobody
has. Cohort: every stay of the cohort's contacts; period: the stays that began in the period.
The database returns one row per contact (its first entry into each stage); the medians are
taken over those rows.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, FloatField, Func, Min, OuterRef, Q, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sokyaku.analytics.metrics import Metric
from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.selectors.kpis import ratio
from sokyaku.analytics.selectors.scope import counts, scope_contacts, scope_q, totals
from sokyaku.contacts.models import Contact
from sokyaku.core.errors import ValidationError
from sokyaku.lifecycle.models import Stage, StageChange

COHORT = "cohort"
PERIOD = "period"
MODES = (COHORT, PERIOD)

# The funnel's stages; reaching one of ``reached_by`` means the contact got at least that far.
STAGES: tuple[tuple[str, Promise, tuple[str, ...], Metric], ...] = (
    (
        "lead",
        _("Lead"),
        (Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.ADVOCATE),
        Metric.LEADS,
    ),
    (
        "mql",
        _("MQL"),
        (Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.ADVOCATE),
        Metric.MQLS,
    ),
    (
        "sql",
        _("SQL"),
        (Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.ADVOCATE),
        Metric.SQLS,
    ),
    (
        "opportunity",
        _("Opportunity"),
        (Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.ADVOCATE),
        Metric.OPPORTUNITIES,
    ),
    ("customer", _("Customer"), (Stage.CUSTOMER, Stage.ADVOCATE), Metric.CUSTOMERS),
)
STAGE_KEYS = tuple(key for key, _label, _reached, _metric in STAGES)
# The forward stages whose first entries time the stays (advocate ends a customer's stay).
_TIMED = (Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.ADVOCATE)
_DAY = 86400.0


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    label: str
    count: int
    conversion: float | None
    median_days: float | None


@dataclass(frozen=True)
class Funnel:
    mode: str
    stages: list[FunnelStage] = field(default_factory=list)
    no_data: bool = True


def mode_check(mode: str) -> str:
    """``mode`` when it is one of ``MODES``; ``ValidationError`` (field ``mode``) otherwise."""
    if mode not in MODES:
        message = _("Choose the funnel mode cohort or period.")
        raise ValidationError(str(message), field_errors={"mode": str(message)})
    return mode


def cohort_contacts(period: Period, filters: Filters) -> QuerySet[Contact]:
    """The cohort: live contacts created in ``period`` that the filters leave."""
    start, end = period.bounds()
    return scope_contacts(filters).filter(created_at__gte=start, created_at__lt=end)


def reached_q(stages: tuple[str, ...]) -> Q:
    """Contacts (``Contact`` rows) that have ever entered one of ``stages``."""
    return Q(Exists(StageChange.objects.filter(contact=OuterRef("pk"), to_stage__in=stages)))


class _Seconds(Func):
    """Epoch seconds (a float) of a datetime expression: Python then reads numbers, not
    timestamps, which for tens of thousands of rows is most of the time spent. (SQLite and
    PostgreSQL, the two databases sokyaku runs on.)"""

    output_field = FloatField()
    template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"

    def as_postgresql(
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, Any]:
        return self.as_sql(
            compiler,
            connection,
            template="(EXTRACT(EPOCH FROM %(expressions)s)::double precision)",
            **extra_context,
        )


def _first_entries(contact_ids: QuerySet[Any]) -> QuerySet[Any]:
    """One row per contact: the epoch seconds of its first entry into each timed stage."""
    return (
        StageChange.objects.filter(contact__in=contact_ids, to_stage__in=_TIMED)
        .values("contact_id")
        .annotate(
            **{stage: _Seconds(Min("changed_at", filter=Q(to_stage=stage))) for stage in _TIMED}
        )
        .order_by()
        .values_list(*_TIMED)
    )


def _stays(
    rows: QuerySet[Any], since: datetime | None, until: datetime | None
) -> list[float | None]:
    """The median days of each funnel stage over the first-entry rows ``rows``; with ``since``
    and ``until`` only stays that began in [since, until)."""
    low = since.timestamp() if since is not None else float("-inf")
    high = until.timestamp() if until is not None else float("inf")
    days: list[list[float]] = [[] for _stage in STAGES]
    for entries in rows.iterator(chunk_size=5000):
        for index in range(len(STAGES)):
            entered = entries[index]
            if entered is None or not low <= entered < high:
                continue
            later = [at for at in entries[index + 1 :] if at is not None and at > entered]
            if later:
                days[index].append((min(later) - entered) / _DAY)
    return [round(statistics.median(d), 1) if d else None for d in days]


def funnel(period: Period, filters: Filters, *, mode: str = COHORT) -> Funnel:
    """The funnel of ``period`` under ``filters`` in ``mode`` (see the module docstring).
    Raises ``ValidationError`` for an unknown mode."""
    mode_check(mode)
    start, end = period.bounds()
    if mode == COHORT:
        cohort = cohort_contacts(period, filters)
        reached = cohort.aggregate(
            **{key: Count("pk", filter=reached_q(stages)) for key, _l, stages, _m in STAGES}
        )
        numbers = [reached[key] or 0 for key in STAGE_KEYS]
        medians = _stays(_first_entries(cohort.values("pk")), None, None)
    else:
        n = totals(counts(period, filters, metrics=[metric for *_r, metric in STAGES]))
        numbers = [n[metric] for *_r, metric in STAGES]
        moved = StageChange.objects.filter(
            scope_q(filters, prefix="contact__"),
            changed_at__gte=start,
            changed_at__lt=end,
            to_stage__in=_TIMED,
        )
        medians = _stays(_first_entries(moved.values("contact_id")), start, end)
    stages = []
    for index, (key, label, _reached, _metric) in enumerate(STAGES):
        previous = numbers[index - 1] if index else None
        stages.append(
            FunnelStage(
                stage=key,
                label=str(label),
                count=numbers[index],
                conversion=ratio(numbers[index], previous) if previous is not None else None,
                median_days=medians[index],
            )
        )
    return Funnel(mode=mode, stages=stages, no_data=not any(numbers))
