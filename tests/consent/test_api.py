"""GET/POST /api/v1/contacts/{id}/consents."""

from __future__ import annotations

import pytest
from django.test import Client

from sokyaku.consent import services
from sokyaku.consent.models import ConsentRecord, ConsentTopic
from sokyaku.contacts.services import ContactInput, contact_upsert
from tests.api.calls import post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact_id() -> int:
    ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    ConsentTopic.objects.create(key="seminars", name="セミナー案内")
    return contact_upsert(data=ContactInput(email="api-consent@example.jp")).contact.pk


def test_recorded_consents_are_listed_with_the_derived_state(api: Client, contact_id: int):
    services.purpose_text_publish(key="crm", title="利用目的", body="お知らせの送付に利用します。")
    # given an opt-in recorded through the API with the text shown
    created = post_json(
        api,
        f"/api/v1/contacts/{contact_id}/consents",
        {"topic": "newsletter", "status": "granted", "legal_basis": "opt_in",
         "purpose_text": "crm", "ip": "198.51.100.4", "user_agent": "CRM/1.0"},
    )  # fmt: skip
    assert created.status_code == 201
    # when the ledger is read
    response = api.get(f"/api/v1/contacts/{contact_id}/consents")
    # then the record and the state per topic are there
    body = response.json()
    assert response.status_code == 200
    assert body["records"][0]["topic"] == "newsletter"
    assert body["records"][0]["text_version"] == 1
    assert body["records"][0]["ip"] == "198.51.100.4"
    states = {s["topic"]: s["granted"] for s in body["state"]}
    assert states == {"newsletter": True, "seminars": False}


def test_an_opt_out_of_everything_through_the_api(api: Client, contact_id: int):
    card = {"topic": "newsletter", "status": "granted", "legal_basis": "business_card"}
    post_json(api, f"/api/v1/contacts/{contact_id}/consents", card)
    response = post_json(
        api, f"/api/v1/contacts/{contact_id}/consents", {"topic": "*", "status": "withdrawn"}
    )
    assert response.status_code == 201
    body = api.get(f"/api/v1/contacts/{contact_id}/consents").json()
    assert [s["granted"] for s in body["state"]] == [False, False]


@pytest.mark.parametrize(
    "payload",
    [
        {"topic": "nope", "status": "granted", "legal_basis": "opt_in"},
        {"topic": "newsletter", "status": "granted"},
        {"topic": "*", "status": "granted", "legal_basis": "opt_in"},
        {"topic": "newsletter", "status": "pending", "legal_basis": "opt_in"},
        {"topic": "newsletter", "status": "granted", "legal_basis": "opt_in", "ip": "999.1.1.1"},
        {"topic": "newsletter", "status": "granted", "legal_basis": "opt_in", "extra": 1},
    ],
)
def test_bad_consents_are_422_and_nothing_is_recorded(api: Client, contact_id: int, payload):
    response = post_json(api, f"/api/v1/contacts/{contact_id}/consents", payload)
    assert response.status_code == 422
    assert "detail" in response.json()
    assert ConsentRecord.objects.count() == 0


def test_unknown_contact_is_404(api: Client, contact_id: int):
    assert api.get("/api/v1/contacts/999999/consents").status_code == 404
