"""POST /api/v1/events: one event or a batch, all or nothing, safe to retry."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.test import Client
from pytest_django import Settings

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from tests.api.calls import JSON, post_json
from tests.api.factories import make_contacts

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


def _view(**fields: object) -> dict[str, object]:
    return {"type": "page_view", "properties": {"url": "https://example.co.jp/"}, **fields}


def test_one_event_is_stored(api: Client) -> None:
    # given a contact
    (contact,) = make_contacts(1)
    before = Event.objects.count()
    # when one event object is sent
    response = post_json(api, URL, _view(contact_id=contact.pk))
    # then it is stored for that contact
    assert response.status_code == 200
    assert response.json() == {"stored": 1}
    assert Event.objects.count() == before + 1
    assert Event.objects.latest("id").contact_id == contact.pk


def test_a_batch_is_stored_and_a_new_email_creates_the_contact(api: Client) -> None:
    # when a batch names a person by an email nobody has yet
    batch = [
        {
            "type": "asset_downloaded",
            "email": "ＨＡＮＡＫＯ＠ＥＸＡＭＰＬＥ．ＪＰ",
            "properties": {"asset": "導入ガイド.pdf"},
        },
        {
            "type": "webinar_attended",
            "email": "hanako@example.jp",
            "properties": {"webinar": "6月ウェビナー", "minutes": 45},
        },
        _view(visitor_id="v-1"),
    ]
    response = post_json(api, URL, batch)
    # then all three are stored, and the two spellings of the email are one new contact
    assert response.json() == {"stored": 3}
    contact = Contact.objects.get()
    assert contact.email == "hanako@example.jp"
    assert set(contact.events.values_list("type", flat=True)) == {
        EventType.CONTACT_CREATED,
        EventType.ASSET_DOWNLOADED,
        EventType.WEBINAR_ATTENDED,
    }


def test_an_unknown_field_rejects_the_whole_batch_and_stores_nothing(api: Client) -> None:
    # given a batch whose first items would create a contact, and whose third item has a typo
    batch = [
        _view(email="taro@example.co.jp"),
        _view(visitor_id="v-1"),
        _view(visitor_id="v-2", propertees={"url": "https://example.co.jp/"}),
    ]
    # when it is sent
    response = post_json(api, URL, batch)
    # then the batch is refused with the bad item's index, and nothing at all is stored
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", 2, "propertees"],
            "msg": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        }
    ]
    assert (Event.objects.count(), Contact.objects.count()) == (0, 0)


def test_a_bad_item_after_a_new_email_leaves_no_contact_behind(api: Client) -> None:
    # given a batch whose first item creates a contact by email and whose second item lacks
    # the property its type needs
    batch = [_view(email="taro@example.co.jp"), {"type": "page_view", "visitor_id": "v-1"}]
    # when it is sent
    response = post_json(api, URL, batch)
    # then the batch is refused at item 1, and the contact item 0 created is gone too
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["body", 1, "properties", "url"]
    ]
    assert (Event.objects.count(), Contact.objects.count()) == (0, 0)


def test_every_malformed_item_is_reported(api: Client) -> None:
    batch = [
        _view(visitor_id="v"),
        {"type": "teleported", "visitor_id": "v"},
        _view(),
        _view(contact_id=0),
    ]
    response = post_json(api, URL, batch)
    assert response.status_code == 422
    assert [error["loc"][:2] for error in response.json()["detail"]] == [["body", 1], ["body", 3]]


def test_an_event_of_nobody_or_of_an_unknown_contact_is_422(api: Client) -> None:
    batch = [_view(), _view(contact_id=987654)]
    response = post_json(api, URL, batch)
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["body", 0, "contact_id"],
        ["body", 1, "contact_id"],
    ]


def test_an_invalid_email_is_422_at_the_item(api: Client) -> None:
    response = post_json(api, URL, [_view(visitor_id="v"), _view(email="taro@")])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 1, "email"]
    assert Event.objects.count() == 0


def test_1000_events_are_accepted(api: Client) -> None:
    # when the largest batch allowed is sent
    response = post_json(api, URL, [_view(visitor_id=f"v-{n}") for n in range(1000)])
    # then all of it is stored
    assert response.json() == {"stored": 1000}


def test_1001_events_are_422_and_nothing_is_stored(api: Client) -> None:
    response = post_json(api, URL, [_view(visitor_id="v") for _ in range(1001)])
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body"], "msg": "At most 1000 events per request; got 1001.", "type": "too_long"}
    ]
    assert Event.objects.count() == 0


@pytest.mark.parametrize("body", ["[]", "null", '"page_view"', "[1]", '{"type": "page_view"'])
def test_a_body_that_is_not_events_is_422(api: Client, body: str) -> None:
    response = api.post(URL, body, content_type=JSON)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


def test_an_empty_body_is_422(api: Client) -> None:
    response = api.post(URL, "", content_type=JSON)
    assert response.status_code == 422


def test_a_form_body_is_415(api: Client) -> None:
    response = api.post(URL, "type=page_view", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_a_body_over_the_size_limit_is_413(api: Client, settings: Settings) -> None:
    settings.API_MAX_BODY_BYTES = 10_000
    response = post_json(api, URL, [_view(visitor_id=f"v-{n}") for n in range(200)])
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large (limit 10000 bytes)."}
    assert Event.objects.count() == 0


@pytest.mark.parametrize(
    "properties",
    [
        {"url": "https://example.co.jp/", "title": "a\x00b"},
        {"url": "https://example.co.jp/", "a\x00": 1},
        {"url": "https://example.co.jp/", "nested": [{"deep": "\x00"}]},
    ],
)
def test_nul_characters_anywhere_are_422(api: Client, properties: dict[str, object]) -> None:
    # when an event carries a NUL character (PostgreSQL refuses it in JSON)
    response = post_json(
        api, URL, {"type": "page_view", "visitor_id": "v", "properties": properties}
    )
    # then it is a validation error, not a server error
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "properties"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_numbers_json_cannot_hold_are_422(api: Client, number: str) -> None:
    body = '{"type": "purchase", "visitor_id": "v", "properties": {"amount_jpy": NUMBER}}'
    body = body.replace("NUMBER", number)
    response = api.post(URL, body, content_type=JSON)
    assert response.status_code == 422


def test_nesting_deeper_than_the_limit_is_422(api: Client) -> None:
    deep: object = "x"
    for _ in range(40):
        deep = {"a": deep}
    response = post_json(api, URL, _view(visitor_id="v", properties={"url": "u", "deep": deep}))
    assert response.status_code == 422


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+09:00", "9999-12-31T23:59:59-05:00"])
def test_a_time_without_a_utc_equivalent_is_422(api: Client, when: str) -> None:
    response = post_json(api, URL, _view(visitor_id="v", occurred_at=when))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "occurred_at"]


def test_a_time_without_a_zone_is_tokyo_time(api: Client) -> None:
    post_json(api, URL, _view(visitor_id="v", occurred_at="2025-06-02T09:00:00"))
    assert Event.objects.get().occurred_at == datetime(2025, 6, 2, 9, tzinfo=clock.TOKYO)


def test_a_retried_batch_is_stored_once(api: Client) -> None:
    # given a batch whose events carry idempotency keys
    batch = [
        _view(visitor_id="v-1", idempotency_key="crm-0001"),
        _view(visitor_id="v-1", idempotency_key="crm-0002"),
    ]
    # when it is sent, and sent again (the client never saw the first answer)
    first = post_json(api, URL, batch)
    second = post_json(api, URL, batch)
    # then the events are stored once, and the retry says it stored nothing
    assert (first.json(), second.json()) == ({"stored": 2}, {"stored": 0})
    assert Event.objects.count() == 2


def test_a_key_repeated_inside_one_batch_is_stored_once(api: Client) -> None:
    batch = [
        _view(visitor_id="v-1", idempotency_key="k"),
        _view(visitor_id="v-1", idempotency_key="k"),
    ]
    assert post_json(api, URL, batch).json() == {"stored": 1}


@pytest.mark.parametrize("kind", ["contact_created", "contact_updated", "contact_merged"])
def test_events_sokyaku_records_itself_cannot_be_sent(api: Client, kind: str) -> None:
    (contact,) = make_contacts(1)
    system_event = {"type": kind, "contact_id": contact.pk, "properties": {"merge_id": 1}}
    response = post_json(api, URL, [_view(contact_id=contact.pk), system_event])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", 1, "type"]


def test_an_event_naming_email_and_browser_identifies_the_browser(api: Client) -> None:
    # given anonymous views from one browser
    post_json(api, URL, [_view(visitor_id="v-77"), _view(visitor_id="v-77")])
    # when an event names that browser and a person
    response = post_json(
        api, URL, {"type": "inquiry", "email": "new@example.co.jp", "visitor_id": "v-77"}
    )
    # then the earlier views are the person's
    contact = Contact.objects.get(email="new@example.co.jp")
    assert response.status_code == 200
    assert Event.objects.filter(visitor_id="v-77", contact=contact).count() == 3


def test_a_batch_about_many_contacts_costs_a_fixed_number_of_queries(
    api: Client, django_assert_max_num_queries
) -> None:
    contacts = make_contacts(20)
    batch = [_view(contact_id=c.pk) for c in contacts] + [
        _view(email=c.email) for c in contacts if c.email
    ]
    with django_assert_max_num_queries(15):
        response = post_json(api, URL, batch)
    assert response.json() == {"stored": len(batch)}
