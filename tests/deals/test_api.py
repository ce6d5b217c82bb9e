"""The deals API: pipelines, deals (create, read, edit, move, win, lose), the forecast, and
accepting a handoff with BANT; a rep's key reaches only that rep's deals."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from sokyaku.core import apiscopes
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from sokyaku.deals.models import Deal
from tests.deals.factories import contact_make, deal_make, handoff_make, pipeline, stage, user_make

pytestmark = pytest.mark.django_db


def _client(user: User | None = None, scopes: list[str] | None = None) -> Client:
    if user is None:
        token = core_services.apikey_create(
            name="deals", scopes=scopes or list(ApiScope.values), system=True
        ).token
    else:
        allowed = [scope.value for scope in apiscopes.scopes_allowed(user)]
        token = core_services.apikey_create(
            name="deals", scopes=scopes or allowed, created_by=user
        ).token
    return Client(headers={"Authorization": f"Bearer {token}"})


def _post(client: Client, path: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1{path}", body, content_type="application/json")


def test_pipelines_list_stages_with_probability_and_kind(api: Client) -> None:
    response = api.get("/api/v1/pipelines")

    assert response.status_code == 200
    (default,) = response.json()
    assert default["name"] == "営業パイプライン"
    assert [(s["name"], s["probability"], s["kind"]) for s in default["stages"]] == [
        ("商談開始", 10, "open"),
        ("提案", 30, "open"),
        ("交渉", 60, "open"),
        ("受注", 100, "won"),
        ("失注", 0, "lost"),
    ]


def test_create_read_and_list_deals(api: Client) -> None:
    contact = contact_make(company_name="株式会社サンプル")

    created = _post(
        api,
        "/deals",
        {
            "name": "MA導入",
            "contact_id": contact.pk,
            "expected_close": "2026-12-20",
            "lines": [{"name": "ライセンス", "quantity": 10, "unit_price": 120_000}],
        },
    )

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["amount"], body["stage_name"], body["version"]) == (1_200_000, "商談開始", 1)
    assert body["company_id"] == contact.company_id
    assert body["weighted_amount"] == 120_000
    assert api.get(f"/api/v1/deals/{body['id']}").json()["lines"][0]["total"] == 1_200_000
    listed = api.get("/api/v1/deals?status=open").json()
    assert (listed["count"], listed["items"][0]["id"]) == (1, body["id"])
    assert api.get("/api/v1/deals?status=won").json()["count"] == 0


def test_create_refuses_bad_input_with_its_location(api: Client) -> None:
    response = _post(api, "/deals", {"name": "MA導入", "contact_id": 999_999})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "contact_id"]
    assert not Deal.objects.exists()


def test_move_with_a_stale_version_answers_409_and_keeps_the_newer_move(api: Client) -> None:
    deal = deal_make()
    first = _post(api, f"/deals/{deal.pk}/move", {"stage_id": stage("交渉").pk, "version": 1})

    stale = _post(api, f"/deals/{deal.pk}/move", {"stage_id": stage("提案").pk, "version": 1})

    assert first.status_code == 200
    assert first.json()["version"] == 2
    assert stale.status_code == 409
    assert "交渉" in stale.json()["detail"]
    assert api.get(f"/api/v1/deals/{deal.pk}").json()["stage_name"] == "交渉"


def test_won_without_amount_answers_422_on_amount(api: Client) -> None:
    deal = deal_make(amount=None)

    response = _post(api, f"/deals/{deal.pk}/move", {"stage_id": stage("受注").pk, "version": 1})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "amount"]


def test_patch_win_and_lose(api: Client) -> None:
    deal = deal_make(amount=None)

    patched = api.patch(
        f"/api/v1/deals/{deal.pk}",
        {"amount": 900_000, "version": 1},
        content_type="application/json",
    )
    won = _post(api, f"/deals/{deal.pk}/win", {"version": 2})
    other = deal_make()
    lost = _post(api, f"/deals/{other.pk}/lose", {"reason": "competitor", "note": "他社"})
    no_reason = _post(api, f"/deals/{deal_make().pk}/lose", {"note": "?"})

    assert patched.status_code == 200
    assert won.status_code == 200
    assert (won.json()["status"], won.json()["amount"]) == ("won", 900_000)
    assert (lost.json()["status"], lost.json()["lost_reason"]) == ("lost", "competitor")
    assert no_reason.status_code == 422


def test_forecast(api: Client) -> None:
    rep = user_make()
    deal_make(owner=rep, amount=1_000_000, stage_name="提案", expected_close=None)
    deal = deal_make(owner=rep, amount=1_000_000, stage_name="交渉")
    api.patch(
        f"/api/v1/deals/{deal.pk}",
        {"expected_close": "2027-02-10", "version": 1},
        content_type="application/json",
    )

    response = api.get("/api/v1/forecast?from=2027-01&months=3")

    assert response.status_code == 200
    body = response.json()
    assert body["months"] == ["2027-01", "2027-02", "2027-03"]
    assert body["weighted"] == [0, 600_000, 0]
    assert body["rows"][0]["owner_id"] == rep.pk
    assert api.get("/api/v1/forecast?from=2027-13").status_code == 422


def test_accept_a_handoff_with_bant_creates_the_deal(api: Client) -> None:
    rep = user_make()
    contact = contact_make(stage="mql", company_name="株式会社サンプル", owner=rep)
    handoff = handoff_make(contact=contact, assignee=rep)

    response = _post(
        api,
        f"/handoffs/{handoff.pk}/accept",
        {
            "bant": {
                "budget_amount_jpy": 3_000_000,
                "authority": "decision_maker",
                "need": "営業との連携",
                "timeline_band": "3m",
            },
            "deal": {"amount": 2_000_000},
        },
    )
    again = _post(api, f"/handoffs/{handoff.pk}/accept", {"bant": {}})

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["owner_id"], body["handoff_id"]) == (
        "株式会社サンプル — デモ申し込み",
        rep.pk,
        handoff.pk,
    )
    assert body["bant_id"] is not None
    assert again.status_code == 409


def test_accept_reports_bant_errors_under_bant(api: Client) -> None:
    rep = user_make()
    handoff = handoff_make(contact=contact_make(stage="mql"), assignee=rep)

    response = _post(
        api,
        f"/handoffs/{handoff.pk}/accept",
        {"bant": {"timeline_date": "2000-01-01"}, "deal": {}},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "bant", "timeline_date"]


def test_scopes_are_required() -> None:
    client = _client(scopes=[ApiScope.DEALS_READ])

    assert client.get("/api/v1/deals").status_code == 200
    assert _post(client, "/deals", {"name": "MA導入"}).status_code == 403


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/deals/{id}", None),
        ("patch", "/deals/{id}", {"name": "乗っ取り", "version": 1}),
        ("post", "/deals/{id}/move", {"stage_id": "{stage}", "version": 1}),
        ("post", "/deals/{id}/win", {}),
        ("post", "/deals/{id}/lose", {"reason": "price"}),
    ],
)
def test_a_rep_cannot_reach_another_reps_deal(
    method: str, path: str, body: dict[str, Any] | None
) -> None:
    rep, other_rep = user_make(), user_make()
    theirs = deal_make(owner=other_rep, name="他の担当の商談")
    client = _client(rep)
    if body and body.get("stage_id") == "{stage}":
        body = {**body, "stage_id": stage("提案").pk}

    url = "/api/v1" + path.format(id=theirs.pk)
    if method == "get":
        response = client.get(url)
    else:
        response = getattr(client, method)(url, body, content_type="application/json")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.version, theirs.status) == ("他の担当の商談", 1, "open")


def test_a_rep_cannot_accept_another_reps_handoff() -> None:
    rep, other_rep = user_make(), user_make()
    handoff = handoff_make(contact=contact_make(stage="mql", owner=other_rep), assignee=other_rep)

    response = _post(_client(rep), f"/handoffs/{handoff.pk}/accept", {"bant": {}})

    assert response.status_code == 404
    assert not Deal.objects.exists()


def test_a_rep_lists_only_their_own_deals() -> None:
    rep, other_rep = user_make(), user_make()
    own = deal_make(owner=rep)
    deal_make(owner=other_rep)
    client = _client(rep)

    listed = client.get("/api/v1/deals").json()
    other_owner = client.get(f"/api/v1/deals?owner={other_rep.pk}").json()

    assert [item["id"] for item in listed["items"]] == [own.pk]
    assert other_owner["count"] == 0
    assert pipeline().deals.count() == 2


def test_the_deal_list_costs_the_same_queries_for_any_number_of_deals(
    api: Client,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(5):
        deal_make(owner=user_make())
    api.get("/api/v1/deals")  # the key's first use records its last-use time

    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/deals?page_size=50")

    assert response.json()["count"] == 5
