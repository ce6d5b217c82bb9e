"""Scoring rules: their conditions, validation, and the two ways a condition is evaluated.

A rule set definition is plain JSON (``definition_clean`` checks it whole and names the rule and
condition that is wrong, e.g. ``rules.3.conditions.0.field``):

- **behaviour** rules: ``event_type`` (a behaviour type, never a system type) + conditions on the
  event's ``properties`` (or its ``source``) → points, at most ``cap`` per ``cap_period``;
- **fit** rules: conditions on the contact's and its company's attributes → points.

A behaviour condition is evaluated in Python on one stored event (``event_matches``, the
incremental path) and compiled to a Django ``Q`` over ``activity_event`` (``behaviour_q``, the
recompute); both come from the one condition language (``core.conditions``, reference in
``docs/conditions.md``), so they agree: numeric text compares as a number ("45" ≥ 30), text is
compared NFKC-normalised and case-insensitively, ``ne`` and ``not_in`` hold when the property is
missing, and a property is *set* when it is present and not null, "", [] or {}. Fit conditions
only run in SQL (``fit_points_expression``), with the same semantics over the columns.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    Expression,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from sokyaku.activity.events import SYSTEM_TYPES
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts.models import (
    PREFECTURE_CHOICES,
    EmployeeBand,
    FieldDefinition,
    Industry,
    RevenueBand,
    TitleLevel,
)
from sokyaku.core import conditions as language
from sokyaku.core.conditions import NUMBER, TEXT, Column
from sokyaku.core.errors import ValidationError
from sokyaku.scoring.models import CapPeriod, RuleKind

OPS = ("eq", "ne", "in", "not_in", "contains", "startswith", "gte", "lte", "is_set")
OP_LABELS: dict[str, Any] = {
    "eq": _("is"),
    "ne": _("is not"),
    "in": _("is any of"),
    "not_in": _("is none of"),
    "contains": _("contains"),
    "startswith": _("starts with"),
    "gte": _("is at least"),
    "lte": _("is at most"),
    "is_set": _("is set"),
}
BEHAVIOUR_TYPES = tuple(t for t in EventType.values if t not in SYSTEM_TYPES)
MACHINE_OPEN_TYPE = str(EventType.EMAIL_OPENED)
_PROPERTY_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,49}$")
MAX_RULES = 200
MAX_CONDITIONS = 20

Scalar = str | int | float | bool


# --- JSON helpers that give a definite true/false on every database ----------------------------


class JsonKeyIs(Func):
    """``properties[key]`` is of ``kind`` (string, number, true, set), never NULL."""

    output_field = BooleanField()

    def __init__(self, column: str, key: str, kind: str) -> None:
        if not _PROPERTY_KEY.match(key):
            raise ValueError(key)
        super().__init__(F(column))
        self.key = key
        self.kind = kind

    def as_sqlite(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        path = f"'$.{self.key}'"
        jtype = f"json_type({column}, {path})"
        condition = {
            "string": f"{jtype} = 'text'",
            "number": f"{jtype} IN ('integer', 'real')",
            "true": f"{jtype} = 'true'",
            "false": f"{jtype} = 'false'",
            "set": f"({jtype} <> 'null' AND NOT ({jtype} = 'text'"
            f" AND json_extract({column}, {path}) = ''))",
        }[self.kind]
        return f"COALESCE({condition}, 0)", list(params) * (4 if self.kind == "set" else 1)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        value = f"({column} -> '{self.key}')"
        condition = {
            "string": f"jsonb_typeof({value}) = 'string'",
            "number": f"jsonb_typeof({value}) = 'number'",
            "true": f"{value} = 'true'::jsonb",
            "false": f"{value} = 'false'::jsonb",
            "set": f"(jsonb_typeof({value}) <> 'null' AND {value} <> '\"\"'::jsonb)",
        }[self.kind]
        return f"COALESCE({condition}, false)", list(params) * (2 if self.kind == "set" else 1)

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        raise NotImplementedError(
            f"scoring supports SQLite and PostgreSQL, not {connection.vendor}"
        )


def machine_open_q() -> Q:
    """Events that are opens by a machine (Apple MPP, prefetchers)."""
    return Q(type=MACHINE_OPEN_TYPE) & Q(JsonKeyIs("properties", "machine", "true"))


def is_machine_open(event_type: str, properties: Mapping[str, Any]) -> bool:
    return event_type == MACHINE_OPEN_TYPE and properties.get("machine") is True


# --- the definition ------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleDef:
    kind: str
    name: str
    event_type: str
    conditions: tuple[dict[str, Any], ...]
    points: int
    cap: int | None
    cap_period: str

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "event_type": self.event_type,
            "conditions": [dict(c) for c in self.conditions],
            "points": self.points,
            "cap": self.cap,
            "cap_period": self.cap_period,
        }


@dataclass(frozen=True)
class Definition:
    half_life_days: float
    warm_at: float
    hot_at: float
    score_machine_opens: bool
    rules: tuple[RuleDef, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "half_life_days": self.half_life_days,
            "warm_at": self.warm_at,
            "hot_at": self.hot_at,
            "score_machine_opens": self.score_machine_opens,
            "rules": [rule.to_json() for rule in self.rules],
        }


# --- fit fields ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FitField:
    key: str
    label: Any
    type: str  # text | choice | int | tags | employees | custom
    lookup: str = ""
    choices: tuple[tuple[Any, Any], ...] = ()


_TEXT_OPS = ("eq", "ne", "in", "not_in", "contains", "startswith", "is_set")
_CHOICE_OPS = ("eq", "ne", "in", "not_in", "is_set")
_INT_OPS = ("eq", "ne", "in", "not_in", "gte", "lte", "is_set")
FIT_FIELDS: dict[str, FitField] = {
    f.key: f
    for f in (
        FitField(
            "title_level",
            _("Title level"),
            "int",
            "title_level",
            tuple(TitleLevel.choices),
        ),
        FitField("title", _("Title"), "text", "title"),
        FitField("department", _("Department"), "text", "department"),
        FitField("industry", _("Industry"), "choice", "company__industry", tuple(Industry.choices)),
        FitField(
            "employee_band",
            _("Employee band"),
            "choice",
            "company__employee_band",
            tuple(EmployeeBand.choices),
        ),
        FitField("employees_min", _("Employees (band minimum)"), "employees"),
        FitField(
            "revenue_band",
            _("Revenue band"),
            "choice",
            "company__revenue_band",
            tuple(RevenueBand.choices),
        ),
        FitField(
            "prefecture", _("Prefecture (contact)"), "int", "prefecture", tuple(PREFECTURE_CHOICES)
        ),
        FitField(
            "company_prefecture",
            _("Prefecture (company)"),
            "int",
            "company__prefecture",
            tuple(PREFECTURE_CHOICES),
        ),
        FitField("tags", _("Tags"), "tags"),
    )
}
_FIT_OPS = {
    "text": _TEXT_OPS,
    "choice": _CHOICE_OPS,
    "int": _INT_OPS,
    "employees": ("gte", "lte"),
    "tags": ("eq", "ne", "in", "not_in", "is_set"),
    "custom": OPS,
}
CUSTOM_PREFIX = "custom."
BEHAVIOUR_OPS = OPS
_SOURCE_OPS = ("eq", "ne", "in", "not_in")


# --- validation ----------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, message)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool) or _number(value)


def _check_value(op: str, value: Any, *, kind: str, choices: Sequence[Any] = ()) -> str | None:
    """Why ``value`` cannot go with ``op`` on a field of ``kind``, or None."""
    if op == "is_set":
        return None if isinstance(value, bool) else "is_set needs true or false"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > 100:
            return f"{op} needs a list of 1–100 values"
        for item in value:
            reason = _check_value("eq", item, kind=kind, choices=choices)
            if reason:
                return reason
        return None
    if op in ("gte", "lte"):
        return None if _number(value) else f"{op} needs a number"
    if op in ("contains", "startswith"):
        return None if isinstance(value, str) and value else f"{op} needs some text"
    # eq / ne
    if kind in ("text", "tags"):
        return None if isinstance(value, str) and value else "needs some text"
    if kind in ("choice", "int"):
        if choices and value not in choices:
            return f"{value!r} is not one of the allowed values"
        return None
    return None if _scalar(value) else "needs a text, number or true/false value"


def _conditions(
    raw: Any, *, where: str, rule_kind: str, errors: _Errors, custom_keys: frozenset[str]
) -> tuple[dict[str, Any], ...]:
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_CONDITIONS:
        errors.add(where, f"conditions must be a list of at most {MAX_CONDITIONS}")
        return ()
    out: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        at = f"{where}.{index}"
        if not isinstance(item, Mapping):
            errors.add(at, "a condition is {field, op, value}")
            continue
        field, op, value = item.get("field"), item.get("op"), item.get("value")
        allowed: tuple[str, ...]
        choices: tuple[Any, ...]
        if not isinstance(field, str) or not field:
            errors.add(f"{at}.field", "required")
            continue
        if op not in OPS:
            errors.add(f"{at}.op", f"unknown operator {op!r}")
            continue
        if rule_kind == RuleKind.BEHAVIOUR:
            if field == "source":
                allowed, kind, choices = _SOURCE_OPS, "choice", tuple(EventSource.values)
            elif _PROPERTY_KEY.match(field):
                allowed, kind, choices = BEHAVIOUR_OPS, "property", ()
            else:
                errors.add(f"{at}.field", f"{field!r} is not an event property name")
                continue
        elif field.startswith(CUSTOM_PREFIX):
            if field[len(CUSTOM_PREFIX) :] not in custom_keys:
                errors.add(f"{at}.field", f"no custom field {field[len(CUSTOM_PREFIX) :]!r}")
                continue
            allowed, kind, choices = OPS, "property", ()
        elif field in FIT_FIELDS:
            spec = FIT_FIELDS[field]
            allowed, kind = _FIT_OPS[spec.type], spec.type
            choices = tuple(code for code, _label in spec.choices)
        else:
            errors.add(f"{at}.field", f"unknown field {field!r}")
            continue
        if op not in allowed:
            errors.add(f"{at}.op", f"{op} does not apply to {field}")
            continue
        reason = _check_value(op, value, kind=kind, choices=choices)
        if reason:
            errors.add(f"{at}.value", reason)
            continue
        out.append({"field": field, "op": op, "value": value})
    return tuple(out)


def _float(raw: Mapping[str, Any], key: str, default: float, errors: _Errors) -> float:
    value = raw.get(key, default)
    if not _number(value) or value < 0:
        errors.add(key, "must be a number ≥ 0")
        return default
    return float(value)


def definition_clean(raw: Mapping[str, Any]) -> Definition:
    """Check a rule set definition whole; raise ``ValidationError`` naming every bad field."""
    errors = _Errors()
    if not isinstance(raw, Mapping):
        raise ValidationError("A rule set definition is a JSON object", field_errors={"": "object"})
    half_life = _float(raw, "half_life_days", 30.0, errors)
    if "half_life_days" not in errors.fields and not 0.01 <= half_life <= 3650:
        errors.add("half_life_days", "must be between 0.01 and 3650 days")
    warm_at = _float(raw, "warm_at", 20.0, errors)
    hot_at = _float(raw, "hot_at", 50.0, errors)
    if warm_at <= 0:
        errors.add("warm_at", "must be more than 0")
    if hot_at <= warm_at:
        errors.add("hot_at", "must be more than the warm edge")
    machine = raw.get("score_machine_opens", False)
    if not isinstance(machine, bool):
        errors.add("score_machine_opens", "must be true or false")
    custom_keys = frozenset(FieldDefinition.objects.values_list("key", flat=True))
    rules_raw = raw.get("rules", [])
    rules: list[RuleDef] = []
    if not isinstance(rules_raw, list) or len(rules_raw) > MAX_RULES:
        errors.add("rules", f"must be a list of at most {MAX_RULES} rules")
        rules_raw = []
    for index, item in enumerate(rules_raw):
        at = f"rules.{index}"
        if not isinstance(item, Mapping):
            errors.add(at, "a rule is an object")
            continue
        kind = item.get("kind")
        if kind not in RuleKind.values:
            errors.add(f"{at}.kind", "must be behaviour or fit")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            errors.add(f"{at}.name", "required (at most 100 characters)")
        points = item.get("points")
        if not isinstance(points, int) or isinstance(points, bool) or not -1000 <= points <= 1000:
            errors.add(f"{at}.points", "must be a whole number between -1000 and 1000")
        event_type = item.get("event_type") or ""
        cap = item.get("cap")
        cap_period = item.get("cap_period") or ""
        if kind == RuleKind.BEHAVIOUR:
            if event_type not in BEHAVIOUR_TYPES:
                errors.add(f"{at}.event_type", f"{event_type!r} is not a behaviour event type")
            if cap_period not in CapPeriod.values:
                errors.add(f"{at}.cap_period", "must be day, week or empty")
            elif cap_period and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
                errors.add(f"{at}.cap", "a cap is a whole number of at least 1")
            elif not cap_period and cap not in (None, ""):
                errors.add(f"{at}.cap_period", "a cap needs a period (day or week)")
        else:
            if event_type:
                errors.add(f"{at}.event_type", "fit rules have no event type")
            if cap not in (None, "") or cap_period:
                errors.add(f"{at}.cap", "fit rules have no cap")
        conditions = _conditions(
            item.get("conditions"),
            where=f"{at}.conditions",
            rule_kind=str(kind),
            errors=errors,
            custom_keys=custom_keys,
        )
        if (
            kind == RuleKind.FIT
            and not conditions
            and not any(key.startswith(f"{at}.conditions") for key in errors.fields)
        ):
            errors.add(f"{at}.conditions", "a fit rule needs at least one condition")
        if any(key.startswith(at + ".") or key == at for key in errors.fields):
            continue
        rules.append(
            RuleDef(
                kind=str(kind),
                name=str(name).strip(),
                event_type=str(event_type) if kind == RuleKind.BEHAVIOUR else "",
                conditions=conditions,
                points=int(points),  # type: ignore[arg-type]
                cap=int(cap) if cap_period and cap is not None else None,
                cap_period=str(cap_period) if kind == RuleKind.BEHAVIOUR else "",
            )
        )
    if errors.fields:
        first, message = next(iter(errors.fields.items()))
        raise ValidationError(f"{first}: {message}", field_errors=errors.fields)
    return Definition(
        half_life_days=half_life,
        warm_at=warm_at,
        hot_at=hot_at,
        score_machine_opens=bool(machine),
        rules=tuple(rules),
    )


# --- behaviour conditions: in Python and in SQL (both from ``core.conditions``) -----------------

_SOURCE = {"source": Column("source", TEXT)}


def condition_holds(condition: Mapping[str, Any], actual: Any, present: bool) -> bool:
    """One condition on one value (``present``: the key exists)."""
    return language.holds(_leaf(condition), actual if present else None)


def _leaf(condition: Mapping[str, Any]) -> language.Condition:
    node = language.parse(condition)
    assert isinstance(node, language.Condition)
    return node


def event_matches(
    conditions: Sequence[Mapping[str, Any]], *, source: str, properties: Mapping[str, Any]
) -> bool:
    """Whether one event satisfies every behaviour condition (the incremental path)."""
    record = {**properties, "source": source}
    return all(
        language.holds(leaf, record.get(leaf.field))
        for leaf in (_leaf(condition) for condition in conditions)
    )


def json_condition_q(column: str, condition: Mapping[str, Any]) -> Q:
    """One condition on ``column[key]`` (a JSON object) as a Q that is never NULL."""
    key = condition["field"]
    if column == "custom_fields":
        key = key[len(CUSTOM_PREFIX) :]
    leaf = _leaf(condition)
    return language.to_q(
        language.Condition(field=key, op=leaf.op, value=leaf.value), json_column=column
    )


def behaviour_q(*, event_type: str, conditions: Sequence[Mapping[str, Any]]) -> Q:
    """The events a behaviour rule matches, as a Q over ``activity.Event`` (the recompute)."""
    return Q(type=event_type) & _conditions_q(list(conditions))


def _conditions_q(items: list[Mapping[str, Any]]) -> Q:
    return language.to_q(items, json_column="properties", columns=_SOURCE)


def _tag_exists(names: Sequence[str]) -> Exists:
    from sokyaku.contacts.models import Contact

    through = Contact.tags.through
    return Exists(through.objects.filter(contact_id=OuterRef("pk"), tag__name__in=list(names)))


def fit_condition_q(condition: Mapping[str, Any]) -> Q:
    """One fit condition as a Q over ``contacts.Contact``."""
    field, op, value = condition["field"], condition["op"], condition["value"]
    if field.startswith(CUSTOM_PREFIX):
        return json_condition_q("custom_fields", condition)
    spec = FIT_FIELDS[field]
    if spec.type == "tags":
        if op == "is_set":
            from sokyaku.contacts.models import Contact

            through = Contact.tags.through
            q = Q(Exists(through.objects.filter(contact_id=OuterRef("pk"))))
            return q if value else ~q
        names = value if isinstance(value, list) else [value]
        q = Q(_tag_exists(names))
        return q if op in ("eq", "in") else ~q
    if spec.type == "employees":
        bands = [
            band.value
            for band in EmployeeBand
            if (band.minimum >= value if op == "gte" else band.minimum <= value)
        ]
        return Q(company__employee_band__in=bands)
    kind = NUMBER if spec.type == "int" else TEXT
    column = {field: Column(spec.lookup, kind)}
    return language.to_q(_leaf(condition), columns=column)


def fit_rule_q(conditions: Sequence[Mapping[str, Any]]) -> Q:
    q = Q()
    for condition in conditions:
        q &= fit_condition_q(condition)
    return q


def fit_points_expression(rules: Sequence[tuple[int, Sequence[Mapping[str, Any]]]]) -> Expression:
    """SUM over the fit rules of CASE WHEN <conditions> THEN points ELSE 0 (never NULL)."""
    total: Any = Value(0, output_field=IntegerField())
    for points, conditions in rules:
        total = total + Case(
            When(fit_rule_q(conditions), then=Value(points)),
            default=Value(0),
            output_field=IntegerField(),
        )
    return Coalesce(total, Value(0), output_field=IntegerField())


# --- periods of a cap -------------------------------------------------------------------------

_TOKYO_OFFSET = 9 * 3600


def cap_bucket(period: str, epoch_seconds: float) -> int:
    """The Asia/Tokyo day (or Monday-based week) an instant falls in, as an integer."""
    day = (math.floor(epoch_seconds) + _TOKYO_OFFSET) // 86400
    if period == CapPeriod.WEEK:
        return (day + 3) // 7  # 1970-01-01 was a Thursday
    return day


def cap_bounds(period: str, epoch_seconds: float) -> tuple[float, float]:
    """[start, end) epoch seconds of the cap period an instant falls in."""
    bucket = cap_bucket(period, epoch_seconds)
    if period == CapPeriod.WEEK:
        start_day, days = bucket * 7 - 3, 7
    else:
        start_day, days = bucket, 1
    start = start_day * 86400 - _TOKYO_OFFSET
    return float(start), float(start + days * 86400)
