"""The lifecycle pages: the rules page, the rule editor (the segments condition builder, inputs
``mql-<path>``), the contact panel and its actions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.http import QueryDict
from django.test import Client
from django.urls import reverse

from sokyaku.core import clock
from sokyaku.lifecycle import selectors, services
from sokyaku.lifecycle.models import MqlRule, Stage
from sokyaku.lifecycle.services.mql import (
    COMPOSITE_RULE_NAME,
    SCORE_RULE_NAME,
    mql_preset_definitions,
)
from tests.lifecycle.factories import contact_make, in_months

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
TITLE_RULE = {"op": "and", "conditions": [{"field": "title_level", "op": "gte", "value": 4}]}


def test_the_panel_shows_stage_path_history_and_actions(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    # given an MQL of the rep's, moved there by a rule
    contact = contact_make(owner_id=sales_rep.pk)
    services.stage_change(contact=contact, to_stage=Stage.MQL, source="system", reason="展示会")
    client.force_login(sales_rep)
    # when the rep opens the contact
    page = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    # then the panel shows the stage, the funnel with MQL current, the history and the forms
    assert 'data-stage="mql"' in page
    assert 'aria-current="step">MQL<' in page
    assert "展示会" in page
    assert reverse("lifecycle:contact_move", args=[contact.pk]) in page
    assert reverse("lifecycle:contact_bant", args=[contact.pk]) in page


def test_a_rep_records_bant_and_the_contact_becomes_sql(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make(owner_id=sales_rep.pk)
    client.force_login(sales_rep)
    response = client.post(
        reverse("lifecycle:contact_bant", args=[contact.pk]),
        {
            "budget_amount_jpy": "1,200,000",
            "authority": "decision_maker",
            "need": "展示会リードの管理",
            "need_tags": "リード管理、展示会",
            "timeline_date": in_months(2).isoformat(),
        },
        **HTMX,
    )
    assert response.status_code == 200
    assert 'data-stage="sql"' in response.content.decode()
    record = selectors.bant_latest(contact_id=contact.pk)
    assert record is not None and record.need_tags == ["リード管理", "展示会"]
    assert record.recorded_by == sales_rep


def test_bant_form_errors_are_shown_and_nothing_is_stored(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make(owner_id=sales_rep.pk)
    client.force_login(sales_rep)
    yesterday = (clock.local_now().date() - timedelta(days=1)).isoformat()
    response = client.post(
        reverse("lifecycle:contact_bant", args=[contact.pk]),
        {"budget_amount_jpy": "たくさん", "timeline_date": yesterday},
        **HTMX,
    )
    page = response.content.decode()
    assert "field--invalid" in page
    assert "not a number" in page
    assert "たくさん" in page  # the rep's input is kept
    assert selectors.bant_latest(contact_id=contact.pk) is None


def test_a_rep_disqualifies_with_a_reason(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make(owner_id=sales_rep.pk)
    client.force_login(sales_rep)
    response = client.post(
        reverse("lifecycle:contact_move", args=[contact.pk]),
        {"to_stage": "disqualified", "reason": "<b>競合</b>"},
        **HTMX,
    )
    page = response.content.decode()
    assert selectors.stage_get(contact_id=contact.pk) == Stage.DISQUALIFIED
    assert "&lt;b&gt;競合&lt;/b&gt;" in page  # escaped


def test_recycling_without_a_reason_shows_the_error(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    contact = contact_make(owner_id=sales_rep.pk)
    client.force_login(sales_rep)
    response = client.post(
        reverse("lifecycle:contact_move", args=[contact.pk]), {"to_stage": "recycled"}, **HTMX
    )
    assert "required for recycled and disqualified" in response.content.decode()
    assert selectors.stage_get(contact_id=contact.pk) == Stage.LEAD


def test_the_rules_page_lists_rules_with_counts_in_bounded_queries(
    logged_in: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    # given the seed's two rules, one more, and some contacts
    services.mql_presets_install_if_missing()
    services.mql_rule_create(
        name="部長以上", definition={"op": "and", "conditions": [
            {"field": "title_level", "op": "gte", "value": 4}]},
    )  # fmt: skip
    contact_make(title="部長")
    contact_make(email="k@example.jp", title="課長")
    # when the page is opened (one count query per rule, the rest fixed)
    with django_assert_max_num_queries(14):
        response = logged_in.get(reverse("lifecycle:rules"))
    # then every rule is listed with how many contacts match it now
    page = response.content.decode()
    assert "部長以上" in page
    assert "スコア50点以上" in page
    assert response.context["rules"][2][1] == 1


def builder_inputs(definition: Mapping[str, Any], path: str = "") -> list[tuple[str, str]]:
    """The inputs ``segments/builder.js`` renders for ``definition``, named ``mql-<path>``."""
    pairs = [(f"mql-{path}op", str(definition["op"]))]
    for i, item in enumerate(definition["conditions"]):
        base = f"{path}conditions.{i}."
        if "conditions" in item:
            pairs += builder_inputs(item, base)
        elif "event" in item:
            pairs += [
                (f"mql-{base}negate", "true" if item.get("negate") else "false"),
                (f"mql-{base}event", item["event"]),
                (f"mql-{base}min_count", str(item.get("min_count") or 1)),
                (f"mql-{base}within_days", str(item.get("within_days") or "")),
            ]
            for j, where in enumerate(item.get("where") or []):
                pairs += [
                    (f"mql-{base}where.{j}.{key}", str(where[key]))
                    for key in ("field", "op", "value")
                ]
        else:
            pairs += [(f"mql-{base}{key}", str(item[key])) for key in ("field", "op", "value")]
    return pairs


class _FormInputs(HTMLParser):
    """The successful controls of the rule form as a browser without JavaScript posts them."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self._in_form = False
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "mql-rule-form":
            self._in_form = True
        elif self._in_form and tag == "input" and a.get("name"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.pairs.append((a["name"], a.get("value", "on")))
        elif self._in_form and tag == "textarea":
            self._textarea = a["name"]
            self.pairs.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, text = self.pairs.pop()
            self.pairs.append((name, text + data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            name, text = self.pairs.pop()
            # HTML drops one newline right after <textarea>.
            self.pairs.append((name, text.removeprefix("\n")))
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def form_inputs(page: str) -> QueryDict:
    parser = _FormInputs()
    parser.feed(page)
    data = QueryDict(mutable=True)
    for name, value in parser.pairs:
        data.appendlist(name, value)
    return data


def as_post(pairs: list[tuple[str, str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, value in pairs:
        data.appendlist(name, value)
    return data


@pytest.mark.parametrize("name", [SCORE_RULE_NAME, COMPOSITE_RULE_NAME])
def test_a_preset_posted_back_unchanged_stays_equal(logged_in: Client, name: str) -> None:
    # given the preset rules
    services.mql_presets_install_if_missing()
    rule = MqlRule.objects.get(name=name)
    url = reverse("lifecycle:rule_edit", args=[rule.pk])
    # when the editor is opened and its form posted back as it is (no JavaScript: the JSON view)
    page = logged_in.get(url)
    response = logged_in.post(url, form_inputs(page.content.decode()))
    # then the rule is saved with the same definition, name, description and state
    assert response.status_code == 302
    saved = MqlRule.objects.get(pk=rule.pk)
    assert page.context["definition"] == mql_preset_definitions()[name]
    assert saved.definition == mql_preset_definitions()[name]
    assert (saved.name, saved.description, saved.is_active) == (name, rule.description, True)


@pytest.mark.parametrize("name", [SCORE_RULE_NAME, COMPOSITE_RULE_NAME])
def test_a_preset_posted_back_from_the_builder_rows_stays_equal(
    logged_in: Client, name: str
) -> None:
    # given a preset, and the inputs the builder renders for it (one per part of the definition)
    services.mql_presets_install_if_missing()
    rule = MqlRule.objects.get(name=name)
    data = as_post(
        [("name", rule.name), ("description", rule.description), ("is_active", "on")]
        + builder_inputs(rule.definition)
        + [("mql-json", "{}")]  # the rows win over the JSON view
    )
    # when they are posted unchanged
    response = logged_in.post(reverse("lifecycle:rule_edit", args=[rule.pk]), data)
    # then the definition is the same
    assert response.status_code == 302
    assert MqlRule.objects.get(pk=rule.pk).definition == mql_preset_definitions()[name]


def test_a_changed_value_in_the_builder_is_saved(logged_in: Client) -> None:
    services.mql_presets_install_if_missing()
    rule = MqlRule.objects.get(name=COMPOSITE_RULE_NAME)
    data = as_post(
        [("name", rule.name), ("description", rule.description), ("is_active", "on")]
        + builder_inputs(rule.definition)
    )
    data.setlist("mql-conditions.0.value", ["100"])

    logged_in.post(reverse("lifecycle:rule_edit", args=[rule.pk]), data)

    expected = mql_preset_definitions()[COMPOSITE_RULE_NAME]
    expected["conditions"][0]["value"] = 100
    assert MqlRule.objects.get(pk=rule.pk).definition == expected


def test_the_editor_shows_the_bad_condition_next_to_it(logged_in: Client) -> None:
    # given a rule whose second condition has a value that is not a number
    data = as_post(
        [("name", "壊れた"), ("is_active", "on")]
        + builder_inputs(
            {"op": "and", "conditions": [
                {"field": "score.total", "op": "gte", "value": 50},
                {"field": "company.employees", "op": "gte", "value": "たくさん"},
            ]}
        )
    )  # fmt: skip
    # when it is saved
    response = logged_in.post(reverse("lifecycle:rule_new"), data)
    # then nothing is stored and the error is given to the builder at that condition's path
    assert response.status_code == 422
    assert list(response.context["errors"]) == ["conditions.1.value"]
    assert response.context["definition"]["conditions"][1]["value"] == "たくさん"  # kept
    page = response.content.decode()
    assert '<script id="mql-builder-errors" type="application/json">{"conditions.1.value"' in page
    assert not MqlRule.objects.exists()


def test_a_missing_name_and_a_bad_condition_are_both_shown(logged_in: Client) -> None:
    bad_op = {"op": "and", "conditions": [{"field": "title_level", "op": "near", "value": "3"}]}
    data = as_post([("name", "")] + builder_inputs(bad_op))

    response = logged_in.post(reverse("lifecycle:rule_new"), data)

    assert response.status_code == 422
    assert "name" in response.context["form"].errors
    assert list(response.context["errors"]) == ["conditions.0.op"]
    assert not MqlRule.objects.exists()


def test_json_that_does_not_parse_is_shown_in_the_json_view(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("lifecycle:rule_new"), {"name": "r", "mql-json": '{"op": "and", '}
    )

    assert response.status_code == 422
    assert list(response.context["errors"]) == ["json"]
    assert '<details class="segbuilder__json" open>' in response.content.decode()
    assert not MqlRule.objects.exists()


def test_the_editor_saves_a_rule_and_counts_live(logged_in: Client) -> None:
    # given a director and a marketer on a new rule "title level ≥ director"
    contact_make(title="部長")
    page = logged_in.get(reverse("lifecycle:rule_new")).content.decode()
    assert f'hx-post="{reverse("lifecycle:rule_count")}"' in page
    data = as_post(
        [("name", "部長以上"), ("is_active", "on"), ("builder_prefix", "mql-")]
        + builder_inputs(TITLE_RULE)
    )
    # when the builder posts the form for its live count
    count = logged_in.post(reverse("lifecycle:rule_count"), data)
    # then one contact matches
    assert 'data-count="1"' in count.content.decode()
    # and when it is saved, the rule is stored
    response = logged_in.post(reverse("lifecycle:rule_new"), data)
    assert response.status_code == 302
    assert MqlRule.objects.get().definition == TITLE_RULE


def test_the_live_count_points_at_the_bad_condition(logged_in: Client) -> None:
    data = as_post(
        builder_inputs({"op": "and", "conditions": [
            {"field": "score.total", "op": "gte", "value": ""}]})
    )  # fmt: skip

    count = logged_in.post(reverse("lifecycle:rule_count"), data).content.decode()

    assert "data-count" not in count
    assert 'data-segbuilder-errors="{&quot;conditions.0.value&quot;' in count


def test_a_rep_sees_the_rule_read_only(client: Client, sales_rep) -> None:  # type: ignore[no-untyped-def]
    # given the composite preset and a sales rep (who may view rules, not change them)
    services.mql_presets_install_if_missing()
    rule = MqlRule.objects.get(name=COMPOSITE_RULE_NAME)
    client.force_login(sales_rep)
    # when the rep opens it
    response = client.get(reverse("lifecycle:rule_edit", args=[rule.pk]))
    # then the conditions are shown in words with the count and the JSON, without any form
    page = response.content.decode()
    assert response.status_code == 200
    assert "data-rule-readonly" in page
    assert "情報システム" in page
    assert 'name="mql-' not in page and "<form" not in page.split("data-rule-readonly")[1]
    assert response.context["count"] == 0
    # and the rep can neither save it nor start a new one
    edit = client.post(reverse("lifecycle:rule_edit", args=[rule.pk]), {"name": "x"})
    assert edit.status_code == 403
    assert client.get(reverse("lifecycle:rule_new")).status_code == 403
    assert MqlRule.objects.get(pk=rule.pk).name == COMPOSITE_RULE_NAME


def test_toggle_and_delete(logged_in: Client) -> None:
    rule = services.mql_rule_create(name="r", definition=TITLE_RULE)
    logged_in.post(reverse("lifecycle:rule_toggle", args=[rule.pk]))
    rule.refresh_from_db()
    assert rule.is_active is False
    logged_in.post(reverse("lifecycle:rule_delete", args=[rule.pk]))
    assert not MqlRule.objects.exists()


def test_someone_who_may_only_view_cannot_change_rules(client: Client) -> None:
    # a user outside the three roles, granted only the right to view rules
    viewer = User.objects.create_user(username="viewer", password="x")
    viewer.user_permissions.add(Permission.objects.get(codename="view_mqlrule"))
    rule = services.mql_rule_create(name="r", definition=TITLE_RULE)
    client.force_login(viewer)
    assert client.get(reverse("lifecycle:rules")).status_code == 200
    assert client.post(reverse("lifecycle:rule_toggle", args=[rule.pk])).status_code == 403
    assert client.post(reverse("lifecycle:rule_delete", args=[rule.pk])).status_code == 403
    edit = client.post(
        reverse("lifecycle:rule_edit", args=[rule.pk]), {"name": "x", "mql-json": "{}"}
    )
    assert edit.status_code == 403
    # the rule itself (and its live count, which needs no segments permission) can be seen
    assert client.get(reverse("lifecycle:rule_edit", args=[rule.pk])).status_code == 200
    count = client.post(reverse("lifecycle:rule_count"), as_post(builder_inputs(TITLE_RULE)))
    assert 'data-count="0"' in count.content.decode()


def test_sql_criteria_are_saved_from_the_page(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("lifecycle:sql_criteria"),
        {
            "require_budget": "on",
            "require_authority": "on",
            "require_need": "on",
            "require_timeline": "on",
            "timeline_within_months": "12",
        },
    )
    assert response.status_code == 302
    assert services.sql_criteria_get().timeline_within_months == 12
