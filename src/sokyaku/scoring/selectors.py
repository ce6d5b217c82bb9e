"""Scoring reads: the active rule set, a contact's score now, SQL expressions for segments.

Scores are decayed on read: ``engagement · 2^(-(at - epoch)/h)`` with the active rule set's
half-life (every stored state was written under it: publishing recomputes everyone).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BooleanField, Case, Expression, F, FloatField, QuerySet, Value, When
from django.db.models.functions import Coalesce, Power

from sokyaku.core import clock
from sokyaku.scoring import decay
from sokyaku.scoring.models import (
    RecomputeRun,
    RuleSet,
    ScoreEntry,
    ScoreState,
    Temperature,
)

DEFAULT_HALF_LIFE_DAYS = 30.0


def ruleset_active() -> RuleSet | None:
    return RuleSet.objects.filter(is_active=True).first()


def ruleset_list() -> QuerySet[RuleSet]:
    """Every version, newest first, with its author and rule count."""
    from django.db.models import Count

    return RuleSet.objects.select_related("created_by").annotate(rule_count=Count("rules"))


def ruleset_get(*, version: int) -> RuleSet:
    from sokyaku.core.errors import NotFound

    found = RuleSet.objects.filter(version=version).first()
    if found is None:
        raise NotFound(f"No rule set version {version}")
    return found


def recompute_run_get(*, run_id: int) -> RecomputeRun:
    from sokyaku.core.errors import NotFound

    found = RecomputeRun.objects.select_related("ruleset").filter(pk=run_id).first()
    if found is None:
        raise NotFound(f"No recompute run {run_id}")
    return found


def recompute_run_latest() -> RecomputeRun | None:
    return RecomputeRun.objects.select_related("ruleset").first()


@dataclass(frozen=True)
class ScoreView:
    """A contact's score at a moment. ``points`` is the shown number (``decay.points_shown``)
    and ``temperature`` its band, so the two never contradict; ``total`` is the exact value."""

    engagement: float
    fit: int
    total: float
    temperature: str
    points: int


_EMPTY = ScoreView(engagement=0.0, fit=0, total=0.0, temperature=Temperature.COLD, points=0)


def score_view_build(*, engagement: float, fit: int, warm_at: float, hot_at: float) -> ScoreView:
    """The view of ``engagement`` (already decayed) + ``fit``: the band of the shown points."""
    total = engagement + fit
    points = decay.points_shown(total)
    return ScoreView(
        engagement=engagement,
        fit=fit,
        total=total,
        temperature=decay.band_for(points, warm_at=warm_at, hot_at=hot_at),
        points=points,
    )


def _edges(ruleset: RuleSet | None) -> tuple[float, float, float]:
    if ruleset is None:
        return DEFAULT_HALF_LIFE_DAYS * decay.DAY, 20.0, 50.0
    return ruleset.half_life_days * decay.DAY, ruleset.warm_at, ruleset.hot_at


def _view(state: ScoreState, *, at: datetime, ruleset: RuleSet | None) -> ScoreView:
    half_life, warm, hot = _edges(ruleset)
    engagement = decay.worth(state.engagement, state.engagement_epoch, at.timestamp(), half_life)
    return score_view_build(engagement=engagement, fit=state.fit, warm_at=warm, hot_at=hot)


def score_get(*, contact_id: int, at: datetime | None = None) -> ScoreView:
    """A contact's score at ``at`` (now by default); zeros and cold without a score yet."""
    state = ScoreState.objects.filter(contact_id=contact_id).first()
    if state is None:
        return _EMPTY
    return _view(state, at=at or clock.now(), ruleset=ruleset_active())


def scores_for(*, contact_ids: Iterable[int], at: datetime | None = None) -> dict[int, ScoreView]:
    """Scores of many contacts (one query for the states, one for the rule set)."""
    ids = list(contact_ids)
    at = at or clock.now()
    states = list(ScoreState.objects.filter(contact_id__in=ids)) if ids else []
    ruleset = ruleset_active() if states else None
    found = {state.contact_id: _view(state, at=at, ruleset=ruleset) for state in states}
    return {contact_id: found.get(contact_id, _EMPTY) for contact_id in ids}


def engagement_expression(*, at: datetime | None = None, prefix: str = "score__") -> Expression:
    """Decayed engagement at ``at`` for a Contact queryset (0 for contacts without a score)."""
    half_life, _warm, _hot = _edges(ruleset_active())
    at_ts = (at or clock.now()).timestamp()
    exponent = (F(f"{prefix}engagement_epoch") - Value(at_ts)) / Value(half_life)
    return Coalesce(
        F(f"{prefix}engagement") * Power(Value(2.0), exponent),
        Value(0.0),
        output_field=FloatField(),
    )


def total_expression(*, at: datetime | None = None, prefix: str = "score__") -> Expression:
    """Decayed engagement plus fit at ``at`` (0 for contacts without a score)."""
    return Coalesce(
        engagement_expression(at=at, prefix=prefix) + Coalesce(F(f"{prefix}fit"), Value(0)),
        Value(0.0),
        output_field=FloatField(),
    )


@dataclass(frozen=True)
class BreakdownEntry:
    rule: str
    points: int
    occurred_at: datetime
    worth_now: float
    event_type: str


@dataclass(frozen=True)
class FitLine:
    rule: str
    points: int


@dataclass(frozen=True)
class Breakdown:
    score: ScoreView
    entries: list[BreakdownEntry]
    entry_count: int
    fit: list[FitLine]
    band_drops_at: datetime | None
    has_rules: bool


def score_breakdown(*, contact_id: int, at: datetime | None = None, limit: int = 20) -> Breakdown:
    """Why a contact has its score: behaviour entries (newest first, worth now), fit rules.

    Three queries: the active rules, the contact's score row with which fit rules apply, the
    newest ``limit`` ledger entries (a fourth counts them when there are more).
    """
    from sokyaku.contacts.models import Contact
    from sokyaku.scoring.compiled import compiled_active
    from sokyaku.scoring.rules import fit_rule_q

    at = at or clock.now()
    compiled = compiled_active()
    flags = {
        f"r{rule.id}": Case(
            When(fit_rule_q(rule.conditions), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
        for rule in (compiled.fit if compiled else ())
    }
    row = (
        Contact.objects.filter(pk=contact_id)
        .annotate(**flags)
        .values(
            "score__engagement",
            "score__engagement_epoch",
            "score__fit",
            "score__band_drops_at",
            *flags,
        )
        .first()
    ) or {}
    half_life = compiled.half_life if compiled else DEFAULT_HALF_LIFE_DAYS * decay.DAY
    score = _EMPTY
    if row.get("score__engagement") is not None:
        engagement = decay.worth(
            row["score__engagement"], row["score__engagement_epoch"], at.timestamp(), half_life
        )
        score = score_view_build(
            engagement=engagement,
            fit=row["score__fit"],
            warm_at=compiled.warm_at if compiled else 20.0,
            hot_at=compiled.hot_at if compiled else 50.0,
        )
    query = ScoreEntry.objects.filter(contact_id=contact_id)
    rows = list(query.select_related("rule").order_by("-occurred_at", "-id")[:limit])
    entries = [
        BreakdownEntry(
            rule=entry.rule.name if entry.rule else "—",
            points=entry.points,
            occurred_at=entry.occurred_at,
            worth_now=decay.worth(
                entry.points, entry.occurred_at.timestamp(), at.timestamp(), half_life
            ),
            event_type=entry.rule.event_type if entry.rule else "",
        )
        for entry in rows
    ]
    fit = [
        FitLine(rule=rule.name, points=rule.points)
        for rule in (compiled.fit if compiled else ())
        if row.get(f"r{rule.id}")
    ]
    return Breakdown(
        score=score,
        entries=entries,
        entry_count=query.count() if len(rows) >= limit else len(rows),
        fit=fit,
        band_drops_at=row.get("score__band_drops_at"),
        has_rules=compiled is not None,
    )
