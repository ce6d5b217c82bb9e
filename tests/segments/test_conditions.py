"""Every field and operator compiles to SQL that agrees with a plain reading of the data."""

from __future__ import annotations

from typing import Any

import pytest

from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.segments import conditions
from sokyaku.segments.conditions import definition_matches, definition_queryset
from tests.segments import factories as f

ALL = {"yamada", "suzuki", "sato", "tanaka"}


def names(people: dict[str, Contact], definition: dict[str, Any]) -> set[str]:
    ids = set(definition_queryset(definition).values_list("pk", flat=True))
    return {name for name, contact in people.items() if contact.pk in ids}


def one(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"op": "and", "conditions": [{"field": field, "op": op, "value": value}]}


ATTRIBUTE_CASES = [
    ("family_name", "eq", "山田", {"yamada"}),
    ("family_name", "ne", "山田", ALL - {"yamada"}),
    ("family_name", "in", ["山田", "鈴木"], {"yamada", "suzuki"}),
    ("family_name", "not_in", ["山田", "鈴木"], {"sato", "tanaka"}),
    ("email", "eq", "TARO@acme.co.jp", {"yamada"}),
    ("email", "contains", "ACME", {"yamada", "sato"}),
    ("email", "not_contains", "acme", {"suzuki", "tanaka"}),
    ("email", "startswith", "hana", {"suzuki"}),
    ("email", "is_set", None, {"yamada", "suzuki", "sato"}),
    ("email", "is_not_set", None, {"tanaka"}),
    ("given_name", "is_not_set", None, {"tanaka"}),
    ("department", "eq", "営業部", {"yamada"}),
    ("title", "contains", "部長", {"yamada"}),
    ("email_domain", "eq", "acme.co.jp", {"yamada", "sato"}),
    ("email_domain", "ne", "acme.co.jp", {"suzuki", "tanaka"}),
    ("email_domain", "in", ["beta.example", "acme.co.jp"], {"yamada", "suzuki", "sato"}),
    ("email_domain", "not_in", ["beta.example"], {"yamada", "sato", "tanaka"}),
    ("title_level", "gte", 4, {"yamada", "tanaka"}),
    ("title_level", "eq", "2", {"suzuki"}),
    ("title_level", "lt", 2, {"sato"}),
    ("title_level", "in", [0, 2], {"suzuki", "sato"}),
    ("title_level", "ne", 5, {"yamada", "suzuki", "sato"}),
    ("prefecture", "eq", 13, {"yamada"}),
    ("prefecture", "ne", 13, {"suzuki", "sato", "tanaka"}),
    ("prefecture", "in", ["13", "27"], {"yamada", "suzuki"}),
    ("prefecture", "is_not_set", None, {"sato", "tanaka"}),
    ("created_at", "within_last_days", 30, {"suzuki", "tanaka"}),
    ("created_at", "gte", "2026-04-22", {"suzuki", "sato", "tanaka"}),
    ("created_at", "lt", "2026-04-22", {"yamada"}),
    ("created_at", "eq", "2026-05-22", {"suzuki"}),
    ("created_at", "lte", "2026-05-22", {"yamada", "suzuki", "sato"}),
    ("created_at", "gt", "2026-05-22", {"tanaka"}),
    ("tags", "in", ["vip"], {"yamada"}),
    ("tags", "in", ["expo", "nothing"], {"yamada", "suzuki"}),
    ("tags", "not_in", ["vip"], {"suzuki", "sato", "tanaka"}),
    ("tags", "is_set", None, {"yamada", "suzuki"}),
    ("tags", "is_not_set", None, {"sato", "tanaka"}),
    ("custom.size", "eq", "L", {"yamada"}),
    ("custom.size", "ne", "L", {"suzuki", "sato", "tanaka"}),
    ("custom.size", "is_set", None, {"yamada"}),
    ("custom.budget", "gte", 100, {"yamada"}),
    ("custom.budget", "lt", "100", {"suzuki"}),
    ("custom.budget", "ne", 50, {"yamada", "sato", "tanaka"}),
    ("custom.budget", "is_not_set", None, {"sato", "tanaka"}),
    ("custom.since", "within_last_days", 30, {"yamada"}),
    ("custom.since", "gte", "2026-06-01", set()),
    ("custom.since", "lt", "2026-06-01", {"yamada"}),
    ("custom.active", "eq", True, {"yamada"}),
    ("custom.active", "eq", "false", {"suzuki"}),
    ("custom.active", "ne", True, {"suzuki", "sato", "tanaka"}),
    ("first_touch_channel", "eq", "seo", {"yamada"}),
    ("first_touch_channel", "is_not_set", None, {"suzuki", "sato", "tanaka"}),
    ("company.name", "contains", "アクメ", {"yamada"}),
    ("company.name", "is_not_set", None, {"sato"}),
    ("company.industry", "eq", "E", {"yamada", "tanaka"}),
    ("company.industry", "ne", "E", {"suzuki", "sato"}),
    ("company.industry", "is_not_set", None, {"sato"}),
    ("company.employee_band", "gte", "100-299", {"yamada", "tanaka"}),
    ("company.employee_band", "lt", "100-299", {"suzuki"}),
    ("company.employees", "gte", 100, {"yamada", "tanaka"}),
    ("company.employees", "gte", 300, {"tanaka"}),
    ("company.employees", "lt", 50, {"suzuki"}),
    ("company.employees", "is_set", None, {"yamada", "suzuki", "tanaka"}),
    ("company.revenue_band", "is_set", None, {"yamada", "tanaka"}),
    ("company.revenue_band", "gte", "5b-10b", {"tanaka"}),
    ("company.revenue_band", "is_not_set", None, {"suzuki", "sato"}),
    ("company.prefecture", "eq", 13, {"yamada", "tanaka"}),
    ("company.prefecture", "not_in", [13], {"suzuki", "sato"}),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), ATTRIBUTE_CASES)
def test_attribute_condition_matches_the_data(people, field, op, value, expected) -> None:  # type: ignore[no-untyped-def]
    assert names(people, one(field, op, value)) == expected


def test_owner_conditions(people, marketer) -> None:  # type: ignore[no-untyped-def]
    assert names(people, one("owner", "eq", marketer.pk)) == {"yamada"}
    assert names(people, one("owner", "is_not_set")) == ALL - {"yamada"}
    assert names(people, one("owner", "ne", marketer.pk)) == ALL - {"yamada"}


def test_and_or_groups_nest(people) -> None:  # type: ignore[no-untyped-def]
    definition = {
        "op": "or",
        "conditions": [
            {"field": "family_name", "op": "eq", "value": "佐藤"},
            {
                "op": "and",
                "conditions": [
                    {"field": "company.industry", "op": "eq", "value": "E"},
                    {"field": "title_level", "op": "gte", "value": 5},
                ],
            },
        ],
    }
    assert names(people, definition) == {"sato", "tanaka"}


def test_merged_away_contacts_never_match(people) -> None:  # type: ignore[no-untyped-def]
    from sokyaku.contacts import services

    services.contact_merge(winner=people["yamada"], loser=people["sato"])
    assert names(people, one("email_domain", "eq", "acme.co.jp")) == {"yamada"}


def test_score_fields_decay_with_time(people, now) -> None:  # type: ignore[no-untyped-def]
    from sokyaku.scoring.models import RuleSet

    RuleSet.objects.create(version=1, half_life_days=30, is_active=True, created_at=now)
    f.score(people["yamada"], engagement=60, fit=10, temperature="hot", at=now)
    f.score(people["suzuki"], engagement=20, fit=0, temperature="warm", at=now)

    assert names(people, one("score.total", "gte", 50)) == {"yamada"}
    assert names(people, one("score.engagement", "lt", 10)) == {"sato", "tanaka"}
    assert names(people, one("score.fit", "gte", 10)) == {"yamada"}
    clock.advance(f.days(30))  # half-life: 60 → 30, total 40
    assert names(people, one("score.total", "gte", 50)) == set()
    assert names(people, one("score.total", "gte", 39)) == {"yamada"}
    assert names(people, one("score.fit", "gte", 10)) == {"yamada"}


def test_temperature_without_a_score_is_cold(people, now) -> None:  # type: ignore[no-untyped-def]
    f.score(people["yamada"], engagement=60, temperature="hot", at=now)
    f.score(people["suzuki"], engagement=20, temperature="warm", at=now)

    assert names(people, one("score.temperature", "eq", "cold")) == {"sato", "tanaka"}
    assert names(people, one("score.temperature", "eq", "hot")) == {"yamada"}
    assert names(people, one("score.temperature", "gte", "warm")) == {"yamada", "suzuki"}
    assert names(people, one("score.temperature", "ne", "cold")) == {"yamada", "suzuki"}


def test_stage_without_a_row_is_lead(people, now) -> None:  # type: ignore[no-untyped-def]
    f.stage(people["suzuki"], "mql", at=now)
    f.stage(people["sato"], "lead", at=now)

    assert names(people, one("lifecycle.stage", "eq", "lead")) == {"yamada", "sato", "tanaka"}
    assert names(people, one("lifecycle.stage", "ne", "lead")) == {"suzuki"}
    assert names(people, one("lifecycle.stage", "in", ["mql", "sql"])) == {"suzuki"}
    assert names(people, one("lifecycle.stage", "not_in", ["mql"])) == ALL - {"suzuki"}


def test_definition_matches_only_the_given_contacts(people) -> None:  # type: ignore[no-untyped-def]
    ids = [people["yamada"].pk, people["suzuki"].pk]
    found = definition_matches(one("company.industry", "eq", "E"), contact_ids=ids)
    assert found == {people["yamada"].pk}


def test_compiles_to_one_query(people, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    definition = {
        "op": "and",
        "conditions": [
            {"field": "company.employees", "op": "gte", "value": 100},
            {"field": "tags", "op": "in", "value": ["vip"]},
            {"event": "asset_downloaded", "within_days": 90},
        ],
    }
    queryset = definition_queryset(definition)
    with django_assert_num_queries(1):
        assert queryset.count() == 0


def test_catalogue_lists_custom_fields_and_consent_topics(people) -> None:  # type: ignore[no-untyped-def]
    f.topic("newsletter")
    catalogue = {spec.name: spec for spec in conditions.field_catalogue()}
    assert catalogue["custom.size"].choices == [("S", "S"), ("M", "M"), ("L", "L")]
    assert catalogue["consent.newsletter"].type == "boolean"
    assert ("seo", "SEO") in catalogue["first_touch_channel"].choices
    assert "within_last_days" in catalogue["created_at"].ops


@pytest.mark.parametrize(
    ("definition", "path", "words"),
    [
        ({"op": "and", "conditions": []}, "conditions", "at least one"),
        ({"op": "xor", "conditions": [{"field": "email", "op": "is_set"}]}, "op", "and"),
        (
            {"op": "and", "conditions": [{"field": "email", "op": "is_set"}, {"field": "nope"}]},
            "conditions.1.field",
            "Condition 2",
        ),
        (
            {
                "op": "and",
                "conditions": [
                    {"field": "email", "op": "is_set"},
                    {
                        "op": "or",
                        "conditions": [{"field": "title_level", "op": "gte", "value": "x"}],
                    },
                ],
            },
            "conditions.1.conditions.0.value",
            "Condition 2.1 (Title level)",
        ),
        (
            {
                "op": "and",
                "conditions": [{"field": "company.employees", "op": "gte", "value": "many"}],
            },
            "conditions.0.value",
            "number",
        ),
        (
            {"op": "and", "conditions": [{"field": "email", "op": "gte", "value": "a"}]},
            "conditions.0.op",
            "Condition 1 (Email)",
        ),
        (
            {"op": "and", "conditions": [{"op": "or", "conditions": []}]},
            "conditions.0.conditions",
            "Condition 1",
        ),
        ({"op": "and", "conditions": [{"event": "made_up"}]}, "conditions.0.event", "made_up"),
        (
            {"op": "and", "conditions": [{"event": "purchase", "min_count": 0}]},
            "conditions.0.min_count",
            "count",
        ),
        (
            {"op": "and", "conditions": [{"event": "purchase", "within_days": "soon"}]},
            "conditions.0.within_days",
            "days",
        ),
        (
            {
                "op": "and",
                "conditions": [
                    {
                        "event": "purchase",
                        "where": [{"field": "amount_jpy", "op": "gte", "value": "lots"}],
                    }
                ],
            },
            "conditions.0.where.0.value",
            "number",
        ),
        (
            {"op": "and", "conditions": [{"field": "segment", "op": "in", "value": [999999]}]},
            "conditions.0.value",
            "999999",
        ),
        (
            {"op": "and", "conditions": [{"field": "company.industry", "op": "eq", "value": "Z"}]},
            "conditions.0.value",
            "Z",
        ),
        (
            {"op": "and", "conditions": [{"field": "tags", "op": "in", "value": []}]},
            "conditions.0.value",
            "at least one",
        ),
    ],
)
def test_bad_definitions_point_at_the_condition(db, definition, path, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        conditions.definition_validate(definition)
    assert path in caught.value.field_errors
    assert words in caught.value.message + caught.value.field_errors[path]


def test_validate_normalises_values(db) -> None:  # type: ignore[no-untyped-def]
    clean = conditions.definition_validate(
        {
            "conditions": [
                {"field": "prefecture", "op": "in", "value": "13, 27"},
                {"field": "company.employees", "op": "gte", "value": "100"},
                {"event": "asset_downloaded", "within_days": "90", "negate": "on"},
            ]
        }
    )
    assert clean == {
        "op": "and",
        "conditions": [
            {"field": "prefecture", "op": "in", "value": [13, 27]},
            {"field": "company.employees", "op": "gte", "value": 100},
            {
                "event": "asset_downloaded",
                "where": [],
                "min_count": 1,
                "within_days": 90,
                "negate": True,
            },
        ],
    }
