"""A list of ``{property|field, op, value}`` conditions edited as rows, without typing JSON.

Each condition is one row of three inputs named ``<name>-<i>-property``, ``<name>-<i>-op`` and
``<name>-<i>-value``; the page renders the stored rows plus a few empty ones, so it works
without JavaScript (``core/condition_rows.js`` only adds and removes rows). The field turns
the rows back into exactly the list the JSON input used to store: numbers as numbers, a list
value ("いずれか") split at commas, an operator without a value stored without one (or with
``true``/``false`` where the evaluator reads it so). A row left empty is skipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

EXTRA_ROWS = 2
_NUMBER_RE = re.compile(r"^-?\d+(\.\d+)?$")
_LIST_SPLIT_RE = re.compile(r"[,、，]")


@dataclass(frozen=True)
class RowSpec:
    """What one kind of condition list stores.

    ``key``: the stored name of the property (``property`` or ``field``); ``properties`` and
    ``ops``: the pickers' choices; ``number_ops``: ops whose value must be a number;
    ``list_ops``: ops whose value is a comma-separated list; ``text_ops``: ops whose value
    stays text; ``flag_ops``: pseudo-ops stored as another op with a fixed value (e.g.
    ``is_not_set`` → ``is_set`` false); ``bare_ops``: ops stored without a value.
    """

    key: str
    properties: Sequence[tuple[str, Any]]
    ops: Sequence[tuple[str, Any]]
    number_ops: frozenset[str] = frozenset()
    list_ops: frozenset[str] = frozenset()
    text_ops: frozenset[str] = frozenset()
    flag_ops: Mapping[str, tuple[str, Any]] = field(default_factory=dict)
    bare_ops: frozenset[str] = frozenset()

    def no_value(self, op: str) -> bool:
        return op in self.bare_ops or op in self.flag_ops


def _number(text: str) -> int | float | None:
    text = unicodedata.normalize("NFKC", text).strip()
    if not _NUMBER_RE.match(text):
        return None
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number


def _scalar(text: str) -> Any:
    number = _number(text)
    return text if number is None else number


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None or isinstance(value, bool):
        return ""
    return str(value)


class ConditionRowsWidget(forms.Widget):
    template_name = "core/_condition_rows.html"

    def __init__(self, spec: RowSpec, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.spec = spec

    def rows_of(self, value: Any) -> list[dict[str, str]]:
        """The rows a value shows: posted rows as posted, stored conditions as row values."""
        if isinstance(value, dict) and "rows" in value:
            return [r for r in value["rows"] if r.get("property") or r.get("value")]
        rows = []
        for item in value or ():
            if not isinstance(item, Mapping):
                continue
            op = str(item.get("op") or "")
            for pseudo, (real, fixed) in self.spec.flag_ops.items():
                if real == op and item.get("value") == fixed:
                    op = pseudo
            rows.append(
                {
                    "property": str(item.get(self.spec.key) or ""),
                    "op": op,
                    "value": "" if self.spec.no_value(op) else _text(item.get("value")),
                }
            )
        return rows

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        rows = self.rows_of(value)
        known = {str(v) for v, _label in self.spec.properties}
        extra = [(r["property"], r["property"]) for r in rows if r["property"] not in known | {""}]
        properties = [("", "—"), *self.spec.properties, *dict(extra).items()]
        shown = [*rows, *({"property": "", "op": "", "value": ""} for _ in range(EXTRA_ROWS))]
        context["widget"].update(
            {
                "rows": [
                    {"index": index, **row, "prefix": f"{name}-{index}"}
                    for index, row in enumerate(shown)
                ],
                "properties": properties,
                "ops": list(self.spec.ops),
                "no_value_ops": " ".join(sorted({*self.spec.bare_ops, *self.spec.flag_ops})),
                "next_index": len(shown),
            }
        )
        return context

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        indexes = sorted(
            {
                int(match[1])
                for key in data
                if (match := re.match(rf"^{re.escape(name)}-(\d+)-(property|op|value)$", key))
            }
        )
        rows = [
            {
                part: str(data.get(f"{name}-{index}-{part}") or "").strip()
                for part in ("property", "op", "value")
            }
            for index in indexes
        ]
        return {"rows": rows}

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return False


class ConditionRowsField(forms.Field):
    """The rows as the stored list of conditions (errors name the row, in the user's language)."""

    def __init__(self, *, spec: RowSpec, **kwargs: Any) -> None:
        self.spec = spec
        kwargs.setdefault("required", False)
        super().__init__(widget=ConditionRowsWidget(spec), **kwargs)

    def to_python(self, value: Any) -> list[dict[str, Any]]:
        rows = value.get("rows", []) if isinstance(value, dict) else []
        ops = {str(v) for v, _label in self.spec.ops}
        result: list[dict[str, Any]] = []
        errors: list[forms.ValidationError] = []
        for number, row in enumerate(rows, start=1):
            prop = row.get("property", "")
            op = row.get("op", "")
            raw = row.get("value", "")
            if not prop and not raw:
                continue
            params = {"row": number}
            if not prop:
                errors.append(
                    forms.ValidationError(_("Row %(row)s: choose a property."), params=params)
                )
                continue
            if op not in ops:
                errors.append(
                    forms.ValidationError(_("Row %(row)s: choose a comparison."), params=params)
                )
                continue
            if op in self.spec.flag_ops:
                real, fixed = self.spec.flag_ops[op]
                result.append({self.spec.key: prop, "op": real, "value": fixed})
                continue
            if op in self.spec.bare_ops:
                result.append({self.spec.key: prop, "op": op})
                continue
            if not raw:
                errors.append(
                    forms.ValidationError(_("Row %(row)s: enter a value."), params=params)
                )
                continue
            stored: Any
            if op in self.spec.number_ops:
                stored = _number(unicodedata.normalize("NFKC", raw).replace(",", ""))
                if stored is None:
                    errors.append(
                        forms.ValidationError(_("Row %(row)s: enter a number."), params=params)
                    )
                    continue
            elif op in self.spec.list_ops:
                stored = [
                    _scalar(part.strip()) for part in _LIST_SPLIT_RE.split(raw) if part.strip()
                ]
            elif op in self.spec.text_ops:
                stored = raw
            else:
                stored = _scalar(raw)
            result.append({self.spec.key: prop, "op": op, "value": stored})
        if errors:
            raise forms.ValidationError(errors)
        return result

    def prepare_value(self, value: Any) -> Any:
        return value
