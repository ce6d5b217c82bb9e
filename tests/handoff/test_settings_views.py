"""The handoff settings pages: triggers (conditions as rows, with their errors), routing rules in
order with the "matches nobody" error and the routing test, teams with away toggles, the alert
settings, and who may see or change them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from sokyaku.core.models import TeamMember
from sokyaku.handoff import services
from sokyaku.handoff.models import HandoffTrigger, RoutingRule
from tests.lifecycle.factories import contact_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Client, admin_user: User) -> Client:
    client.force_login(admin_user)
    return client


def _field_error(html: str, field_id: str) -> str:
    """The error text shown in the field whose input has ``field_id`` ("" when none)."""
    match = re.search(
        rf'<div class="field field--invalid">\s*<label for="{field_id}">.*?</div>', html, re.S
    )
    if match is None:
        return ""
    return " ".join(re.findall(r'<p class="field__error">(.*?)</p>', match.group(0)))


# --- triggers ---------------------------------------------------------------------------------


def test_admin_creates_a_trigger(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("handoff:trigger_new"),
        {
            "name": "料金ページ閲覧",
            "kind": "event",
            "event_type": "page_view",
            "conditions-0-property": "url",
            "conditions-0-op": "contains",
            "conditions-0-value": "/pricing",
            "conditions-1-property": "",
            "conditions-1-op": "eq",
            "conditions-1-value": "",
            "action_label": "料金ページ閲覧",
            "next_action": "24時間以内にご連絡ください。",
            "sla_hours": "24",
            "business_days_only": "on",
            "reminder_minutes": "120",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    trigger = HandoffTrigger.objects.get(name="料金ページ閲覧")
    assert trigger.conditions == [{"property": "url", "op": "contains", "value": "/pricing"}]
    page = admin_client.get(reverse("handoff:triggers")).content.decode()
    assert "料金ページ閲覧" in page and "/pricing" in page
    edit = admin_client.get(reverse("handoff:trigger_edit", args=[trigger.pk])).content.decode()
    assert 'name="conditions-0-value" value="/pricing"' in edit


def _trigger_post(**rows: str) -> dict[str, str]:
    return {
        "name": "ウェビナー視聴",
        "kind": "event",
        "event_type": "webinar_attended",
        "action_label": "ウェビナー視聴",
        "next_action": "連絡",
        "sla_hours": "24",
        "reminder_minutes": "120",
        **rows,
    }


def test_trigger_condition_rows_store_what_the_json_used_to(admin_client: Client) -> None:
    # The same conditions typed the old way, as JSON, and stored through the service.
    typed = services.trigger_save(
        trigger=None,
        actor=None,
        data={
            **_trigger_post(),
            "name": "JSON",
            "conditions": [
                {"property": "webinar", "op": "eq", "value": "2026春"},
                {"property": "minutes", "op": "gte", "value": 30},
                {"property": "sequence", "op": "exists"},
            ],
        },
    )
    response = admin_client.post(
        reverse("handoff:trigger_new"),
        _trigger_post(
            **{
                "conditions-0-property": "webinar",
                "conditions-0-op": "eq",
                "conditions-0-value": "2026春",
                "conditions-1-property": "minutes",
                "conditions-1-op": "gte",
                "conditions-1-value": "３０",
                "conditions-2-property": "sequence",
                "conditions-2-op": "exists",
                "conditions-2-value": "",
                "conditions-3-property": "",
                "conditions-3-op": "eq",
                "conditions-3-value": "",
            }
        ),
    )
    assert response.status_code == 302
    trigger = HandoffTrigger.objects.get(name="ウェビナー視聴")
    assert trigger.conditions == typed.conditions
    edit = admin_client.get(reverse("handoff:trigger_edit", args=[trigger.pk])).content.decode()
    assert '<option value="minutes" selected>視聴時間（分）</option>' in edit
    assert '<option value="gte" selected>以上</option>' in edit
    assert 'name="conditions-1-value" value="30"' in edit
    assert '<option value="exists" selected>値がある</option>' in edit


def test_a_trigger_condition_without_a_number_shows_an_error_and_stores_nothing(
    admin_client: Client,
) -> None:
    response = admin_client.post(
        reverse("handoff:trigger_new"),
        _trigger_post(
            **{
                "conditions-0-property": "minutes",
                "conditions-0-op": "gte",
                "conditions-0-value": "たくさん",
            }
        ),
    )
    assert response.status_code == 422
    field = re.search(
        r'<div class="field field--invalid">\s*<label for="id_conditions">.*?'
        r'<p class="field__error">(.*?)</p>',
        response.content.decode(),
        re.S,
    )
    assert field is not None and field.group(1) == "1行目：数値を入力してください。"
    assert 'name="conditions-0-value" value="たくさん"' in response.content.decode()
    assert not HandoffTrigger.objects.filter(name="ウェビナー視聴").exists()


def test_marketer_sees_triggers_read_only(logged_in: Client) -> None:
    services.trigger_presets_install()
    page = logged_in.get(reverse("handoff:triggers"))
    assert page.status_code == 200
    assert reverse("handoff:trigger_new") not in page.content.decode()
    assert logged_in.get(reverse("handoff:trigger_new")).status_code == 403
    assert logged_in.get(reverse("handoff:teams")).status_code == 403


# --- routing ----------------------------------------------------------------------------------


def test_a_routing_rule_that_matches_nobody_is_flagged_on_its_field(
    admin_client: Client, sales_rep: User
) -> None:
    response = admin_client.post(
        reverse("handoff:rule_new"),
        {"name": "関東", "kind": "territory", "assignee": sales_rep.pk, "is_active": "on"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html
    assert _field_error(html, "id_prefectures")
    assert not RoutingRule.objects.exists()


def test_routing_rules_are_created_and_reordered(admin_client: Client, sales_rep: User) -> None:
    for name, prefectures in (("関東", ["13", "14"]), ("関西", ["27"])):
        response = admin_client.post(
            reverse("handoff:rule_new"),
            {
                "name": name,
                "kind": "territory",
                "prefectures": prefectures,
                "assignee": sales_rep.pk,
                "is_active": "on",
            },
        )
        assert response.status_code == 302
    kansai = RoutingRule.objects.get(name="関西")
    assert kansai.prefectures == [27]
    admin_client.post(reverse("handoff:rule_move", args=[kansai.pk]), {"to": "up"})
    html = admin_client.get(reverse("handoff:routing")).content.decode()
    assert html.index("関西") < html.index("関東")
    assert "大阪府" in html


def test_a_territory_can_be_drawn_by_region(admin_client: Client, sales_rep: User) -> None:
    # when an admin picks the 近畿 region and, besides, 東京都
    response = admin_client.post(
        reverse("handoff:rule_new"),
        {
            "name": "近畿＋東京",
            "kind": "territory",
            "prefectures": ["13"],
            "regions": ["kinki"],
            "assignee": sales_rep.pk,
            "is_active": "on",
        },
    )
    # then the territory holds the region's seven prefectures and Tokyo
    assert response.status_code == 302
    rule = RoutingRule.objects.get(name="近畿＋東京")
    assert rule.prefectures == [13, 24, 25, 26, 27, 28, 29, 30]


def test_routing_test_box_says_who_would_get_a_contact(
    admin_client: Client, sales_rep: User
) -> None:
    services.routing_rule_save(
        rule=None,
        data={
            "name": "東京",
            "kind": "territory",
            "prefectures": [13],
            "industries": [],
            "team": None,
            "assignee": sales_rep,
            "is_active": True,
        },
        actor=None,
    )
    contact = contact_make(family_name="東", prefecture=13)
    response = admin_client.get(reverse("handoff:routing"), {"contact": contact.pk})
    html = response.content.decode()
    preview = html[html.index("data-routing-preview") :]
    assert "rep" in preview[:500] and "東京" in preview[:500]

    found = admin_client.get(reverse("handoff:routing"), {"q": "東"}).content.decode()
    assert f"?contact={contact.pk}" in found


# --- teams ------------------------------------------------------------------------------------


def test_teams_page_toggles_away(admin_client: Client, sales_rep: User, english: None) -> None:
    team = services.team_save(
        team=None,
        name="東日本チーム",
        manager=None,
        share_records=False,
        member_ids=[sales_rep.pk],
        actor=None,
    )
    member = TeamMember.objects.get(team=team, user=sales_rep)
    url = reverse("handoff:member_away", args=[member.pk])

    admin_client.post(url, {f"m{member.pk}-is_away": "on"})
    member.refresh_from_db()
    assert member.is_away
    assert "Away" in admin_client.get(reverse("handoff:teams")).content.decode()

    admin_client.post(url, {})
    member.refresh_from_db()
    assert not member.is_away
    assert "Available" in admin_client.get(reverse("handoff:teams")).content.decode()


def test_admin_creates_a_team_with_members(
    admin_client: Client, sales_rep: User, admin_user: User
) -> None:
    response = admin_client.post(
        reverse("handoff:team_new"),
        {"name": "西日本チーム", "manager": admin_user.pk, "members": [sales_rep.pk]},
    )
    assert response.status_code == 302
    assert TeamMember.objects.filter(team__name="西日本チーム", user=sales_rep).exists()


# --- alert settings and links ------------------------------------------------------------------


def test_alert_settings_save(admin_client: Client, admin_user: User) -> None:
    response = admin_client.post(reverse("handoff:settings"), {"queue_notify": admin_user.pk})
    assert response.status_code == 302
    assert services.handoff_settings_get().queue_notify == admin_user


def test_settings_links_only_for_those_who_may_change_them(
    admin_client: Client, client: Client, marketer: User
) -> None:
    html = admin_client.get(reverse("handoff:inbox")).content.decode()
    assert reverse("handoff:routing") in html and reverse("handoff:teams") in html
    client.force_login(marketer)
    html = client.get(reverse("handoff:inbox")).content.decode()
    assert reverse("handoff:routing") not in html
