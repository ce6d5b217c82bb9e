"""The builder's form encoding: a POST of path-named inputs (or raw JSON) → the definition."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from sokyaku.core.errors import ValidationError
from sokyaku.segments.builder import builder_definition_from_post
from sokyaku.segments.conditions import definition_validate


def post(pairs: list[tuple[str, str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in pairs:
        data.appendlist(key, value)
    return data


def test_nested_rows_round_trip_to_the_definition(db) -> None:  # type: ignore[no-untyped-def]
    data = post(
        [
            ("rule-op", "or"),
            ("rule-conditions.0.field", "company.employees"),
            ("rule-conditions.0.op", "gte"),
            ("rule-conditions.0.value", "100"),
            ("rule-conditions.2.op", "and"),  # index 1 was deleted in the UI: gaps are fine
            ("rule-conditions.2.conditions.0.field", "prefecture"),
            ("rule-conditions.2.conditions.0.op", "in"),
            ("rule-conditions.2.conditions.0.value", "13"),
            ("rule-conditions.2.conditions.0.value", "27"),
            ("rule-conditions.2.conditions.1.event", "asset_downloaded"),
            ("rule-conditions.2.conditions.1.negate", "true"),
            ("rule-conditions.2.conditions.1.min_count", "2"),
            ("rule-conditions.2.conditions.1.within_days", ""),
            ("rule-conditions.2.conditions.1.where.0.field", "asset"),
            ("rule-conditions.2.conditions.1.where.0.op", "eq"),
            ("rule-conditions.2.conditions.1.where.0.value", "wp-1"),
            ("rule-json", "ignored when rows are posted"),
            ("name", "not part of the definition"),
        ]
    )

    definition = definition_validate(builder_definition_from_post(data, "rule-"))

    assert definition == {
        "op": "or",
        "conditions": [
            {"field": "company.employees", "op": "gte", "value": 100},
            {
                "op": "and",
                "conditions": [
                    {"field": "prefecture", "op": "in", "value": [13, 27]},
                    {
                        "event": "asset_downloaded",
                        "where": [{"field": "asset", "op": "eq", "value": "wp-1"}],
                        "min_count": 2,
                        "within_days": None,
                        "negate": True,
                    },
                ],
            },
        ],
    }


def test_one_option_of_a_multi_select_is_still_a_list(db) -> None:  # type: ignore[no-untyped-def]
    data = post(
        [
            ("conditions.0.field", "prefecture"),
            ("conditions.0.op", "in"),
            ("conditions.0.value", "13"),
            ("conditions.0.multi", "1"),
        ]
    )

    assert definition_validate(builder_definition_from_post(data))["conditions"][0]["value"] == [13]


def test_raw_json_is_used_when_no_rows_are_posted(db) -> None:  # type: ignore[no-untyped-def]
    data = post([("json", '{"op": "and", "conditions": [{"field": "email", "op": "is_set"}]}')])

    assert builder_definition_from_post(data) == {
        "op": "and",
        "conditions": [{"field": "email", "op": "is_set"}],
    }


def test_broken_json_is_a_field_error(db) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        builder_definition_from_post(post([("json", '{"op": ')]))

    assert "json" in caught.value.field_errors
