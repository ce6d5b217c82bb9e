"""Rule validation: every mistake is refused with the rule and condition it is in."""

from __future__ import annotations

import pytest

from sokyaku.core.errors import ValidationError
from sokyaku.scoring.rules import definition_clean, event_matches
from sokyaku.scoring.services import PRESET

pytestmark = pytest.mark.django_db


def _on(field, op, value):
    return {"conditions": [{"field": field, "op": op, "value": value}]}


def _fit(*conditions):
    return {"kind": "fit", "event_type": "", "conditions": list(conditions)}


def _with_rule(**rule):
    base = {"kind": "behaviour", "name": "r", "event_type": "page_view", "points": 1,
            "conditions": [], "cap": None, "cap_period": ""}  # fmt: skip
    return {**PRESET, "rules": [*PRESET["rules"], {**base, **rule}]}


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"event_type": "score_band_changed"}, "rules.12.event_type"),
        ({"event_type": "nonsense"}, "rules.12.event_type"),
        (_on("url", "like", "x"), "rules.12.conditions.0.op"),
        (_on("a b", "eq", "x"), "rules.12.conditions.0.field"),
        (_on("minutes", "gte", "30"), "rules.12.conditions.0.value"),
        (_on("url", "in", []), "rules.12.conditions.0.value"),
        ({"cap": 0, "cap_period": "day"}, "rules.12.cap"),
        ({"cap": 3, "cap_period": ""}, "rules.12.cap_period"),
        ({"points": "5"}, "rules.12.points"),
        (_fit({"field": "salary", "op": "eq", "value": 1}), "rules.12.conditions.0.field"),
        (_fit({"field": "industry", "op": "eq", "value": "Z"}), "rules.12.conditions.0.value"),
        (_fit({"field": "industry", "op": "gte", "value": 1}), "rules.12.conditions.0.op"),
        (_fit(), "rules.12.conditions"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_naming_the_rule_and_condition(rule, field):
    with pytest.raises(ValidationError) as caught:
        definition_clean(_with_rule(**rule))
    assert field in caught.value.field_errors


def test_bands_must_be_ordered():
    with pytest.raises(ValidationError) as caught:
        definition_clean({**PRESET, "warm_at": 60, "hot_at": 50})
    assert "hot_at" in caught.value.field_errors


def test_the_preset_is_valid():
    assert len(definition_clean(PRESET).rules) == 12


@pytest.mark.parametrize(
    ("condition", "properties", "expected"),
    [
        ({"field": "url", "op": "contains", "value": "/PRODUCT"}, {"url": "/product/a"}, True),
        ({"field": "minutes", "op": "gte", "value": 30}, {"minutes": "45"}, True),
        ({"field": "minutes", "op": "gte", "value": 30}, {"minutes": "forty-five"}, False),
        ({"field": "minutes", "op": "gte", "value": 30}, {"minutes": 45}, True),
        ({"field": "machine", "op": "eq", "value": True}, {"machine": 1}, False),
        ({"field": "utm_medium", "op": "ne", "value": "cpc"}, {}, True),
        ({"field": "title", "op": "is_set", "value": True}, {"title": ""}, False),
        ({"field": "kind", "op": "in", "value": ["inquiry", "demo"]}, {"kind": "inquiry"}, True),
    ],
)  # fmt: skip
def test_conditions_follow_the_condition_language(condition, properties, expected):
    assert event_matches([condition], source="api", properties=properties) is expected
