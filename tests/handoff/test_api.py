"""``/api/v1/handoffs`` and ``/api/v1/contacts/{id}/activities``: listing with filters, a rep's
key reaching only that rep's handoffs (404 otherwise), reassign and reject, logging activities."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sokyaku.core import roles
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope, DataAccessLog
from sokyaku.handoff import services
from sokyaku.handoff.models import Handoff, RuleKind
from tests.api.factories import key_beyond_role
from tests.handoff.factories import (
    act,
    lead_make,
    open_handoff,
    rep_make,
    team_make,
    transactional_sender,
    trigger_make,
)
from tests.sequences.factories import sequence_make

pytestmark = pytest.mark.django_db

_SCOPES = [ApiScope.HANDOFFS_READ, ApiScope.HANDOFFS_WRITE]


def _client(user: Any, scopes: list[str] | None = None) -> Client:
    token = core_services.apikey_create(
        name=f"key {user.username}", scopes=scopes or _SCOPES, created_by=user
    ).token
    return Client(headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def two_reps():  # type: ignore[no-untyped-def]
    transactional_sender()
    a, b = rep_make("青木", "一郎"), rep_make("石井", "二郎")
    services.routing_rule_save(
        rule=None,
        data={"name": "営業部", "kind": RuleKind.ROUND_ROBIN, "team": team_make(a, b)},
        actor=None,
    )
    trigger_make()
    leads = [lead_make(company_name=f"株式会社リード{i}") for i in range(4)]
    for lead in leads:
        act(lead, "demo_requested", product="ITインフラ更新ソリューション")
    return a, b, leads


def test_the_list_answers_assignee_trigger_contact_and_sla(two_reps, api: Client) -> None:  # type: ignore[no-untyped-def]
    a, b, leads = two_reps
    services.handoff_accept(handoff=open_handoff(leads[0]), actor=a)
    # when
    response = api.get("/api/v1/handoffs", {"status": "open"})
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["pages"] == 1
    item = body["items"][0]
    assert item["assignee"]["name"] in ("青木 一郎", "石井 二郎")
    assert item["trigger"]["kind"] == "event" and item["trigger"]["action"] == "デモ申し込み"
    assert item["contact"]["company"].startswith("株式会社リード")
    assert item["created_at"] and item["sla_due_at"] and item["sla_state"] == "pending"
    assert item["status"] == "open" and item["first_touch_at"] is None
    # filters
    mine = api.get("/api/v1/handoffs", {"assignee": a.pk}).json()
    assert {i["assignee"]["id"] for i in mine["items"]} == {a.pk}
    assert api.get("/api/v1/handoffs", {"status": "accepted"}).json()["count"] == 1
    assert api.get("/api/v1/handoffs", {"status": "lost"}).status_code == 422
    # and listing personal data in bulk is logged
    assert DataAccessLog.objects.filter(resource="handoffs.api_list").exists()


def test_the_list_costs_the_same_queries_for_any_page_size(
    two_reps,  # type: ignore[no-untyped-def]
    api: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/handoffs").json()["count"] == 4


def test_a_rep_key_sees_only_that_reps_handoffs(two_reps) -> None:  # type: ignore[no-untyped-def]
    a, b, _leads = two_reps
    client = _client(a)
    listed = client.get("/api/v1/handoffs").json()
    assert listed["count"] == 2
    assert {i["assignee"]["id"] for i in listed["items"]} == {a.pk}
    own = listed["items"][0]["id"]
    other = Handoff.objects.filter(assignee=b).first()
    assert other is not None
    # then the other rep's handoff is simply not there
    assert client.get(f"/api/v1/handoffs/{own}").status_code == 200
    for response in (
        client.get(f"/api/v1/handoffs/{other.pk}"),
        client.post(
            f"/api/v1/handoffs/{other.pk}/reassign",
            {"assignee_id": a.pk, "reason": "引き取ります"},
            content_type="application/json",
        ),
        client.post(
            f"/api/v1/handoffs/{other.pk}/reject",
            {"reason": "not_fit"},
            content_type="application/json",
        ),
        client.get(f"/api/v1/contacts/{other.contact_id}/activities"),
    ):
        assert response.status_code == 404, response.content
    assert client.get("/api/v1/handoffs/999999").status_code == 404


def test_a_marketer_key_reads_but_cannot_change_handoffs(two_reps) -> None:  # type: ignore[no-untyped-def]
    marketer = rep_make("広報", role=roles.MARKETER)
    handoff = open_handoff(two_reps[2][0])
    # a key with the write scope, made before a marketer could not give it one
    token = key_beyond_role(user=marketer, scopes=_SCOPES)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    assert client.get("/api/v1/handoffs").json()["count"] == 4
    response = client.post(
        f"/api/v1/handoffs/{handoff.pk}/reject",
        {"reason": "not_fit"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_reassign_through_the_api(two_reps, api: Client) -> None:  # type: ignore[no-untyped-def]
    a, b, leads = two_reps
    handoff = open_handoff(leads[0])
    target = b if handoff.assignee == a else a
    gone = rep_make("退職", active=False)
    url = f"/api/v1/handoffs/{handoff.pk}/reassign"
    # an inactive user is refused, naming the field
    response = api.post(
        url, {"assignee_id": gone.pk, "reason": "休暇"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "assignee_id"]
    # a good one moves it
    response = api.post(
        url, {"assignee_id": target.pk, "reason": "担当替え"}, content_type="application/json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["assignee"]["id"] == target.pk
    assert body["assignments"][-1]["reason"] == "担当替え"
    assert "【顧客情報】" in body["alert"]["text"]


def test_reject_through_the_api_recycles_into_a_sequence(two_reps, api: Client) -> None:  # type: ignore[no-untyped-def]
    handoff = open_handoff(two_reps[2][1])
    nurture = sequence_make()
    url = f"/api/v1/handoffs/{handoff.pk}/reject"
    payload = {
        "reason": "bad_timing",
        "note": "半年後に再連絡",
        "outcome": "recycled",
        "sequence_id": nurture.pk,
    }
    response = api.post(url, payload, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["outcome"], body["reject_reason"]) == (
        "rejected",
        "recycled",
        "bad_timing",
    )
    assert api.post(url, payload, content_type="application/json").status_code == 409
    unknown = {**payload, "sequence_id": 999999}
    other = open_handoff(two_reps[2][2])
    response = api.post(
        f"/api/v1/handoffs/{other.pk}/reject", unknown, content_type="application/json"
    )
    assert response.status_code == 422


def test_activities_through_the_api_record_the_first_touch(two_reps) -> None:  # type: ignore[no-untyped-def]
    a, _b, leads = two_reps
    handoff = next(open_handoff(lead) for lead in leads if open_handoff(lead).assignee == a)
    client = _client(a)
    url = f"/api/v1/contacts/{handoff.contact_id}/activities"
    response = client.post(
        url,
        {"kind": "call", "subject": "初回架電", "body": "デモ日程を調整"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["handoff_id"] == handoff.pk
    listed = client.get(url).json()
    assert [(i["kind"], i["user"]["id"]) for i in listed] == [("call", a.pk)]
    handoff.refresh_from_db()
    assert handoff.first_touch_at is not None and handoff.sla_state == "met"
    bad = client.post(url, {"kind": "fax"}, content_type="application/json")
    assert bad.status_code == 422
