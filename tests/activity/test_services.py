"""Event ingestion, idempotency and visitor stitching."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.activity import events, selectors, services
from sokyaku.activity.models import Event, EventType, Visitor
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError

pytestmark = pytest.mark.django_db


def _view(visitor: str, url: str, minutes_ago: int = 0, contact_id: int | None = None):
    return events.page_view(
        occurred_at=clock.now() - timedelta(minutes=minutes_ago),
        url=url,
        visitor_id=visitor,
        contact_id=contact_id,
        utm={"utm_source": "google", "utm_medium": "cpc"},
    )


def test_anonymous_views_are_stitched_to_the_contact_on_identify():
    # given a visitor who read three pages anonymously
    services.event_ingest_batch(
        events=[_view("v-1", f"https://example.jp/p{i}", minutes_ago=10 - i) for i in range(3)]
    )
    contact = contact_upsert(data=ContactInput(email="visitor@example.jp")).contact
    # when they identify themselves through a form
    attached = services.visitor_identify(visitor_id="v-1", contact_id=contact.pk)
    # then the earlier views are on the contact's timeline
    assert attached == 3
    timeline = selectors.timeline(contact_id=contact.pk)
    assert [e.properties["url"] for e in timeline if e.type == EventType.PAGE_VIEW] == [
        "https://example.jp/p2", "https://example.jp/p1", "https://example.jp/p0"]  # fmt: skip
    # and later views from the same browser go straight to the contact
    services.event_ingest(event=_view("v-1", "https://example.jp/pricing"))
    assert Event.objects.get(properties__url="https://example.jp/pricing").contact_id == contact.pk


def test_other_visitors_are_not_stitched():
    services.event_ingest_batch(events=[_view("v-1", "https://a.example"),
                                        _view("v-2", "https://b.example")])  # fmt: skip
    contact = contact_upsert(data=ContactInput(email="a@example.jp")).contact
    services.visitor_identify(visitor_id="v-1", contact_id=contact.pk)
    assert Event.objects.get(visitor_id="v-2").contact_id is None
    assert Visitor.objects.get(id="v-2").contact_id is None


def test_batch_ingest_stores_all_and_returns_the_count():
    contact = contact_upsert(data=ContactInput(email="b@example.jp")).contact
    batch = [_view("", f"https://example.jp/{i}", contact_id=contact.pk) for i in range(250)]
    assert services.event_ingest_batch(events=batch) == 250
    assert Event.objects.filter(contact=contact, type=EventType.PAGE_VIEW).count() == 250


def test_a_retried_event_with_the_same_idempotency_key_is_stored_once():
    contact = contact_upsert(data=ContactInput(email="c@example.jp")).contact
    event = events.event_build(type=EventType.PURCHASE, occurred_at=clock.now(), source="api",
                               contact_id=contact.pk, properties={"amount_jpy": 12000},
                               idempotency_key="order-1001")  # fmt: skip
    assert services.event_ingest_batch(events=[event, event]) == 1
    assert services.event_ingest(event=event) is None
    assert Event.objects.filter(type=EventType.PURCHASE).count() == 1


@pytest.mark.parametrize(
    ("type", "properties"),
    [("page_view", {}), ("purchase", {"amount_jpy": "高い"}), ("no_such_type", {})],
)
def test_events_that_break_their_type_are_rejected(type, properties):
    with pytest.raises(ValidationError):
        events.event_build(type=type, occurred_at=clock.now(), source="api",
                           visitor_id="v", properties=properties)  # fmt: skip


def test_an_event_must_belong_to_someone():
    with pytest.raises(ValidationError):
        events.event_build(type="inquiry", occurred_at=clock.now(), source="api")


def test_timeline_pages_by_keyset():
    contact = contact_upsert(data=ContactInput(email="d@example.jp")).contact
    services.event_ingest_batch(
        events=[
            _view("", f"https://example.jp/{i}", minutes_ago=i, contact_id=contact.pk)
            for i in range(7)
        ]  # fmt: skip
    )
    first = selectors.timeline(contact_id=contact.pk, limit=4)
    rest = selectors.timeline(contact_id=contact.pk, before=first[-1].occurred_at,
                              before_id=first[-1].pk, limit=10)  # fmt: skip
    ids = [e.pk for e in first + rest]
    assert len(ids) == len(set(ids)) == 8  # 7 views + contact_created
