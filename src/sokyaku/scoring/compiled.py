"""The active rule set in the shape the engine uses (its rules sorted and grouped by event type)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sokyaku.scoring.decay import DAY
from sokyaku.scoring.models import Rule, RuleKind, RuleSet


@dataclass(frozen=True)
class CompiledRule:
    id: int
    kind: str
    name: str
    event_type: str
    conditions: tuple[Mapping[str, Any], ...]
    points: int
    cap: int | None
    cap_period: str


@dataclass(frozen=True)
class Compiled:
    ruleset_id: int
    version: int
    half_life: float  # seconds
    warm_at: float
    hot_at: float
    score_machine_opens: bool
    behaviour: tuple[CompiledRule, ...]
    fit: tuple[CompiledRule, ...]
    by_type: dict[str, tuple[CompiledRule, ...]] = field(default_factory=dict)

    @property
    def fit_rules(self) -> list[tuple[int, tuple[Mapping[str, Any], ...]]]:
        return [(rule.points, rule.conditions) for rule in self.fit]


def _compile(ruleset: RuleSet, rules: list[Rule]) -> Compiled:
    compiled_rules = [
        CompiledRule(
            id=rule.pk,
            kind=rule.kind,
            name=rule.name,
            event_type=rule.event_type,
            conditions=tuple(rule.conditions or ()),
            points=rule.points,
            cap=rule.cap,
            cap_period=rule.cap_period,
        )
        for rule in sorted(rules, key=lambda r: (r.position, r.pk))
    ]
    behaviour = tuple(r for r in compiled_rules if r.kind == RuleKind.BEHAVIOUR)
    by_type: dict[str, list[CompiledRule]] = {}
    for rule in behaviour:
        by_type.setdefault(rule.event_type, []).append(rule)
    return Compiled(
        ruleset_id=ruleset.pk,
        version=ruleset.version,
        half_life=ruleset.half_life_days * DAY,
        warm_at=ruleset.warm_at,
        hot_at=ruleset.hot_at,
        score_machine_opens=ruleset.score_machine_opens,
        behaviour=behaviour,
        fit=tuple(r for r in compiled_rules if r.kind == RuleKind.FIT),
        by_type={key: tuple(value) for key, value in by_type.items()},
    )


def compiled_for(ruleset: RuleSet) -> Compiled:
    """The compiled form of ``ruleset`` (one query for its rules)."""
    return _compile(ruleset, list(ruleset.rules.all()))


_RULE_FIELDS = ("id", "position", "kind", "name", "event_type", "conditions", "points", "cap")


def compiled_active() -> Compiled | None:
    """The active rule set with its rules, in one query (a LEFT JOIN), or None.

    Not cached across calls: a rule set row never changes, but ids can come back after a
    rollback (tests), and one indexed query per batch is cheap.
    """
    rows = list(
        RuleSet.objects.filter(is_active=True).values(
            "id",
            "version",
            "half_life_days",
            "warm_at",
            "hot_at",
            "score_machine_opens",
            *(f"rules__{name}" for name in (*_RULE_FIELDS, "cap_period")),
        )
    )
    if not rows:
        return None
    first = rows[0]
    ruleset = RuleSet(
        id=first["id"],
        version=first["version"],
        half_life_days=first["half_life_days"],
        warm_at=first["warm_at"],
        hot_at=first["hot_at"],
        score_machine_opens=first["score_machine_opens"],
    )
    rules = [
        Rule(
            ruleset_id=first["id"],
            cap_period=row["rules__cap_period"] or "",
            **{name: row[f"rules__{name}"] for name in _RULE_FIELDS},
        )
        for row in rows
        if row["rules__id"] is not None
    ]
    return _compile(ruleset, rules)
