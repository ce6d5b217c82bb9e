"""The condition language of segments (and of lifecycle's MQL rules): validate, compile to SQL.

A definition is a tree of groups and conditions::

    {"op": "and" | "or", "conditions": [condition | group, ...]}        # groups nest
    {"field": "company.employees", "op": "gte", "value": 100}           # attribute condition
    {"event": "asset_downloaded", "where": [{"field": "asset", "op": "eq", "value": "wp-1"}],
     "min_count": 1, "within_days": 30, "negate": false}               # behaviour condition

``definition_validate`` returns a normalised copy or raises ``ValidationError`` whose
``field_errors`` key is the path of the bad part (``conditions.1.conditions.0.value``) and
whose message names the condition. ``definition_queryset`` compiles a definition to ONE query
over live contacts (joins, ``EXISTS`` subqueries, aliases; nothing is evaluated in Python), and
``definition_matches`` evaluates it for a few contacts. ``field_catalogue`` lists the fields,
operators and choices for UIs (the builder in ``templates/segments/_builder.html``).

Comparisons of text fields, custom fields and event properties are the one condition language's
(``core.conditions``, ``docs/conditions.md``): "5" equals 5, text ignores case and full/half
width. Semantics a user can rely on: a negative operator (``ne``,
``not_in``, ``not_contains``) also matches contacts that have no value; a contact without a
score counts as score 0 / cold, one without a lifecycle row as "lead"; ``company.employees``
compares the lower bound of the company's employee band; dates are Asia/Tokyo days.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext

from sokyaku.activity.models import Event
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core import conditions as language
from sokyaku.core.errors import ValidationError
from sokyaku.segments.fields import (  # noqa: F401  (re-exported: the language's public names)
    BOOLEAN,
    CHOICE,
    CONTAINS,
    DATE,
    EQ,
    GT,
    GTE,
    IN,
    IS_NOT_SET,
    IS_SET,
    LIST_OPS,
    LT,
    LTE,
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LIST,
    NE,
    NEGATIVE,
    NO_VALUE_OPS,
    NOT_CONTAINS,
    NOT_IN,
    NUMBER,
    OPERATORS,
    ORDER_OPS,
    PROPERTY_NAME,
    PROPERTY_OPS,
    STARTSWITH,
    TEXT,
    WITHIN,
    FieldSpec,
    consent_granted_q,
    event_type_choices,
    field_catalogue,
    spec_for,
    static_fields,
    tokyo_start,
)

# --- validation -----------------------------------------------------------------------------


class _Errors:
    """Collects the first error (path → message) with a message naming the condition."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.first: str = ""

    def add(self, path: str, where: str, message: str) -> None:
        if path not in self.errors:
            self.errors[path] = message
        if not self.first:
            self.first = f"{where}: {message}" if where else message


def _human(position: tuple[int, ...]) -> str:
    return gettext("Condition %(n)s") % {"n": ".".join(str(i + 1) for i in position)}


def definition_validate(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A normalised copy of ``definition``; ``ValidationError`` pointing at the bad part."""
    errors = _Errors()
    state = {"count": 0}
    if not isinstance(definition, Mapping):
        raise ValidationError(
            gettext("A definition must be a group of conditions."),
            field_errors={"conditions": gettext("A definition must be a group of conditions.")},
        )
    normalised = _group(definition, "", (), errors, 0, state)
    if errors.errors:
        raise ValidationError(errors.first, field_errors=errors.errors)
    return normalised


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _group(
    node: Mapping[str, Any],
    prefix: str,
    position: tuple[int, ...],
    errors: _Errors,
    depth: int,
    state: dict[str, int],
) -> dict[str, Any]:
    where = _human(position) if position else ""
    op = str(node.get("op") or "and").lower()
    if op not in ("and", "or"):
        errors.add(_join(prefix, "op"), where, gettext("A group joins with “and” or “or”."))
    items = node.get("conditions")
    if not isinstance(items, list) or not items:
        errors.add(
            _join(prefix, "conditions"), where, gettext("A group needs at least one condition.")
        )
        return {"op": op, "conditions": []}
    if depth >= MAX_DEPTH:
        errors.add(
            _join(prefix, "conditions"),
            where,
            gettext("Groups nest at most %(n)d deep.") % {"n": MAX_DEPTH},
        )
        return {"op": op, "conditions": []}
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        path = _join(prefix, f"conditions.{index}")
        here = (*position, index)
        state["count"] += 1
        if state["count"] > MAX_CONDITIONS:
            errors.add(
                path,
                _human(here),
                gettext("At most %(n)d conditions.") % {"n": MAX_CONDITIONS},
            )
            break
        if not isinstance(item, Mapping):
            errors.add(path, _human(here), gettext("Not a condition."))
        elif "conditions" in item:
            out.append(_group(item, path, here, errors, depth + 1, state))
        elif "event" in item:
            out.append(_behaviour(item, path, here, errors))
        elif "field" in item:
            out.append(_attribute(item, path, here, errors))
        else:
            errors.add(path, _human(here), gettext("Choose a field or an event."))
    return {"op": op, "conditions": out}


def _attribute(
    item: Mapping[str, Any], path: str, position: tuple[int, ...], errors: _Errors
) -> dict[str, Any]:
    name = str(item.get("field") or "")
    op = str(item.get("op") or "")
    spec = spec_for(name)
    where = f"{_human(position)} ({spec.label if spec else name or '?'})"
    if spec is None:
        errors.add(f"{path}.field", where, gettext("Unknown field “%(f)s”.") % {"f": name})
        return dict(item)
    if op not in spec.ops:
        errors.add(
            f"{path}.op",
            where,
            gettext("Operator “%(op)s” does not apply to this field.") % {"op": op},
        )
        return {"field": name, "op": op, "value": item.get("value")}
    try:
        value = _value(spec, op, item.get("value"))
    except ValueError as exc:
        errors.add(f"{path}.value", where, str(exc))
        return {"field": name, "op": op, "value": item.get("value")}
    return {"field": name, "op": op, "value": value}


def _one(spec: FieldSpec, raw: Any) -> Any:
    """One value of the field's type, or ``ValueError`` with a message for the user."""
    if spec.type == NUMBER:
        if isinstance(raw, bool) or raw is None or raw == "":
            raise ValueError(gettext("Enter a number."))
        try:
            number = float(raw)
        except (TypeError, ValueError):
            raise ValueError(gettext("Enter a number.")) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(gettext("Enter a number."))
        return int(number) if number.is_integer() else number
    if spec.type == BOOLEAN:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError(gettext("Choose yes or no."))
    if spec.type == DATE:
        try:
            return date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise ValueError(gettext("Enter a date (YYYY-MM-DD).")) from None
    if spec.type == CHOICE:
        return _choice(spec, raw)
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError(gettext("Enter some text."))
    text = str(raw).strip()
    if not text:
        raise ValueError(gettext("Enter a value."))
    return text


def _choice(spec: FieldSpec, raw: Any) -> Any:
    if spec.name == "segment":
        from sokyaku.segments.models import Segment

        try:
            pk = int(raw)
        except (TypeError, ValueError):
            raise ValueError(gettext("Choose a segment.")) from None
        if not Segment.objects.filter(pk=pk).exists():
            raise ValueError(gettext("No segment with id %(id)s.") % {"id": pk})
        return pk
    if spec.name == "owner":
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ValueError(gettext("Choose a user.")) from None
    if not spec.choices:  # open choices (tags, channel keys)
        text = str(raw if raw is not None else "").strip()
        if not text:
            raise ValueError(gettext("Enter a value."))
        return text
    for value, _label in spec.choices:
        if str(value) == str(raw).strip():
            return value
    raise ValueError(gettext("“%(v)s” is not one of the choices.") % {"v": raw})


def _value(spec: FieldSpec, op: str, raw: Any) -> Any:
    if op in NO_VALUE_OPS:
        return None
    if op == WITHIN:
        return _days(raw)
    if op in LIST_OPS:
        items = raw if isinstance(raw, list) else _split(raw)
        if not items:
            raise ValueError(gettext("Enter at least one value."))
        if len(items) > MAX_LIST:
            raise ValueError(gettext("At most %(n)d values.") % {"n": MAX_LIST})
        return list(dict.fromkeys(_one(spec, item) for item in items))
    return _one(spec, raw)


def _split(raw: Any) -> list[str]:
    if raw is None:
        return []
    return [part.strip() for part in re.split(r"[,\n、，]", str(raw)) if part.strip()]


def _days(raw: Any) -> int:
    try:
        days = int(str(raw).strip()) if not isinstance(raw, bool) else 0
    except ValueError:
        days = 0
    if days < 1 or days > 36500:
        raise ValueError(gettext("Enter a whole number of days (1 or more)."))
    return days


def _behaviour(
    item: Mapping[str, Any], path: str, position: tuple[int, ...], errors: _Errors
) -> dict[str, Any]:
    event = str(item.get("event") or "")
    label = dict(event_type_choices()).get(event)
    where = f"{_human(position)} ({label or event or '?'})"
    if label is None:
        errors.add(f"{path}.event", where, gettext("Unknown event type “%(e)s”.") % {"e": event})
    where_out: list[dict[str, Any]] = []
    filters = item.get("where") or []
    if not isinstance(filters, list):
        errors.add(f"{path}.where", where, gettext("Property filters must be a list."))
        filters = []
    prop = FieldSpec(name="property", label="", type=TEXT, ops=PROPERTY_OPS)
    for index, condition in enumerate(filters):
        here = f"{path}.where.{index}"
        if not isinstance(condition, Mapping):
            errors.add(here, where, gettext("Not a property filter."))
            continue
        name = str(condition.get("field") or "").strip()
        op = str(condition.get("op") or "eq")
        if not PROPERTY_NAME.match(name):
            errors.add(f"{here}.field", where, gettext("Enter a property name."))
            continue
        if op not in PROPERTY_OPS:
            errors.add(f"{here}.op", where, gettext("Unknown operator “%(op)s”.") % {"op": op})
            continue
        try:
            value = _property_value(prop, op, condition.get("value"))
        except ValueError as exc:
            errors.add(f"{here}.value", where, str(exc))
            continue
        where_out.append({"field": name, "op": op, "value": value})
    min_count = item.get("min_count", 1)
    try:
        min_count = int(min_count if min_count not in (None, "") else 1)
        if isinstance(item.get("min_count"), bool) or min_count < 1:
            raise ValueError
    except (TypeError, ValueError):
        errors.add(f"{path}.min_count", where, gettext("Enter a count of 1 or more."))
        min_count = 1
    within: Any = item.get("within_days")
    if within in (None, "", 0, "0"):
        within = None
    else:
        try:
            within = _days(within)
        except ValueError as exc:
            errors.add(f"{path}.within_days", where, str(exc))
            within = None
    negate = item.get("negate", False)
    negate = negate if isinstance(negate, bool) else str(negate).lower() in ("true", "1", "on")
    return {
        "event": event,
        "where": where_out,
        "min_count": min_count,
        "within_days": within,
        "negate": negate,
    }


def _property_value(prop: FieldSpec, op: str, raw: Any) -> Any:
    """Event properties are free-form: keep numbers and booleans as given, text stripped."""
    if op in NO_VALUE_OPS:
        return None
    if op in LIST_OPS:
        items = raw if isinstance(raw, list) else _split(raw)
        if not items:
            raise ValueError(gettext("Enter at least one value."))
        return [_property_scalar(i) for i in items]
    if op in ORDER_OPS:
        number = FieldSpec(name="n", label="", type=NUMBER, ops=())
        return _one(number, raw)
    return _property_scalar(raw)


def _property_scalar(raw: Any) -> Any:
    if isinstance(raw, bool | int | float):
        return raw
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise ValueError(gettext("Enter a value."))
    return text


# --- compiling ------------------------------------------------------------------------------


class _Compiler:
    """Builds one ``Q`` over Contact plus the aliases (expressions) it refers to."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.aliases: dict[str, Any] = {}
        self.specs: dict[str, FieldSpec | None] = {}

    def alias(self, expression: Any) -> str:
        name = f"_seg{len(self.aliases)}"
        self.aliases[name] = expression
        return name

    def group(self, node: Mapping[str, Any]) -> Q:
        parts = [self.node(item) for item in node["conditions"]]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined | part if node["op"] == "or" else combined & part
        return combined

    def node(self, item: Mapping[str, Any]) -> Q:
        if "conditions" in item:
            return self.group(item)
        if "event" in item:
            return self.behaviour(item)
        return self.attribute(item)

    def spec(self, name: str) -> FieldSpec:
        if name not in self.specs:
            self.specs[name] = spec_for(name)
        found = self.specs[name]
        assert found is not None  # validated before compiling
        return found

    def attribute(self, item: Mapping[str, Any]) -> Q:
        spec = self.spec(item["field"])
        op, value = item["op"], item["value"]
        positive = NEGATIVE.get(op)
        if positive is not None:
            matched = self.positive(spec, positive, value)
            if spec.default is not None or spec.compile is not None:
                return ~matched  # the positive form already decides for contacts without rows
            # "is not X" also holds for contacts without any value.
            return ~matched | self.missing(spec)
        if op == IS_NOT_SET:
            if spec.compile is not None:
                return ~spec.compile(IS_SET, None, self.at)
            return self.missing(spec)
        if op == IS_SET and spec.compile is None:
            return ~self.missing(spec)
        return self.positive(spec, op, value)

    def path(self, spec: FieldSpec) -> str:
        if spec.expression is not None:
            return self.alias(spec.expression(self.at))
        return spec.path

    def missing(self, spec: FieldSpec) -> Q:
        path = self.path(spec)
        q = Q(**{f"{path}__isnull": True})
        if spec.json:
            q |= Q(**{path: None})
        if spec.type == TEXT:
            q |= Q(**{path: ""})
        if spec.type == CHOICE and spec.choices and isinstance(spec.choices[0][0], str):
            q |= Q(**{path: ""})  # blank choice columns
        return q

    def positive(self, spec: FieldSpec, op: str, value: Any) -> Q:
        if spec.compile is not None:
            return spec.compile(op, value, self.at)
        if spec.ordered and op in ORDER_OPS:
            order = [v for v, _label in spec.choices]
            index = order.index(value)
            picked = {
                GTE: order[index:],
                GT: order[index + 1 :],
                LTE: order[: index + 1],
                LT: order[:index],
            }[op]
            return self._with_default(spec, IN, picked)
        if spec.type == DATE:
            return self.date(spec, op, value)
        return self._with_default(spec, op, value)

    def _with_default(self, spec: FieldSpec, op: str, value: Any) -> Q:
        target = _language_target(spec)
        if target is not None and op in language.OPERATORS:
            # Text columns and custom fields: the one condition language decides.
            return language.to_q(
                language.Condition(spec.name, op, _listed(value)), columns={spec.name: target}
            )
        path = self.path(spec)
        if spec.type == TEXT and op == EQ:
            q = Q(**{f"{path}__iexact": value})
        elif spec.type == TEXT and op == IN:
            q = Q(pk__in=[])
            for item in value:
                q |= Q(**{f"{path}__iexact": item})
        elif op == CONTAINS:
            q = Q(**{f"{path}__icontains": value})
        elif op == STARTSWITH:
            q = Q(**{f"{path}__istartswith": value})
        elif op == EQ:
            q = Q(**{path: value})
        else:
            q = Q(**{f"{path}__{op}": value})
        if spec.default is not None and _default_holds(spec.default, op, value):
            relation = spec.path.split("__")[0]
            q |= Q(**{f"{relation}__isnull": True})
        return q

    def date(self, spec: FieldSpec, op: str, value: Any) -> Q:
        path = self.path(spec)
        if op == WITHIN:
            since = self.at - timedelta(days=value)
            if spec.json:  # custom date fields hold ISO dates
                first = since.astimezone(clock.TOKYO).date().isoformat()
                today = self.at.astimezone(clock.TOKYO).date().isoformat()
                return Q(**{f"{path}__gte": first, f"{path}__lte": today})
            return Q(**{f"{path}__gte": since, f"{path}__lte": self.at})
        if spec.json:
            return Q(**{path if op == EQ else f"{path}__{op}": value})
        day = date.fromisoformat(str(value))
        start, end = tokyo_start(day), tokyo_start(day + timedelta(days=1))
        return {
            EQ: Q(**{f"{path}__gte": start, f"{path}__lt": end}),
            GTE: Q(**{f"{path}__gte": start}),
            GT: Q(**{f"{path}__gte": end}),
            LTE: Q(**{f"{path}__lt": end}),
            LT: Q(**{f"{path}__lt": start}),
        }[op]

    def behaviour(self, item: Mapping[str, Any]) -> Q:
        events: Any = Event.objects.filter(contact_id=OuterRef("pk"), type=item["event"])
        if item.get("within_days"):
            events = events.filter(
                occurred_at__gte=self.at - timedelta(days=item["within_days"]),
                occurred_at__lte=self.at,
            )
        else:
            events = events.filter(occurred_at__lte=self.at)
        for index, condition in enumerate(item.get("where") or []):
            events = _property_filter(events, index, condition)
        if item.get("min_count", 1) > 1:
            events = (
                events.order_by()
                .values("contact_id")
                .annotate(_n=Count("id"))
                .filter(_n__gte=item["min_count"])
            )
        found = Q(Exists(events))
        return ~found if item.get("negate") else found


def _default_holds(default: Any, op: str, value: Any) -> bool:
    if op == EQ:
        return bool(default == value)
    if op == IN:
        return default in value
    return False


def _language_target(spec: FieldSpec) -> language.Target | None:
    """Where the condition language reads a field, for the fields it compares as they are."""
    if spec.json and spec.type in (TEXT, NUMBER, BOOLEAN, CHOICE):
        return language.JsonKey("custom_fields", spec.name.removeprefix("custom."))
    if spec.type == TEXT and spec.path and spec.default is None and spec.expression is None:
        return language.Column(spec.path, language.TEXT)
    return None


def _listed(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _property_filter(events: Any, index: int, condition: Mapping[str, Any]) -> Any:
    """One event property filter, in the one condition language (``core.conditions``)."""
    leaf = language.Condition(condition["field"], condition["op"], _listed(condition["value"]))
    return events.filter(language.to_q(leaf, json_column="properties"))


def definition_q(
    definition: Mapping[str, Any], *, at: datetime | None = None
) -> tuple[Q, dict[str, Any]]:
    """The ``Q`` (over Contact) and the aliases it needs, for a VALIDATED definition."""
    compiler = _Compiler(at or clock.now())
    return compiler.group(definition), compiler.aliases


# Contacts a definition can match: not merged into another one, not erased.
_LIVE = {"merged_into__isnull": True, "erased_at__isnull": True}


def definition_queryset(
    definition: Mapping[str, Any], *, at: datetime | None = None
) -> QuerySet[Contact]:
    """Live contacts matching ``definition`` at ``at`` (now by default), as one query. A contact
    merged away or erased is not live.

    Raises ``ValidationError`` for a definition ``definition_validate`` would refuse.
    """
    clean = definition_validate(definition)
    q, aliases = definition_q(clean, at=at)
    return Contact.objects.filter(**_LIVE).alias(**aliases).filter(q)


def definition_matches(
    definition: Mapping[str, Any], *, contact_ids: Iterable[int], at: datetime | None = None
) -> set[int]:
    """Which of ``contact_ids`` match ``definition`` now (or at ``at``): one query per 5,000."""
    ids = sorted(set(contact_ids))
    if not ids:
        return set()
    clean = definition_validate(definition)
    q, aliases = definition_q(clean, at=at)
    found: set[int] = set()
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        found.update(
            Contact.objects.filter(**_LIVE, pk__in=part)
            .alias(**aliases)
            .filter(q)
            .values_list("pk", flat=True)
        )
    return found


# --- facts about a definition ---------------------------------------------------------------


def _walk(node: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for item in node.get("conditions") or []:
        if isinstance(item, Mapping) and "conditions" in item:
            yield from _walk(item)
        elif isinstance(item, Mapping):
            yield item


def definition_is_time_relative(definition: Mapping[str, Any]) -> bool:
    """Whether matches can change with time alone (windows, "within the last N days", decay)."""
    for item in _walk(definition):
        if "event" in item and item.get("within_days"):
            return True
        if item.get("op") == WITHIN:
            return True
        if str(item.get("field", "")) in ("score.total", "score.engagement"):
            return True
    return False


def definition_segment_refs(definition: Mapping[str, Any]) -> set[int]:
    """Ids of the segments a definition tests membership of."""
    refs: set[int] = set()
    for item in _walk(definition):
        if item.get("field") == "segment":
            value = item.get("value")
            for ref in value if isinstance(value, list) else [value]:
                try:
                    refs.add(int(str(ref)))
                except (TypeError, ValueError):
                    continue
    return refs
