"""The OpenAPI document: served where the docs say, complete about errors, one error shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

OPENAPI_URL = "/api/v1/openapi.json"

# Every operation and the error statuses it can answer; each also answers 429 (its API key's rate
# limit).
EXPECTED_ERRORS = {
    ("post", "/api/v1/contacts"): {401, 403, 409, 413, 415, 422},
    ("get", "/api/v1/contacts"): {401, 403, 422},
    ("get", "/api/v1/contacts/{contact_id}"): {401, 403, 404, 422},
    ("patch", "/api/v1/contacts/{contact_id}"): {401, 403, 404, 409, 413, 415, 422},
    ("get", "/api/v1/contacts/{contact_id}/timeline"): {401, 403, 404, 422},
    ("post", "/api/v1/contacts/{contact_id}/erasure"): {401, 403, 404, 413, 415, 422},
    ("post", "/api/v1/events"): {401, 403, 413, 415, 422},
    ("get", "/api/v1/contacts/{contact_id}/consents"): {401, 403, 404, 422},
    ("post", "/api/v1/contacts/{contact_id}/consents"): {401, 403, 404, 413, 415, 422},
    ("get", "/api/v1/costs"): {401, 403, 422},
    ("post", "/api/v1/costs"): {401, 403, 413, 415, 422},
    ("get", "/api/v1/forms"): {401, 403, 422},
    ("post", "/api/v1/forms"): {401, 403, 413, 415, 422},
    ("get", "/api/v1/forms/{form_id}"): {401, 403, 404, 422},
    ("patch", "/api/v1/forms/{form_id}"): {401, 403, 404, 413, 415, 422},
    ("post", "/api/v1/forms/{form_id}/publish"): {401, 403, 404, 422},
    ("post", "/api/v1/forms/{form_id}/unpublish"): {401, 403, 404, 422},
    ("get", "/api/v1/forms/{form_id}/submissions"): {401, 403, 404, 422},
    ("get", "/api/v1/contacts/{contact_id}/lifecycle"): {401, 403, 404, 422},
    ("post", "/api/v1/contacts/{contact_id}/lifecycle"): {401, 403, 404, 413, 415, 422},
    ("get", "/api/v1/contacts/{contact_id}/bant"): {401, 403, 404, 422},
    ("post", "/api/v1/contacts/{contact_id}/bant"): {401, 403, 404, 413, 415, 422},
    ("get", "/api/v1/sequences"): {401, 403},
    ("get", "/api/v1/sequences/{sequence_id}"): {401, 403, 404, 422},
    ("post", "/api/v1/sequences/{sequence_id}/enrollments"): {401, 403, 404, 409, 413, 415, 422},
    ("delete", "/api/v1/sequences/{sequence_id}/enrollments/{contact_id}"): {401, 403, 404, 422},
    ("get", "/api/v1/sequences/{sequence_id}/preview"): {401, 403, 404, 422},
    ("post", "/api/v1/messages/bounces"): {401, 403, 413, 422},
    ("get", "/api/v1/segments"): {401, 403, 422},
    ("get", "/api/v1/segments/{segment_id}/contacts"): {401, 403, 404, 422},
    ("get", "/api/v1/handoffs"): {401, 403, 422},
    ("get", "/api/v1/handoffs/{handoff_id}"): {401, 403, 404, 422},
    ("post", "/api/v1/handoffs/{handoff_id}/reassign"): {401, 403, 404, 413, 415, 422},
    ("post", "/api/v1/handoffs/{handoff_id}/reject"): {401, 403, 404, 409, 413, 415, 422},
    ("get", "/api/v1/contacts/{contact_id}/activities"): {401, 403, 404, 422},
    ("post", "/api/v1/contacts/{contact_id}/activities"): {401, 403, 404, 413, 415, 422},
    ("get", "/api/v1/pipelines"): {401, 403},
    ("get", "/api/v1/deals"): {401, 403, 422},
    ("post", "/api/v1/deals"): {401, 403, 413, 415, 422},
    ("get", "/api/v1/deals/{deal_id}"): {401, 403, 404, 422},
    ("patch", "/api/v1/deals/{deal_id}"): {401, 403, 404, 409, 413, 415, 422},
    ("post", "/api/v1/deals/{deal_id}/move"): {401, 403, 404, 409, 413, 415, 422},
    ("post", "/api/v1/deals/{deal_id}/win"): {401, 403, 404, 409, 413, 415, 422},
    ("post", "/api/v1/deals/{deal_id}/lose"): {401, 403, 404, 409, 413, 415, 422},
    ("get", "/api/v1/forecast"): {401, 403, 422},
    ("post", "/api/v1/handoffs/{handoff_id}/accept"): {401, 403, 404, 409, 413, 415, 422},
    ("post", "/api/v1/orders"): {401, 403, 404, 409, 413, 415, 422},
    ("get", "/api/v1/contacts/{contact_id}/orders"): {401, 403, 404, 422},
    ("post", "/api/v1/contacts/{contact_id}/referral-code"): {401, 403, 404, 422},
    ("post", "/api/v1/referrals"): {401, 403, 404, 409, 413, 415, 422},
    ("get", "/api/v1/analytics/kpis"): {401, 403, 422},
    ("get", "/api/v1/analytics/channels"): {401, 403, 422},
    ("get", "/api/v1/analytics/funnel"): {401, 403, 422},
    ("get", "/api/v1/analytics/sequences"): {401, 403, 422},
    ("get", "/api/v1/analytics/handoffs"): {401, 403, 422},
    ("get", "/api/v1/analytics/forecast"): {401, 403, 422},
    ("get", "/api/v1/analytics/attribution"): {401, 403, 422},
    ("post", "/api/v1/referrals/{referral_id}/reward"): {401, 403, 404, 409, 413, 415, 422},
    ("get", "/api/v1/webhooks/event-types"): {401, 403},
    ("get", "/api/v1/webhooks"): {401, 403},
    ("post", "/api/v1/webhooks"): {401, 403, 413, 415, 422},
    ("get", "/api/v1/webhooks/{webhook_id}"): {401, 403, 404, 422},
    ("patch", "/api/v1/webhooks/{webhook_id}"): {401, 403, 404, 413, 415, 422},
    ("delete", "/api/v1/webhooks/{webhook_id}"): {401, 403, 404, 422},
    ("post", "/api/v1/webhooks/{webhook_id}/rotate-secret"): {401, 403, 404, 422},
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries"): {401, 403, 404, 422},
    ("get", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}"): {401, 403, 404, 422},
    ("post", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/replay"): {
        401,
        403,
        404,
        409,
        422,
    },  # fmt: skip
    ("post", "/api/v1/webhooks/{webhook_id}/replay"): {401, 403, 404, 409, 413, 415, 422},
    ("get", "/api/v1/contacts/{contact_id}/export"): {401, 403, 404, 422},
}


@pytest.fixture
def document() -> dict[str, Any]:
    response = Client().get(OPENAPI_URL)
    assert response.status_code == 200
    return response.json()


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def test_the_document_is_served_at_the_documented_url() -> None:
    # when the documented URL is fetched
    response = Client().get(OPENAPI_URL)
    # then it is an OpenAPI 3.1 JSON document of this API
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["openapi"].startswith("3.1")
    assert response.json()["info"]["title"] == "sokyaku API"


def test_it_lists_every_operation(document: dict[str, Any]) -> None:
    assert set(_operations(document)) == set(EXPECTED_ERRORS)


def test_every_operation_declares_its_errors(document: dict[str, Any]) -> None:
    declared = {
        key: {int(status) for status in operation["responses"] if int(status) >= 400}
        for key, operation in _operations(document).items()
    }
    assert declared == {key: errors | {429} for key, errors in EXPECTED_ERRORS.items()}


def test_every_error_has_the_one_shape(document: dict[str, Any]) -> None:
    # given the schemas every error response refers to
    refs = {
        response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for operation in _operations(document).values()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }
    schemas = document["components"]["schemas"]
    # then each is an object whose one required property is `detail`
    assert refs == {"Error", "ValidationErrorOut"}
    assert {name: schemas[name]["required"] for name in refs} == {
        "Error": ["detail"],
        "ValidationErrorOut": ["detail"],
    }
    assert all(set(schemas[name]["properties"]) == {"detail"} for name in refs)


def test_every_error_response_is_described(document: dict[str, Any]) -> None:
    descriptions = {
        (key, status): response["description"]
        for key, operation in _operations(document).items()
        for status, response in operation["responses"].items()
        if int(status) >= 400
    }
    assert all(len(text) > 15 for text in descriptions.values())


def test_every_operation_needs_a_bearer_key(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
    assert all(
        op["security"] == [{name: []} for name in schemes] for op in _operations(document).values()
    )


def test_the_event_body_is_one_event_or_a_list_of_up_to_1000(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    single, batch = body["schema"]["oneOf"]
    assert single["additionalProperties"] is False
    assert (batch["type"], batch["minItems"], batch["maxItems"]) == ("array", 1, 1000)
    assert set(body["examples"]) == {"page_view", "batch"}


def test_the_upsert_documents_visitor_id_and_links_to_the_contact(document: dict[str, Any]) -> None:
    upsert = document["paths"]["/api/v1/contacts"]["post"]
    body_ref = upsert["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = document["components"]["schemas"][body_ref.rsplit("/", 1)[-1]]
    assert "visitor_id" in body["properties"]
    assert body["properties"]["visitor_id"]["description"]
    assert set(upsert["responses"]["201"]["links"]) == {
        "GetContact",
        "UpdateContact",
        "GetTimeline",
        "AddNote",
    }


def _open_objects(schema: dict[str, Any], schemas: dict[str, Any], seen: set[str]) -> list[str]:
    """The names (or titles) of object schemas under ``schema`` that accept unknown properties."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _open_objects(schemas[name], schemas, seen)
    found: list[str] = []
    if schema.get("type") == "object" and "properties" in schema:
        if schema.get("additionalProperties") is not False:
            found.append(str(schema.get("title", "?")))
        for child in schema["properties"].values():
            found += _open_objects(child, schemas, seen)
    for key in ("oneOf", "anyOf", "allOf"):
        for child in schema.get(key, []):
            found += _open_objects(child, schemas, seen)
    if isinstance(schema.get("items"), dict):
        found += _open_objects(schema["items"], schemas, seen)
    return found


def test_every_request_body_refuses_unknown_fields(document: dict[str, Any]) -> None:
    # given every JSON body an operation takes, with the objects nested in it
    schemas = document["components"]["schemas"]
    open_bodies = {
        f"{method} {path}": names
        for (method, path), operation in _operations(document).items()
        for media, content in operation.get("requestBody", {}).get("content", {}).items()
        if media == "application/json"
        and (names := _open_objects(content["schema"], schemas, set()))
    }
    # then none of them takes a field it would silently drop (a `coupon` on an order): 422
    assert open_bodies == {}
