"""The lifecycle API: shapes, moves, BANT, errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from sokyaku.core import clock
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from sokyaku.lifecycle import services
from tests.lifecycle.factories import contact_make, in_months

pytestmark = pytest.mark.django_db


def test_get_lifecycle_answers_stage_and_history(api: Client) -> None:
    # given a lead that became an MQL through a rule-less system move
    contact = contact_make()
    services.stage_change(contact=contact, to_stage="mql", source="system", reason="手動")
    # when its lifecycle is read
    response = api.get(f"/api/v1/contacts/{contact.pk}/lifecycle")
    # then it has the stage, since when, and the history oldest first
    assert response.status_code == 200
    body = response.json()
    assert body["stage"] == "mql"
    assert body["entered_at"]
    assert [(h["from"], h["to"], h["source"]) for h in body["history"]] == [
        ("", "lead", "system"),
        ("lead", "mql", "system"),
    ]
    assert set(body["history"][1]) == {
        "from", "to", "changed_at", "source", "actor", "rule", "reason",
    }  # fmt: skip


def test_post_lifecycle_moves_the_contact(api: Client) -> None:
    contact = contact_make()
    response = api.post(
        f"/api/v1/contacts/{contact.pk}/lifecycle",
        {"stage": "disqualified", "reason": "学生"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["stage"] == "disqualified"
    assert response.json()["history"][-1]["source"] == "api"


def test_post_lifecycle_without_a_reason_for_recycle_is_422(api: Client) -> None:
    contact = contact_make()
    response = api.post(
        f"/api/v1/contacts/{contact.pk}/lifecycle",
        {"stage": "recycled"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "reason"]


def test_an_unknown_contact_is_404(api: Client) -> None:
    assert api.get("/api/v1/contacts/999999/lifecycle").status_code == 404
    assert api.get("/api/v1/contacts/999999/bant").status_code == 404


def test_bant_round_trip_makes_an_sql(api: Client) -> None:
    # given a lead with no BANT yet
    contact = contact_make()
    assert api.get(f"/api/v1/contacts/{contact.pk}/bant").json() == {"bant": None}
    # when a complete entry is posted
    response = api.post(
        f"/api/v1/contacts/{contact.pk}/bant",
        {
            "budget_band": "1m-5m",
            "authority": "decision_maker",
            "need": "名刺管理の一元化",
            "need_tags": ["名刺"],
            "timeline_band": "3m",
        },
        content_type="application/json",
    )
    # then it is stored, and the contact became an SQL
    assert response.status_code == 201
    assert response.json()["stage"] == "sql"
    latest = api.get(f"/api/v1/contacts/{contact.pk}/bant").json()["bant"]
    assert latest["budget_band"] == "1m-5m"
    assert latest["need_tags"] == ["名刺"]


def test_bant_with_a_past_timeline_is_422_with_the_field(api: Client) -> None:
    contact = contact_make()
    past = (clock.local_now().date() - timedelta(days=3)).isoformat()
    response = api.post(
        f"/api/v1/contacts/{contact.pk}/bant",
        {"timeline_date": past, "need": "x"},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "timeline_date"]


def test_bant_with_a_negative_budget_is_422(api: Client) -> None:
    contact = contact_make()
    response = api.post(
        f"/api/v1/contacts/{contact.pk}/bant",
        {"budget_amount_jpy": -5, "timeline_date": in_months(2).isoformat()},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "budget_amount_jpy" in response.json()["detail"][0]["loc"]


def test_a_read_only_key_cannot_move_stages() -> None:
    token = core_services.apikey_create(
        name="ro", scopes=[ApiScope.CONTACTS_READ], system=True
    ).token
    client = Client(headers={"Authorization": f"Bearer {token}"})
    contact = contact_make()
    response = client.post(
        f"/api/v1/contacts/{contact.pk}/lifecycle",
        {"stage": "mql"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/contacts/{contact.pk}/lifecycle").status_code == 200
