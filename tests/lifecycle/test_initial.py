"""First stages: lead, or subscriber for an email-only contact; set-based for imports."""

from __future__ import annotations

import pytest

from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts import bulk
from sokyaku.lifecycle import selectors, services
from sokyaku.lifecycle.models import ContactStage, Stage, StageChange
from tests.lifecycle.factories import contact_make, event_record

pytestmark = pytest.mark.django_db


def test_a_new_contact_with_a_name_starts_as_a_lead() -> None:
    # when a person with a name is created
    contact = contact_make()
    # then they are a lead, with the first move in the history
    assert selectors.stage_get(contact_id=contact.pk) == Stage.LEAD
    change = StageChange.objects.get(contact=contact)
    assert (change.from_stage, change.to_stage, change.source) == ("", "lead", "system")


def test_an_email_only_contact_starts_as_a_subscriber() -> None:
    # when someone signs up with only an email
    contact = contact_make(family_name=None, given_name=None, email="news@example.jp")
    # then they are a subscriber
    assert selectors.stage_get(contact_id=contact.pk) == Stage.SUBSCRIBER


def test_a_subscriber_who_downloads_a_document_becomes_a_lead() -> None:
    # given a subscriber
    contact = contact_make(family_name=None, given_name=None, email="news@example.jp")
    # when they download a whitepaper
    event_record(contact, EventType.ASSET_DOWNLOADED, asset="MA導入チェックリスト")
    # then they are a lead
    assert selectors.stage_get(contact_id=contact.pk) == Stage.LEAD
    assert StageChange.objects.filter(contact=contact).last().from_stage == "subscriber"  # type: ignore[union-attr]


def test_a_newsletter_form_alone_keeps_a_subscriber_a_subscriber() -> None:
    # given a subscriber
    contact = contact_make(family_name=None, given_name=None, email="news@example.jp")
    # when they submit the email-only newsletter form again
    event_record(contact, EventType.FORM_SUBMITTED, form="メルマガ登録", fields={})
    # then they stay a subscriber
    assert selectors.stage_get(contact_id=contact.pk) == Stage.SUBSCRIBER


def test_a_batch_import_gets_first_stages_in_bulk(django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    # given 300 rows, a third of them email-only
    rows = [
        {"email": f"p{i}@example.jp"}
        if i % 3 == 0
        else {"email": f"p{i}@example.jp", "family_name": "鈴木", "given_name": f"{i}"}
        for i in range(300)
    ]
    # when they are imported set-based (a bounded number of queries, not one per row)
    with django_assert_max_num_queries(60):
        bulk.contact_bulk_create(rows=rows, source=EventSource.IMPORT)
    # then every contact has a first stage and a history row
    counts = {s: ContactStage.objects.filter(stage=s).count() for s in ("lead", "subscriber")}
    assert counts == {"lead": 200, "subscriber": 100}
    assert StageChange.objects.filter(from_stage="").count() == 300


def test_rebuild_creates_missing_first_stages_once() -> None:
    # given contacts whose stage rows are missing (an existing database)
    first, second = contact_make(), contact_make(email="b@example.jp")
    ContactStage.objects.all().delete()
    StageChange.objects.all().delete()
    # when the rebuild runs twice
    created = services.lifecycle_rebuild_initial()
    again = services.lifecycle_rebuild_initial()
    # then each got one first stage
    assert (created, again) == (2, 0)
    assert StageChange.objects.filter(contact__in=[first, second]).count() == 2
