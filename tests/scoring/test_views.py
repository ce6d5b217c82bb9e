"""The rules page: marketers edit (each save publishes and recomputes), reps only look."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from sokyaku.core import clock
from sokyaku.scoring.models import RecomputeStatus, RuleSet
from sokyaku.scoring.selectors import ruleset_active
from sokyaku.scoring.services import PRESET, ruleset_export, ruleset_publish
from tests.scoring.factories import START, event, make_contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def preset():
    return ruleset_publish(definition=PRESET, comment="preset")


def test_rules_page_lists_behaviour_and_fit_rules(logged_in, preset, django_assert_max_num_queries):
    for n in range(3):
        ruleset_publish(definition=PRESET, comment=f"again {n}")
    with django_assert_max_num_queries(12):
        page = logged_in.get(reverse("scoring:rules"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "製品ページ閲覧" in text and "役職：部長以上" in text
    assert text.count('action="/scoring/versions/') == 3  # every version but the active one
    assert reverse("scoring:rule_create", args=["fit"]) in text


def test_sales_rep_sees_the_rules_but_cannot_edit(client, sales_rep, preset):
    client.force_login(sales_rep)
    page = client.get(reverse("scoring:rules"))
    assert page.status_code == 200
    assert reverse("scoring:rule_create", args=["behaviour"]) not in page.content.decode()
    assert client.get(reverse("scoring:rule_create", args=["behaviour"])).status_code == 403
    assert client.post(reverse("scoring:rule_delete", args=[0])).status_code == 403
    assert RuleSet.objects.count() == 1


def test_adding_a_rule_publishes_a_version_and_recomputes(
    logged_in, preset, django_capture_on_commit_callbacks
):
    with clock.frozen(START):
        contact = make_contact()
        event(contact, "page_view", START, url="/case-study")
        with django_capture_on_commit_callbacks(execute=True):
            response = logged_in.post(
                reverse("scoring:rule_create", args=["behaviour"]),
                {"name": "事例ページ", "event_type": "page_view", "points": "8", "cap": "1",
                 "cap_period": "day", "cond_0_field": "url", "cond_0_op": "contains",
                 "cond_0_value": "/case-study"},
            )  # fmt: skip
    assert response.status_code == 302
    active = ruleset_active()
    assert active.version == 2
    assert ruleset_export(ruleset=active)["rules"][-1]["conditions"] == [
        {"field": "url", "op": "contains", "value": "/case-study"}
    ]
    run = active.runs.get()
    assert run.status == RecomputeStatus.DONE
    status = logged_in.get(reverse("scoring:run_status", args=[run.pk])).content.decode()
    assert "hx-get" not in status  # finished: polling stops
    assert contact.score.engagement == pytest.approx(8)


def test_a_bad_rule_shows_the_error_on_its_field(logged_in, preset):
    response = logged_in.post(
        reverse("scoring:rule_create", args=["behaviour"]),
        {"name": "長時間", "event_type": "webinar_attended", "points": "5",
         "cond_1_field": "minutes", "cond_1_op": "gte", "cond_1_value": "たくさん"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.context["form"].errors["cond_1_value"] == ["gte needs a number"]
    assert RuleSet.objects.count() == 1


def test_editing_a_fit_rule_and_deleting_one(logged_in, preset):
    index = next(i for i, r in enumerate(PRESET["rules"]) if r["name"].startswith("従業員"))
    form = logged_in.get(reverse("scoring:rule_edit", args=[index])).context["form"]
    assert form.initial["cond_0_field"] == "employees_min"
    logged_in.post(
        reverse("scoring:rule_edit", args=[index]),
        {"name": "従業員300名以上", "points": "7", "cond_0_field": "employees_min",
         "cond_0_op": "gte", "cond_0_value": "300"},
    )  # fmt: skip
    logged_in.post(reverse("scoring:rule_delete", args=[0]))
    rules = ruleset_export(ruleset=ruleset_active())["rules"]
    assert ruleset_active().version == 3
    assert rules[index - 1]["name"] == "従業員300名以上"
    assert rules[index - 1]["conditions"][0]["value"] == 300
    assert "製品ページ閲覧" not in [r["name"] for r in rules]


def test_settings_change_half_life_and_edges(logged_in, preset):
    logged_in.post(
        reverse("scoring:settings"),
        {"half_life_days": "14", "warm_at": "25", "hot_at": "70", "comment": "短く"},
    )
    active = ruleset_active()
    assert (active.half_life_days, active.warm_at, active.hot_at) == (14, 25, 70)
    assert active.comment == "短く"


def test_restore_an_old_version(logged_in, preset):
    ruleset_publish(definition={**PRESET, "rules": []})
    logged_in.post(reverse("scoring:version_restore", args=[1]))
    assert len(ruleset_export(ruleset=ruleset_active())["rules"]) == len(PRESET["rules"])


def test_export_and_import(logged_in, preset):
    exported = logged_in.get(reverse("scoring:export"))
    assert exported["Content-Disposition"].endswith('scoring-v1.json"')
    definition = json.loads(exported.content)
    definition["hot_at"] = 65
    upload = SimpleUploadedFile("rules.json", json.dumps(definition).encode(), "application/json")
    logged_in.post(reverse("scoring:import"), {"file": upload})
    assert ruleset_active().hot_at == 65


def test_a_bad_import_shows_why_and_changes_nothing(logged_in, preset):
    bad = {**PRESET, "rules": [{**PRESET["rules"][0], "event_type": "contact_created"}]}
    upload = SimpleUploadedFile("rules.json", json.dumps(bad).encode(), "application/json")
    page = logged_in.post(reverse("scoring:import"), {"file": upload}, follow=True)
    assert "rules.0.event_type" in page.content.decode()
    assert RuleSet.objects.count() == 1


def test_contact_page_panel_shows_score_breakdown(logged_in, preset):
    with clock.frozen(START):
        contact = make_contact(
            title="部長", company="情報通信株式会社", industry="G", employees=150
        )
        event(contact, "asset_downloaded", START - timedelta(days=30), asset="資料")
        page = logged_in.get(reverse("contacts:detail", args=[contact.pk]))
    text = page.content.decode()
    assert 'id="score-panel"' in text
    assert "資料ダウンロード" in text
    assert 'score-panel__total">28<' in text  # 5 today + 23 fit
    assert "ターゲット業種（情報通信・製造）" in text
