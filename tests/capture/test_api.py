"""/api/v1/forms: create, read, change, publish, submissions; scopes and the one error shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from sokyaku.core.services import apikey_create
from tests.capture.conftest import PURPOSE_BODY, answers

pytestmark = pytest.mark.django_db

URL = "/api/v1/forms"

NEW_FORM: dict[str, Any] = {
    "name": "資料請求",
    "slug": "api-form",
    "title": "資料請求フォーム",
    "fields": [
        {"type": "name", "label": "お名前", "required": True},
        {"type": "email", "label": "メールアドレス", "required": True},
        {"type": "select", "label": "従業員数", "key": "size", "options": ["1-99", "100+"]},
    ],
    "consents": [{"topic": "newsletter", "label": "メルマガを受け取る"}],
    "allowed_origins": ["https://www.example.co.jp"],
}


def test_create_publish_blocked_without_purpose_text_then_with_it(api, topics):
    # when a form is created without a purpose-of-use text
    created = api.post(URL, NEW_FORM, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    assert body["is_published"] is False and body["purpose_text"] is None
    assert [f["key"] for f in body["fields"]] == ["name", "email", "size"]
    assert body["consents"] == [
        {"topic": "newsletter", "label": "メルマガを受け取る", "required": False}
    ]
    assert body["url"].endswith("/f/api-form")
    assert 'data-sokyaku-form="api-form"' in body["embed_code"]
    form_id = body["id"]
    # then publishing is refused, naming the missing text
    refused = api.post(f"{URL}/{form_id}/publish")
    assert refused.status_code == 422
    assert ["body", "purpose_key"] in [item["loc"] for item in refused.json()["detail"]]
    # when the text is added, publishing works and the form is live
    patched = api.patch(
        f"{URL}/{form_id}", {"purpose_body": PURPOSE_BODY}, content_type="application/json"
    )
    assert patched.json()["purpose_text"]["version"] == 1
    published = api.post(f"{URL}/{form_id}/publish")
    assert published.status_code == 200
    assert published.json()["is_published"] is True
    assert api.get("/f/api-form").status_code == 200


def test_read_list_and_submissions(api, form, submit):
    submit("whitepaper", answers())
    listed = api.get(URL)
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["items"][0]["purpose_text"]["sha256"]
    one = api.get(f"{URL}/{form.pk}").json()
    assert one["slug"] == "whitepaper"
    submissions = api.get(f"{URL}/{form.pk}/submissions").json()
    assert submissions["count"] == 1
    item = submissions["items"][0]
    assert item["data"]["email"] == "taro.yamada@example.co.jp"
    assert item["purpose_text_version"] == 1


def test_bad_input_answers_422_in_the_one_shape(api, topics):
    bad = {**NEW_FORM, "fields": [{"type": "email", "label": ""}]}
    response = api.post(URL, bad, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "fields", "0", "label"]
    wrong_topic = {**NEW_FORM, "consents": [{"topic": "nope"}]}
    unknown = api.post(URL, wrong_topic, content_type="application/json")
    assert unknown.status_code == 422
    assert api.get(f"{URL}/999999").status_code == 404
    assert api.get(f"{URL}/999999").json() == {"detail": "No form with id 999999."}


def _client(*scopes: str) -> Client:
    token = apikey_create(name="scoped", scopes=list(scopes), system=True).token
    return Client(headers={"Authorization": f"Bearer {token}"})


def test_scopes_are_checked(form):
    reader = _client("forms:read")
    assert reader.get(URL).status_code == 200
    denied = reader.post(f"{URL}/{form.pk}/unpublish")
    assert denied.status_code == 403
    assert "forms:write" in denied.json()["detail"]
    assert _client("contacts:read").get(URL).status_code == 403
    assert Client().get(URL).status_code == 401


def test_unpublish_takes_the_form_off_line(api, form):
    assert api.post(f"{URL}/{form.pk}/unpublish").json()["is_published"] is False
    assert api.get("/f/whitepaper").status_code == 404
