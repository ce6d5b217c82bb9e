"""Forms of the rules page: one rule (with up to ``CONDITION_ROWS`` conditions), the settings,
an import upload. They only shape input; ``rules.definition_clean`` decides what is valid and its
``rules.N.…`` errors are mapped back onto these fields."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from sokyaku.activity.models import EventType
from sokyaku.scoring.models import CapPeriod, RuleKind
from sokyaku.scoring.rules import BEHAVIOUR_TYPES, CUSTOM_PREFIX, FIT_FIELDS, OP_LABELS, OPS

CONDITION_ROWS = 5
PROPERTY_SUGGESTIONS = (
    "url", "title", "referrer", "form", "kind", "asset", "webinar", "minutes", "event",
    "utm_source", "utm_medium", "utm_campaign", "machine", "amount_jpy", "coupon", "source",
)  # fmt: skip
_INT_FIELDS = {key for key, spec in FIT_FIELDS.items() if spec.type in ("int", "employees")}
_TRUE = {"", "yes", "true", "1", "はい"}
_FALSE = {"no", "false", "0", "いいえ"}


def _event_type_choices() -> list[tuple[str, Any]]:
    labels = dict(EventType.choices)
    return [(t, labels[t]) for t in BEHAVIOUR_TYPES]


def _fit_field_choices() -> list[tuple[str, Any]]:
    from sokyaku.contacts.models import FieldDefinition

    choices: list[tuple[str, Any]] = [("", "—")]
    choices += [(key, spec.label) for key, spec in FIT_FIELDS.items()]
    choices += [
        (f"{CUSTOM_PREFIX}{d.key}", f"{d.label} ({d.key})") for d in FieldDefinition.objects.all()
    ]
    return choices


def _scalar(text: str, *, field: str, kind: str) -> Any:
    text = text.strip()
    if kind == RuleKind.FIT and field in _INT_FIELDS:
        try:
            return int(text)
        except ValueError:
            return text  # definition_clean names it
    if kind == RuleKind.FIT and field in FIT_FIELDS:
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, int | float | bool | str) else text


def condition_value_parse(*, op: str, text: str, field: str, kind: str) -> Any:
    """A condition's value from what a person typed (lists comma-separated, yes/no for is_set)."""
    if op == "is_set":
        lowered = text.strip().lower()
        return True if lowered in _TRUE else False if lowered in _FALSE else text
    if op in ("in", "not_in"):
        parts = [p for p in (s.strip() for s in text.replace("、", ",").split(",")) if p]
        return [_scalar(p, field=field, kind=kind) for p in parts]
    if op in ("contains", "startswith"):
        return text.strip()
    return _scalar(text, field=field, kind=kind)


def condition_value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(condition_value_text(v) for v in value)
    if isinstance(value, str):
        return value
    return json.dumps(value)


class RuleForm(forms.Form):
    name = forms.CharField(label=pgettext_lazy("object", "Name"), max_length=100)
    event_type = forms.ChoiceField(label=_("Event"), required=False)
    points = forms.IntegerField(label=_("Points"), min_value=-1000, max_value=1000)
    cap = forms.IntegerField(label=_("At most (times)"), required=False, min_value=1)
    cap_period = forms.ChoiceField(label=_("per"), required=False, choices=CapPeriod.choices)

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        cast(forms.ChoiceField, self.fields["event_type"]).choices = _event_type_choices()
        ops = [("", "—"), *((op, OP_LABELS[op]) for op in OPS)]
        fit_fields = _fit_field_choices() if kind == RuleKind.FIT else []
        for i in range(CONDITION_ROWS):
            if kind == RuleKind.FIT:
                self.fields[f"cond_{i}_field"] = forms.ChoiceField(
                    label=_("Field"), required=False, choices=fit_fields
                )
            else:
                self.fields[f"cond_{i}_field"] = forms.CharField(
                    label=_("Property"),
                    required=False,
                    max_length=50,
                    widget=forms.TextInput(attrs={"list": "scoring-properties"}),
                )
            self.fields[f"cond_{i}_op"] = forms.ChoiceField(
                label=_("Operator"), required=False, choices=ops
            )
            self.fields[f"cond_{i}_value"] = forms.CharField(
                label=_("Value"), required=False, max_length=1000
            )
        if kind == RuleKind.FIT:
            for name in ("event_type", "cap", "cap_period"):
                del self.fields[name]

    @classmethod
    def initial_for(cls, rule: Mapping[str, Any]) -> dict[str, Any]:
        initial = {
            "name": rule["name"],
            "event_type": rule.get("event_type", ""),
            "points": rule["points"],
            "cap": rule.get("cap"),
            "cap_period": rule.get("cap_period", ""),
        }
        for i, condition in enumerate(rule.get("conditions", [])[:CONDITION_ROWS]):
            initial[f"cond_{i}_field"] = condition["field"]
            initial[f"cond_{i}_op"] = condition["op"]
            initial[f"cond_{i}_value"] = condition_value_text(condition["value"])
        return initial

    def condition_rows(self) -> list[tuple[Any, Any, Any]]:
        return [
            (self[f"cond_{i}_field"], self[f"cond_{i}_op"], self[f"cond_{i}_value"])
            for i in range(CONDITION_ROWS)
        ]

    def rule(self) -> tuple[dict[str, Any], list[int]]:
        """The rule as a definition entry, and which form row each condition came from."""
        data = self.cleaned_data
        conditions: list[dict[str, Any]] = []
        rows: list[int] = []
        for i in range(CONDITION_ROWS):
            field = (data.get(f"cond_{i}_field") or "").strip()
            op = data.get(f"cond_{i}_op") or ""
            text = data.get(f"cond_{i}_value") or ""
            if not field and not op and not text:
                continue
            value = condition_value_parse(op=op, text=text, field=field, kind=self.kind)
            conditions.append({"field": field, "op": op, "value": value})
            rows.append(i)
        rule: dict[str, Any] = {
            "kind": self.kind,
            "name": data["name"],
            "event_type": data.get("event_type", "") if self.kind == RuleKind.BEHAVIOUR else "",
            "conditions": conditions,
            "points": data["points"],
            "cap": data.get("cap") if data.get("cap_period") else None,
            "cap_period": data.get("cap_period", "") or "",
        }
        if self.kind == RuleKind.BEHAVIOUR and data.get("cap") and not data.get("cap_period"):
            rule["cap"] = data["cap"]  # let validation say a cap needs a period
        return rule, rows

    def add_definition_errors(
        self, field_errors: Mapping[str, str], *, index: int, rows: list[int]
    ) -> None:
        """Show ``rules.<index>.…`` errors on this form's fields (others as form errors)."""
        prefix = f"rules.{index}."
        for key, message in field_errors.items():
            if not key.startswith(prefix):
                self.add_error(None, f"{key}: {message}")
                continue
            rest = key[len(prefix) :].split(".")
            if rest[0] == "conditions" and len(rest) == 3 and int(rest[1]) < len(rows):
                self.add_error(f"cond_{rows[int(rest[1])]}_{rest[2]}", message)
            elif rest[0] in self.fields:
                self.add_error(rest[0], message)
            else:
                self.add_error(None, message)


class SettingsForm(forms.Form):
    half_life_days = forms.FloatField(label=_("Half-life (days)"), min_value=0.01, max_value=3650)
    warm_at = forms.FloatField(label=_("Warm from"), min_value=0)
    hot_at = forms.FloatField(label=_("Hot from"), min_value=0)
    score_machine_opens = forms.BooleanField(
        label=_("Score machine opens (Apple Mail Privacy Protection, prefetchers)"),
        required=False,
    )
    comment = forms.CharField(label=_("Comment"), max_length=200, required=False)


class ImportForm(forms.Form):
    file = forms.FileField(label=_("Rule set JSON"))
    comment = forms.CharField(label=_("Comment"), max_length=200, required=False)
