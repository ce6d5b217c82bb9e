"""The one condition language: conditions on event properties and contact attributes.

Scoring rules, handoff triggers, sequence triggers and branches, MQL rules and segments all
decide "does this hold?" here, so one condition means the same thing everywhere — in Python
(``evaluate``, on one record) and in SQL (``to_q``, over many rows); the two give the same
answers (``tests/core/test_conditions.py`` checks it on generated data). The full reference
for users is ``docs/conditions.md``.

Shape (``parse`` reads the stored JSON of every caller):

- a condition ``{"field": "amount", "op": "gte", "value": 5000}`` (``"property"`` is accepted
  for ``"field"``); a field may be dotted (``fields.plan``) to reach into a nested object;
- a group ``{"all": [...]}`` / ``{"any": [...]}`` (also ``{"op": "and"|"or", "conditions":
  [...]}``, and a bare list meaning all); groups nest.

Semantics (one for every caller):

- **Numbers given as text count as numbers.** When either side of ``eq``/``ne``/``in``/
  ``not_in`` is a number, the other side is read as a number: ``"5"``, ``"５"`` and ``" 5 "``
  equal ``5`` and ``5.0``. ``gt``/``gte``/``lt``/``lte`` always compare numbers, so a value
  that is not a number (or numeric text) never satisfies them. Numeric text is an optional sign,
  ASCII digits and an optional decimal fraction after Unicode NFKC (no exponents, no commas).
- **Text compares folded**: NFKC-normalised (full-width ``ＰＲＯ`` is ``PRO``, half-width
  kana become full-width) and ASCII case-insensitive (Japanese has no case; other scripts
  compare as written). Two texts are compared as text even when both look numeric
  (``"05"`` ≠ ``"5"``). ``contains``/``not_contains``/``startswith`` apply to text only.
- **Booleans equal booleans only** (``true`` ≠ ``1`` ≠ ``"true"``).
- **Missing**: a missing field, ``null``, ``""``, ``[]`` and ``{}`` are *not set*. Every
  positive operator fails on them; the negatives (``ne``, ``not_in``, ``not_contains``) are
  exactly ``not`` their positive form, so they hold when the field is missing.
- **Lists**: a positive operator holds when any item of a list value does (``categories =
  オプション``); the negatives then hold when no item does.

``to_q`` compiles for SQLite and PostgreSQL: over a JSON column (event ``properties``,
``custom_fields``) or over typed model columns (``Column``), every condition a boolean that is
never NULL, so ``~`` negates exactly. SQLite gets two deterministic functions
(``sokyaku_fold``, ``sokyaku_number``) registered on each connection when first needed.

This module belongs to ``core``: it imports no other sokyaku app.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Expression, F, Q

from sokyaku.core.errors import ValidationError

# --- the operators ----------------------------------------------------------------------------

EQ, NE, IN, NOT_IN = "eq", "ne", "in", "not_in"
CONTAINS, NOT_CONTAINS, STARTSWITH = "contains", "not_contains", "startswith"
GT, GTE, LT, LTE = "gt", "gte", "lt", "lte"
IS_SET, IS_NOT_SET = "is_set", "is_not_set"

OPERATORS: tuple[str, ...] = (
    EQ,
    NE,
    IN,
    NOT_IN,
    CONTAINS,
    NOT_CONTAINS,
    STARTSWITH,
    GT,
    GTE,
    LT,
    LTE,
    IS_SET,
    IS_NOT_SET,
)
NEGATIVE: dict[str, str] = {NE: EQ, NOT_IN: IN, NOT_CONTAINS: CONTAINS, IS_NOT_SET: IS_SET}
ORDER_OPS = (GT, GTE, LT, LTE)
TEXT_OPS = (CONTAINS, NOT_CONTAINS, STARTSWITH)
LIST_OPS = (IN, NOT_IN)
NO_VALUE_OPS = (IS_SET, IS_NOT_SET)
# Names older stored rules use for the same operators.
ALIASES = {"exists": IS_SET, "not_exists": IS_NOT_SET, "=": EQ, "!=": NE}

# A JSON key part SQL can name: word characters (any script) and hyphens.
_KEY_PART = re.compile(r"[\w\-]+")
_NUMERIC = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Condition:
    """One test of one field: ``field`` (dotted path), ``op`` (``OPERATORS``), ``value``."""

    field: str
    op: str
    value: Any = None


@dataclass(frozen=True)
class Group:
    """``all`` (every item holds) or ``any`` (at least one does) of conditions and groups."""

    mode: str  # "all" | "any"
    items: tuple[Condition | Group, ...]


Node = Condition | Group


# --- reading stored JSON ------------------------------------------------------------------------


def _leaf(raw: Mapping[str, Any], where: str) -> Condition:
    field = raw.get("field", raw.get("property"))
    if not isinstance(field, str) or not field.strip():
        raise ValidationError(
            f"{where or 'condition'}: a condition needs a field name",
            field_errors={f"{where}.field".lstrip("."): "a field name"},
        )
    op = str(raw.get("op") or EQ)
    op = ALIASES.get(op, op)
    if op not in OPERATORS:
        raise ValidationError(
            f"{where or 'condition'}: unknown operator {op!r}",
            field_errors={f"{where}.op".lstrip("."): f"one of {', '.join(OPERATORS)}"},
        )
    value = raw.get("value")
    if op == IS_SET and value is False:  # scoring stores "is not set" as is_set: false
        op, value = IS_NOT_SET, None
    elif op == IS_NOT_SET and value is False:
        op, value = IS_SET, None
    elif op in NO_VALUE_OPS:
        value = None
    elif op in LIST_OPS:
        items = value if isinstance(value, list | tuple) else [value]
        value = tuple(_scalar(item, where) for item in items)
    else:
        value = _scalar(value, where)
    return Condition(field=field.strip(), op=op, value=value)


def _scalar(value: Any, where: str) -> Any:
    if isinstance(value, bool | str) or (isinstance(value, int | float) and _finite(value)):
        return value
    raise ValidationError(
        f"{where or 'condition'}: a value is a text, a number or true/false",
        field_errors={f"{where}.value".lstrip("."): "a text, number or true/false"},
    )


def _finite(value: int | float) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def parse(raw: Any, *, where: str = "") -> Node:
    """The condition tree of stored JSON (see the module docstring for the shapes).

    Raises ``ValidationError`` (field errors keyed by the path of the bad part) for something
    that is not a condition; callers validate their own rules further (which fields exist).
    """
    if isinstance(raw, Condition | Group):
        return raw
    if isinstance(raw, list | tuple):
        return _group("all", raw, where)
    if not isinstance(raw, Mapping):
        raise ValidationError(
            f"{where or 'condition'}: not a condition", field_errors={where or "": "a condition"}
        )
    for mode in ("all", "any"):
        if mode in raw:
            return _group(mode, raw[mode], f"{where}.{mode}")
    if "conditions" in raw:
        mode = "any" if str(raw.get("op") or "and").lower() == "or" else "all"
        return _group(mode, raw["conditions"], f"{where}.conditions")
    return _leaf(raw, where)


def _group(mode: str, items: Any, where: str) -> Group:
    if not isinstance(items, list | tuple):
        raise ValidationError(
            f"{where}: a group holds a list of conditions", field_errors={where: "a list"}
        )
    return Group(mode, tuple(parse(item, where=f"{where}.{i}") for i, item in enumerate(items)))


def leaves(node: Node) -> Iterable[Condition]:
    """Every condition of a tree, in order."""
    if isinstance(node, Condition):
        yield node
        return
    for item in node.items:
        yield from leaves(item)


# --- the scalar semantics -----------------------------------------------------------------------


def fold(text: str) -> str:
    """Text as conditions compare it: NFKC, ASCII letters lower-cased."""
    return unicodedata.normalize("NFKC", text).translate(_ASCII_LOWER)


def number_of(value: Any) -> int | float | None:
    """A number, or numeric text read as a number; ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip(" ")
        if _NUMERIC.match(text):
            return float(text) if "." in text else int(text)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_set(value: Any) -> bool:
    """Not missing, not null, not ``""``, ``[]`` or ``{}``."""
    if value is None:
        return False
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0
    return True


def equal(actual: Any, expected: Any) -> bool:
    """``eq`` on one scalar (see the module docstring)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, str) and isinstance(expected, str):
        return fold(actual) == fold(expected)
    if _is_number(actual) or _is_number(expected):
        left, right = number_of(actual), number_of(expected)
        return left is not None and right is not None and left == right
    return False


def _text_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _positive(op: str, actual: Any, value: Any) -> bool:
    """A positive operator on one scalar item."""
    if isinstance(actual, list | tuple | dict) or actual is None:
        return False
    if op == EQ:
        return equal(actual, value)
    if op == IN:
        return any(equal(actual, item) for item in value)
    if op in (CONTAINS, STARTSWITH):
        if not isinstance(actual, str):
            return False
        text, part = fold(actual), fold(_text_value(value))
        return part in text if op == CONTAINS else text.startswith(part)
    left, right = number_of(actual), number_of(value)
    if left is None or right is None:
        return False
    return {GT: left > right, GTE: left >= right, LT: left < right, LTE: left <= right}[op]


def holds(condition: Condition, actual: Any) -> bool:
    """Whether ``condition`` holds for the field value ``actual`` (``None``: missing)."""
    op = condition.op
    if op in (IS_SET, IS_NOT_SET):
        return is_set(actual) is (op == IS_SET)
    positive = NEGATIVE.get(op, op)
    if isinstance(actual, list | tuple):
        found = any(_positive(positive, item, condition.value) for item in actual)
    else:
        found = _positive(positive, actual, condition.value)
    return found if positive == op else not found


def lookup(record: Mapping[str, Any], field: str) -> Any:
    """The value at a dotted path of ``record`` (``None`` when any part is missing)."""
    value: Any = record
    for part in field.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def evaluate(condition: Any, record: Mapping[str, Any]) -> bool:
    """Whether a condition (tree, or stored JSON ``parse`` reads) holds for ``record``."""
    node = parse(condition)
    if isinstance(node, Condition):
        return holds(node, lookup(record, node.field))
    results = (evaluate(item, record) for item in node.items)
    return all(results) if node.mode == "all" else any(results)


# --- SQL --------------------------------------------------------------------------------------

TEXT, NUMBER, BOOLEAN = "text", "number", "boolean"


@dataclass(frozen=True)
class Column:
    """A field that is a model column (ORM path such as ``company__name``) of one type."""

    path: str
    type: str = TEXT  # text | number | boolean


@dataclass(frozen=True)
class JsonKey:
    """A field that sits in a JSON column at a dotted ``key``."""

    column: str
    key: str


Target = Column | JsonKey


def _sqlite_fold(text: Any) -> Any:
    return fold(text) if isinstance(text, str) else None


def _sqlite_number(text: Any) -> Any:
    return number_of(text) if isinstance(text, str) else None


def _sqlite_functions(connection: Any) -> None:
    """Register the folding functions on the raw SQLite connection once."""
    connection.ensure_connection()
    raw = connection.connection
    if getattr(connection, "_sokyaku_conditions_for", None) is raw:
        return
    raw.create_function("sokyaku_fold", 1, _sqlite_fold, deterministic=True)
    raw.create_function("sokyaku_number", 1, _sqlite_number, deterministic=True)
    connection._sokyaku_conditions_for = raw


class _Value:
    """SQL pieces of one value under test, each NULL when the value is not of that kind."""

    def __init__(self, vendor: str, kind: str, sql: str, *, element: str = "") -> None:
        self.vendor = vendor
        self.kind = kind  # json | text | number | boolean
        self.sql = sql  # the JSON value (PostgreSQL jsonb) or the column
        self.element = element  # SQLite: the json_each alias when testing one list item

    # The type tag of a JSON value (SQLite json_type / PostgreSQL jsonb_typeof naming).
    def _type(self) -> str:
        if self.vendor == "sqlite" and self.element:
            return f"{self.element}.type"
        if self.vendor == "sqlite":
            return f"json_type({self.sql})"
        return f"jsonb_typeof({self.sql})"

    def _json_scalar(self) -> str:
        if self.vendor == "sqlite":
            return f"{self.element}.atom" if self.element else f"json_extract({self.sql})"
        return f"({self.sql} #>> '{{}}')"

    def text(self) -> str:
        if self.kind == TEXT:
            return self.sql
        if self.kind != "json":
            return "NULL"
        string = "'text'" if self.vendor == "sqlite" else "'string'"
        return f"(CASE WHEN {self._type()} = {string} THEN {self._json_scalar()} END)"

    def raw_number(self) -> str:
        if self.kind == NUMBER:
            return self.sql
        if self.kind != "json":
            return "NULL"
        if self.vendor == "sqlite":
            test = f"{self._type()} IN ('integer', 'real')"
            return f"(CASE WHEN {test} THEN {self._json_scalar()} END)"
        return f"(CASE WHEN {self._type()} = 'number' THEN {self._json_scalar()}::numeric END)"

    def number(self) -> str:
        """Numbers, and numeric text read as numbers."""
        text = self.text()
        if text == "NULL":
            return self.raw_number()
        parsed = _sql_number(self.vendor, text)
        if self.kind == TEXT:
            return parsed
        return f"COALESCE({self.raw_number()}, {parsed})"

    def boolean(self, wanted: bool) -> str:
        if self.kind == BOOLEAN:
            return f"({self.sql} = {'TRUE' if wanted else 'FALSE'})"
        if self.kind != "json":
            return "(1 = 0)"
        if self.vendor == "sqlite":
            return f"({self._type()} = '{'true' if wanted else 'false'}')"
        return f"({self.sql} = '{'true' if wanted else 'false'}'::jsonb)"


def _sql_fold(vendor: str, text: str) -> str:
    if vendor == "sqlite":
        return f"sokyaku_fold({text})"
    return (
        f"translate(normalize({text}, NFKC), "
        "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
    )


def _sql_number(vendor: str, text: str) -> str:
    if vendor == "sqlite":
        return f"sokyaku_number({text})"
    trimmed = f"btrim(normalize({text}, NFKC), ' ')"
    return f"(CASE WHEN {trimmed} ~ '^[+-]?[0-9]+(\\.[0-9]+)?$' THEN {trimmed}::numeric END)"


def _definite(sql: str, vendor: str) -> str:
    return f"COALESCE({sql}, {'0' if vendor == 'sqlite' else 'false'})"


def _equal_sql(value: _Value, expected: Any, params: list[Any]) -> str:
    vendor = value.vendor
    if isinstance(expected, bool):
        return value.boolean(expected)
    if _is_number(expected):
        params.append(expected)
        return _definite(f"{value.number()} = %s", vendor)
    parts = []
    if value.kind in (TEXT, "json"):
        params.append(fold(expected))
        parts.append(_definite(f"{_sql_fold(vendor, value.text())} = %s", vendor))
    number = number_of(expected)
    if number is not None and value.kind in (NUMBER, "json"):
        params.append(number)
        parts.append(_definite(f"{value.raw_number()} = %s", vendor))
    return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"


def _positive_sql(op: str, value: _Value, expected: Any, params: list[Any]) -> str:
    vendor = value.vendor
    if op == EQ:
        return _equal_sql(value, expected, params)
    if op == IN:
        parts = [_equal_sql(value, item, params) for item in expected]
        return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"
    if op in (CONTAINS, STARTSWITH):
        if value.kind not in (TEXT, "json"):
            return "(1 = 0)"
        params.append(fold(_text_value(expected)))
        position = "instr" if vendor == "sqlite" else "strpos"
        test = "> 0" if op == CONTAINS else "= 1"
        return _definite(f"{position}({_sql_fold(vendor, value.text())}, %s) {test}", vendor)
    number = number_of(expected)
    if number is None:
        return "(1 = 0)"
    params.append(number)
    sign = {GT: ">", GTE: ">=", LT: "<", LTE: "<="}[op]
    return _definite(f"{value.number()} {sign} %s", vendor)


class Holds(Expression):
    """One condition as a boolean SQL expression that is never NULL."""

    output_field = BooleanField()

    def __init__(self, target: Target, condition: Condition) -> None:
        column = target.column if isinstance(target, JsonKey) else target.path
        super().__init__(output_field=BooleanField())
        self.source = F(column)
        self.target = target
        self.condition = condition

    def get_source_expressions(self) -> list[Any]:
        return [self.source]

    def set_source_expressions(self, exprs: Any) -> None:
        (self.source,) = exprs

    def as_sql(  # type: ignore[override]
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, list[Any]]:
        raise NotImplementedError(
            f"conditions run on SQLite and PostgreSQL, not {connection.vendor}"
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        _sqlite_functions(connection)
        return self._sql(compiler, "sqlite")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        return self._sql(compiler, "postgresql")

    def _sql(self, compiler: Any, vendor: str) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.source)
        if column_params:
            raise ValueError("a condition's column compiles without parameters")
        condition, params = self.condition, []  # type: ignore[var-annotated]
        if isinstance(self.target, Column):
            value = _Value(vendor, self.target.type, column)
            if condition.op in (IS_SET, IS_NOT_SET):
                test = f"{column} IS NOT NULL"
                if self.target.type == TEXT:
                    test = f"({test} AND {column} <> '')"
                sql = test if condition.op == IS_SET else f"NOT ({test})"
                return _definite(sql, vendor), []
            return self._wrap(
                _positive_sql(
                    NEGATIVE.get(condition.op, condition.op), value, condition.value, params
                ),
                params,
            )
        parts = self.target.key.split(".")
        if not all(_KEY_PART.fullmatch(part) for part in parts):
            raise ValueError(self.target.key)
        if vendor == "sqlite":
            path = "'$" + "".join(f'."{part}"' for part in parts) + "'"
            located = f"{column}, {path}"
            kind = f"json_type({located})"
            scalar = _Value(vendor, "json", located)
            items = _Value(vendor, "json", located, element="_je")
            array = f"{kind} = 'array'"
            each = f"json_each({located}) AS _je"
        else:
            path = "'{" + ",".join(f'"{part}"' for part in parts) + "}'"
            located = f"({column} #> {path})"
            kind = f"jsonb_typeof({located})"
            scalar = _Value(vendor, "json", located)
            items = _Value(vendor, "json", "_je.value")
            array = f"{kind} = 'array'"
            each = f"jsonb_array_elements({located}) AS _je(value)"
        if condition.op in (IS_SET, IS_NOT_SET):
            if vendor == "sqlite":
                raw = f"json_extract({located})"
                test = (
                    f"({kind} <> 'null' AND NOT ({kind} = 'text' AND {raw} = '')"
                    f" AND NOT ({kind} IN ('array', 'object') AND {raw} IN ('[]', '{{}}')))"
                )
            else:
                test = (
                    f"({kind} <> 'null' AND {located} NOT IN "
                    "('\"\"'::jsonb, '[]'::jsonb, '{}'::jsonb))"
                )
            test = _definite(test, vendor)
            return (test if condition.op == IS_SET else f"NOT {test}"), []
        positive = NEGATIVE.get(condition.op, condition.op)
        item_params: list[Any] = []
        item_sql = _positive_sql(positive, items, condition.value, item_params)
        scalar_params: list[Any] = []
        scalar_sql = _positive_sql(positive, scalar, condition.value, scalar_params)
        # Only our own SQL and validated key names are interpolated; values are parameters.
        sql = (
            f"(CASE WHEN {array} THEN EXISTS (SELECT 1 FROM {each} WHERE {item_sql})"  # noqa: S608
            f" ELSE {scalar_sql} END)"
        )
        return self._wrap(_definite(sql, vendor), [*item_params, *scalar_params])

    def _wrap(self, sql: str, params: list[Any]) -> tuple[str, list[Any]]:
        if self.condition.op in NEGATIVE:
            return f"(NOT {sql})", params
        return sql, params


def _target(
    field: str,
    json_column: str | None,
    columns: Mapping[str, Target] | Callable[[str], Target | None],
) -> Target:
    found = columns(field) if callable(columns) else columns.get(field)
    if found is not None:
        return found
    if json_column is None:
        raise ValidationError(f"unknown field {field!r}", field_errors={"field": field})
    return JsonKey(json_column, field)


def to_q(
    condition: Any,
    *,
    json_column: str | None = None,
    columns: Mapping[str, Target] | Callable[[str], Target | None] | None = None,
) -> Q:
    """A ``Q`` selecting the rows for which ``condition`` holds.

    A field is looked up in ``columns`` (a mapping, or a function answering ``None`` for fields
    it does not know) first; otherwise it is a key of the JSON column ``json_column``.
    """
    node = parse(condition)
    lookup_columns = columns if columns is not None else {}
    if isinstance(node, Condition):
        return Q(Holds(_target(node.field, json_column, lookup_columns), node))
    parts = [to_q(item, json_column=json_column, columns=lookup_columns) for item in node.items]
    if not parts:
        # A plain Q() would vanish inside an "any"; these are definite true / false.
        return ~Q(pk__in=[]) if node.mode == "all" else Q(pk__in=[])
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part if node.mode == "all" else combined | part
    return combined


__all__ = [
    "BOOLEAN",
    "NUMBER",
    "OPERATORS",
    "TEXT",
    "Column",
    "Condition",
    "Group",
    "Holds",
    "JsonKey",
    "equal",
    "evaluate",
    "fold",
    "holds",
    "is_set",
    "leaves",
    "lookup",
    "number_of",
    "parse",
    "to_q",
]
