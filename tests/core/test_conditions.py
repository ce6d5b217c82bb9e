"""The condition language: the Python evaluator and the SQL compiler give the same answers.

Records mix what real data holds — numbers, numeric text in half and full width, text in
upper/lower case and full width, booleans, lists, nested objects, nulls and missing keys — and
are stored for real (a contact's JSON ``custom_fields`` and typed columns); every generated
condition is run both ways. Works on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sokyaku.contacts.models import Contact
from sokyaku.core import clock, conditions
from sokyaku.core.conditions import BOOLEAN, NUMBER, TEXT, Column

COLUMNS = {
    "title": Column("title", TEXT),
    "prefecture": Column("prefecture", NUMBER),
    "review": Column("phone_needs_review", BOOLEAN),
}
JSON_FIELDS = ("a", "b", "n.x")

_words = st.sampled_from(
    ["pro", "PRO", "ＰＲＯ", "Pro plan", "ﾌﾟﾛ", "プロ", "enterprise", "5", "５", " 5 ", "05",
     "5.0", "-3", "12", "１２", "abc5", "", "true"]
)  # fmt: skip
_numbers = st.sampled_from([0, 5, -3, 12, 5.0, 2.5, 100])
_scalars = st.one_of(_words, _numbers, st.booleans(), st.none())
_json_values = st.one_of(
    _scalars, st.lists(st.one_of(_words, _numbers, st.booleans()), max_size=3), st.just({})
)
_MISSING = object()


@st.composite
def _records(draw: Any) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    for key in ("a", "b"):
        value = draw(st.one_of(st.just(_MISSING), _json_values))
        if value is not _MISSING:
            custom[key] = value
    nested = draw(st.one_of(st.just(_MISSING), st.just({}), _json_values))
    if nested is not _MISSING:
        custom["n"] = {"x": nested} if not isinstance(nested, dict) else nested
    return {
        "custom": custom,
        "title": draw(st.sampled_from(["", "部長", "PRO", "ｐｒｏ manager", "5", "５", "12"])),
        "prefecture": draw(st.sampled_from([None, 5, 12, 13])),
        "review": draw(st.booleans()),
    }


def _values_for(op: str) -> Any:
    if op in conditions.LIST_OPS:
        return st.lists(
            st.one_of(_words.filter(bool), _numbers, st.booleans()), min_size=1, max_size=3
        )
    if op in conditions.NO_VALUE_OPS:
        return st.none()
    if op in conditions.TEXT_OPS:
        return st.sampled_from(["pro", "ＰＲ", "5", "プ", "ﾌﾟ", "an", "1"])
    if op in conditions.ORDER_OPS:
        return st.one_of(_numbers, st.sampled_from(["5", "１２", "2.5"]))
    return st.one_of(_words.filter(bool), _numbers, st.booleans())


@st.composite
def _leaf(draw: Any) -> dict[str, Any]:
    op = draw(st.sampled_from(conditions.OPERATORS))
    field = draw(st.sampled_from((*JSON_FIELDS, *COLUMNS)))
    return {"field": field, "op": op, "value": draw(_values_for(op))}


_trees = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(children, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(children, max_size=3)),
    ),
    max_leaves=4,
)


def _as_record(row: dict[str, Any]) -> dict[str, Any]:
    return {**row["custom"], **{k: row[k] for k in COLUMNS}}


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(_records(), min_size=1, max_size=6),
    trees=st.lists(_trees, min_size=1, max_size=4),
)
def test_python_and_sql_agree(rows: list[dict[str, Any]], trees: list[Any]) -> None:
    with transaction.atomic():
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    family_name=f"p{i}",
                    created_at=clock.now(),
                    updated_at=clock.now(),
                    custom_fields=row["custom"],
                    title=row["title"],
                    prefecture=row["prefecture"],
                    phone_needs_review=row["review"],
                )
                for i, row in enumerate(rows)
            ]
        )
        ids = [c.pk for c in contacts]
        by_id = dict(zip(ids, rows, strict=True))
        for tree in trees:
            # when the condition is evaluated in Python and compiled to SQL
            in_python = {
                pk for pk, row in by_id.items() if conditions.evaluate(tree, _as_record(row))
            }
            q = conditions.to_q(tree, json_column="custom_fields", columns=COLUMNS)
            in_sql = set(Contact.objects.filter(pk__in=ids).filter(q).values_list("pk", flat=True))
            # then both select the same rows
            assert in_sql == in_python, (tree, [by_id[pk] for pk in in_sql ^ in_python])
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("condition", "record", "expected"),
    [
        ({"field": "amount", "op": "eq", "value": 5}, {"amount": "5"}, True),
        ({"field": "amount", "op": "eq", "value": "5"}, {"amount": 5}, True),
        ({"field": "amount", "op": "eq", "value": "５"}, {"amount": 5.0}, True),
        ({"field": "amount", "op": "eq", "value": "5"}, {"amount": "05"}, False),
        ({"field": "minutes", "op": "gte", "value": 30}, {"minutes": "45"}, True),
        ({"field": "minutes", "op": "gte", "value": 30}, {"minutes": "forty"}, False),
        ({"field": "plan", "op": "eq", "value": "pro"}, {"plan": "ＰＲＯ"}, True),
        ({"field": "kana", "op": "eq", "value": "プロ"}, {"kana": "ﾌﾟﾛ"}, True),
        ({"field": "url", "op": "contains", "value": "/PRICING"}, {"url": "/pricing/a"}, True),
        ({"field": "machine", "op": "eq", "value": True}, {"machine": 1}, False),
        ({"field": "medium", "op": "ne", "value": "cpc"}, {}, True),
        ({"field": "title", "op": "is_set", "value": True}, {"title": ""}, False),
        ({"field": "tags", "op": "eq", "value": "a"}, {"tags": ["b", "A"]}, True),
        ({"field": "tags", "op": "ne", "value": "a"}, {"tags": ["b", "A"]}, False),
        ({"field": "fields.plan", "op": "eq", "value": "x"}, {"fields": {"plan": "X"}}, True),
        ({"any": [{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "eq", "value": 2}]},
         {"b": "2"}, True),
        ({"all": [{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "eq", "value": 2}]},
         {"b": "2"}, False),
    ],
)  # fmt: skip
def test_one_meaning_for_every_caller(condition: Any, record: Any, expected: bool) -> None:
    assert conditions.evaluate(condition, record) is expected


def test_stored_shapes_of_every_caller_are_read() -> None:
    # handoff: {property, op: exists}; scoring: is_set false; segments: {op: or, conditions}
    assert conditions.evaluate({"property": "sequence", "op": "exists"}, {"sequence": 3})
    assert conditions.evaluate({"field": "x", "op": "is_set", "value": False}, {"x": ""})
    group = {"op": "or", "conditions": [{"field": "x", "op": "eq", "value": 1}]}
    assert conditions.evaluate(group, {"x": 1})
