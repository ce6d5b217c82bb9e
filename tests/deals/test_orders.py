"""Purchases through the API (B2C): stored once per shop order id, a first purchase makes a
customer, and the repeat rate (リピート率) is computed from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.models import ApiScope
from sokyaku.deals import selectors_aftersale as selectors
from sokyaku.deals.models import Order
from sokyaku.deals.services import order_record
from sokyaku.lifecycle import selectors as lifecycle_selectors

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 11, 3, 0, tzinfo=UTC)  # a Monday, 12:00 in Tokyo


@pytest.fixture(autouse=True)
def frozen() -> Any:
    with clock.frozen(NOW):
        yield


def buyer(email: str = "hanako@example.jp", **data: Any) -> Contact:
    data.setdefault("family_name", "佐藤")
    data.setdefault("given_name", "花子")
    return contact_upsert(data=ContactInput(email=email, **data)).contact


def order_body(contact: Contact, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contact_id": contact.pk,
        "external_id": "EC-1001",
        "ordered_at": (NOW - timedelta(minutes=5)).isoformat(),
        "amount": 5480,
        "lines": [
            {"sku": "TEA-01", "name": "有機緑茶 100g", "quantity": 2, "unit_price": 1480},
            {"sku": "CUP-02", "name": "湯呑み", "quantity": 1, "unit_price": 2520},
        ],
    }
    body.update(overrides)
    return body


def post_order(api: Client, body: dict[str, Any]) -> Any:
    return api.post("/api/v1/orders", body, content_type="application/json")


def test_an_order_sent_twice_is_stored_once(api: Client) -> None:
    # given a contact
    contact = buyer()
    # when the shop sends the same order twice
    first = post_order(api, order_body(contact))
    again = post_order(api, order_body(contact))
    # then the first answer is 201, the second 200 with the same order
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["amount"] == 5480
    assert first.json()["lines"][0] == {
        "sku": "TEA-01",
        "name": "有機緑茶 100g",
        "quantity": 2,
        "unit_price": 1480,
    }
    # and one order and one purchase event exist
    assert Order.objects.count() == 1
    purchase = Event.objects.get(type=EventType.PURCHASE)
    assert (purchase.contact_id, purchase.properties["amount_jpy"]) == (contact.pk, 5480)
    assert purchase.properties["order"] == first.json()["id"]
    assert purchase.occurred_at == NOW - timedelta(minutes=5)


def test_the_same_order_id_with_another_amount_is_a_conflict(api: Client) -> None:
    # given a stored order
    contact = buyer()
    post_order(api, order_body(contact))
    # when the same id comes with another amount
    response = post_order(api, order_body(contact, amount=9999))
    # then it is refused and the stored order is unchanged
    assert response.status_code == 409
    assert "5480" in response.json()["detail"]
    assert list(Order.objects.values_list("amount", flat=True)) == [5480]


def test_the_first_purchase_makes_the_contact_a_customer(api: Client) -> None:
    # given a lead
    contact = buyer()
    assert lifecycle_selectors.stage_get(contact_id=contact.pk) == "lead"
    # when they buy
    post_order(api, order_body(contact))
    # then they are a customer, moved by the purchase
    assert lifecycle_selectors.stage_get(contact_id=contact.pk) == "customer"
    (move,) = [c for c in lifecycle_selectors.stage_history(contact_id=contact.pk)][-1:]
    assert (move.to_stage, move.source, move.reason) == ("customer", "api", "purchase")


def test_an_order_time_with_any_offset_is_stored_as_that_instant(api: Client) -> None:
    # given a shop that writes an unusual UTC offset (PostgreSQL takes offsets up to ±15:59)
    contact = buyer()
    # when it sends an order placed on 10 May at 13:00 UTC, written 18:16 behind UTC
    response = post_order(api, order_body(contact, ordered_at="2026-05-09T18:44:00-18:16"))
    # then it is stored, at that instant
    assert response.status_code == 201, response.content
    order = Order.objects.get(external_id="EC-1001")
    assert order.ordered_at == datetime(2026, 5, 10, 13, 0, tzinfo=UTC)


def test_an_unknown_email_becomes_a_new_buyer(api: Client) -> None:
    # when a first-time buyer's order names them by email only
    body = order_body(buyer(), external_id="EC-2001")
    del body["contact_id"]
    body["email"] = "new.buyer@example.jp"
    response = post_order(api, body)
    # then the contact is created and is a customer
    assert response.status_code == 201
    contact = Contact.objects.get(email="new.buyer@example.jp")
    assert response.json()["contact_id"] == contact.pk
    assert lifecycle_selectors.stage_get(contact_id=contact.pk) == "customer"


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"amount": -1}, ["body", "amount"]),
        ({"amount": 100.5}, ["body", "amount"]),
        ({"amount": "5480"}, ["body", "amount"]),
        ({"external_id": ""}, ["body", "external_id"]),
        ({"ordered_at": (NOW + timedelta(minutes=10)).isoformat()}, ["body", "ordered_at"]),
        ({"ordered_at": 1778468400}, ["body", "ordered_at"]),
        ({"ordered_at": "yesterday"}, ["body", "ordered_at"]),
        (
            {"lines": [{"sku": "X", "name": "X", "quantity": 0, "unit_price": 1}]},
            ["body", "lines", 0, "quantity"],
        ),
    ],
)
def test_bad_orders_are_refused_with_the_field_named(
    api: Client, change: dict[str, Any], location: list[Any]
) -> None:
    # when an order with one bad value is sent
    response = post_order(api, order_body(buyer(), **change))
    # then it is refused, naming the value, and nothing is stored
    assert response.status_code == 422
    assert location in [item["loc"] for item in response.json()["detail"]]
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("change", "location"),
    [
        ({"coupon": "SPRING10"}, ["body", "coupon"]),
        ({"bogus_field": 1}, ["body", "bogus_field"]),
        (
            {"lines": [{"sku": "X", "name": "X", "quantity": 1, "unit_price": 1, "tax": 0}]},
            ["body", "lines", 0, "tax"],
        ),
    ],
)
def test_an_order_with_an_unknown_field_is_refused_not_silently_trimmed(
    api: Client, change: dict[str, Any], location: list[Any]
) -> None:
    # when an order carries a field the API does not know (a coupon it would have dropped)
    response = post_order(api, order_body(buyer(), **change))
    # then it is refused with the field named, like every other endpoint, and nothing is stored
    assert response.status_code == 422
    errors = response.json()["detail"]
    assert {"loc": location, "type": "extra_forbidden"}.items() <= next(
        e for e in errors if e["loc"] == location
    ).items()
    assert not Order.objects.exists()


def test_an_order_needs_a_buyer(api: Client) -> None:
    body = order_body(buyer())
    del body["contact_id"]
    response = post_order(api, body)
    assert response.status_code == 422
    assert ["body", "contact_id"] in [item["loc"] for item in response.json()["detail"]]


def test_the_orders_of_a_contact_newest_first(api: Client) -> None:
    # given two orders of one contact and one of another
    contact, other = buyer(), buyer(email="other@example.jp")
    order_record(contact=contact, external_id="A-1", ordered_at=NOW - timedelta(days=9), amount=1)
    order_record(contact=contact, external_id="A-2", ordered_at=NOW - timedelta(days=1), amount=2)
    order_record(contact=other, external_id="B-1", ordered_at=NOW, amount=3)
    # when the contact's orders are read
    response = api.get(f"/api/v1/contacts/{contact.pk}/orders")
    # then they are its own, newest first
    assert response.status_code == 200
    assert [o["external_id"] for o in response.json()] == ["A-2", "A-1"]
    assert api.get("/api/v1/contacts/999999/orders").status_code == 404


def test_a_key_without_the_orders_scope_cannot_record() -> None:
    token = core_services.apikey_create(
        name="reader", scopes=[ApiScope.CONTACTS_READ], system=True
    ).token
    reader = Client(headers={"Authorization": f"Bearer {token}"})
    response = post_order(reader, order_body(buyer()))
    assert response.status_code == 403
    assert not Order.objects.exists()


def test_a_reps_key_reaches_only_the_reps_contacts() -> None:
    # given a rep's API key, the rep's contact and another rep's contact
    rep = core_services.user_create(
        username="rep1", password="x", role=roles.SALES_REP, check_password=False
    )
    other_rep = core_services.user_create(
        username="rep2", password="x", role=roles.SALES_REP, check_password=False
    )
    token = core_services.apikey_create(
        name="rep", scopes=[ApiScope.ORDERS_WRITE, ApiScope.CONTACTS_READ], created_by=rep
    ).token
    api = Client(headers={"Authorization": f"Bearer {token}"})
    mine = buyer(owner_id=rep.pk)
    theirs = buyer(email="theirs@example.jp", owner_id=other_rep.pk)
    # when the rep records and reads orders of both
    # then the other rep's contact does not exist for them
    assert post_order(api, order_body(mine)).status_code == 201
    assert post_order(api, order_body(theirs, external_id="EC-9")).status_code == 404
    assert api.get(f"/api/v1/contacts/{theirs.pk}/orders").status_code == 404
    assert api.get(f"/api/v1/contacts/{mine.pk}/orders").status_code == 200


def test_repeat_rate_counts_customers_with_two_purchases_or_more() -> None:
    # given in May: 佐藤 buys twice, 鈴木 once, 高橋 three times; 田中 bought only in April
    may = datetime(2026, 5, 1, tzinfo=UTC)
    people = {
        name: buyer(email=f"{i}@example.jp", family_name=name)
        for i, name in enumerate(["佐藤", "鈴木", "高橋", "田中"])
    }
    purchases = {"佐藤": [2, 5], "鈴木": [3], "高橋": [1, 4, 9], "田中": [-10]}
    for name, days in purchases.items():
        for day in days:
            order_record(
                contact=people[name],
                external_id=f"{name}-{day}",
                ordered_at=may + timedelta(days=day),
                amount=1000,
            )
    # when the repeat rate of May is computed
    rate = selectors.repeat_rate(start=may, end=datetime(2026, 6, 1, tzinfo=UTC))
    # then two of the three May customers bought again
    assert (rate.customers, rate.repeat_customers) == (3, 2)
    assert rate.rate == pytest.approx(2 / 3)
    # and over all time 田中 counts as a one-time customer
    assert selectors.repeat_rate().rate == pytest.approx(2 / 4)


def test_repeat_rate_without_customers_is_zero() -> None:
    rate = selectors.repeat_rate(start=NOW - timedelta(days=30), end=NOW)
    assert (rate.customers, rate.repeat_customers, rate.rate) == (0, 0, 0.0)
