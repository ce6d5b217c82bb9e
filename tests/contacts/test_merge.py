"""Merging two contacts (or companies) and undoing a wrong merge."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sokyaku.activity import events
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Company, Contact, MergeRecord
from sokyaku.contacts.services import (
    ContactInput,
    company_merge,
    company_merge_undo,
    company_upsert,
    contact_merge,
    contact_merge_undo,
    contact_upsert,
)
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError

pytestmark = pytest.mark.django_db


def _contact(**fields) -> Contact:
    return contact_upsert(data=ContactInput(**fields)).contact


def _page_views(contact: Contact, n: int) -> None:
    activity_services.event_ingest_batch(
        events=[
            events.page_view(
                occurred_at=clock.now(), url=f"https://example.jp/{i}", contact_id=contact.pk
            )  # fmt: skip
            for i in range(n)
        ]
    )


@pytest.fixture
def pair():
    t0 = clock.now()
    with clock.frozen(t0 - timedelta(days=30)):
        loser = _contact(family_name="山田", given_name="太郎", company_name="株式会社サンプル",
                         phone="03-1234-5678", tags=["展示会2026"])  # fmt: skip
    with clock.frozen(t0):
        winner = _contact(email="taro@sample.example", title="部長", tags=["資料DL"])
    _page_views(loser, 3)
    _page_views(winner, 2)
    return winner, loser


def test_merge_moves_everything_to_the_winner_and_keeps_a_record(pair):
    winner, loser = pair
    # when
    record = contact_merge(winner=winner, loser=loser)
    # then the winner has its own values plus the loser's where it had none
    winner.refresh_from_db()
    loser.refresh_from_db()
    assert (winner.email, winner.title, winner.family_name, winner.phone) == (
        "taro@sample.example", "部長", "山田", "+81312345678")  # fmt: skip
    assert winner.company.name == "株式会社サンプル"
    assert sorted(winner.tags.values_list("name", flat=True)) == ["展示会2026", "資料DL"]
    assert winner.created_at == loser.created_at  # the earlier first touch is kept
    # and every page view is now the winner's; the loser is hidden, not deleted
    assert Event.objects.filter(contact=winner, type=EventType.PAGE_VIEW).count() == 5
    assert loser.merged_into_id == winner.pk
    assert list(Contact.objects.filter(merged_into__isnull=True)) == [winner]
    assert record.loser_before["family_name"] == "山田"
    assert record.winner_before["family_name"] == ""


def test_after_a_merge_the_losers_identity_finds_the_winner(pair):
    winner, loser = pair
    contact_merge(winner=winner, loser=loser)
    again = contact_upsert(data=ContactInput(phone="03-1234-5678"))
    assert again.contact.pk == winner.pk


def test_undo_restores_both_contacts_and_their_events(pair):
    winner, loser = pair
    record = contact_merge(winner=winner, loser=loser)
    # when
    restored = contact_merge_undo(record=record)
    # then
    winner.refresh_from_db()
    assert restored.pk == loser.pk
    assert restored.merged_into_id is None
    assert (winner.family_name, winner.phone, winner.company_id) == ("", "", None)
    assert (restored.family_name, restored.phone) == ("山田", "+81312345678")
    assert Event.objects.filter(contact=restored, type=EventType.PAGE_VIEW).count() == 3
    assert Event.objects.filter(contact=winner, type=EventType.PAGE_VIEW).count() == 2
    assert list(restored.tags.values_list("name", flat=True)) == ["展示会2026"]
    assert list(winner.tags.values_list("name", flat=True)) == ["資料DL"]
    record.refresh_from_db()
    assert record.undone_at is not None


def test_a_merge_cannot_be_undone_twice_or_merge_a_contact_with_itself(pair):
    winner, loser = pair
    record = contact_merge(winner=winner, loser=loser)
    contact_merge_undo(record=record)
    with pytest.raises(ValidationError):
        contact_merge_undo(record=record)
    with pytest.raises(ValidationError):
        contact_merge(winner=winner, loser=winner)


def test_company_merge_moves_contacts_and_can_be_undone():
    a = company_upsert(name="株式会社サンプル", industry="G").company
    b = company_upsert(name="サンプルホールディングス", employee_count=500).company
    person = _contact(
        family_name="佐藤", given_name="花子", company_name="サンプルホールディングス"
    )
    # when
    record = company_merge(winner=a, loser=b)
    # then
    person.refresh_from_db()
    a.refresh_from_db()
    assert person.company_id == a.pk
    assert (a.industry, a.employee_band) == ("G", "300-999")
    assert Company.objects.filter(merged_into__isnull=True).count() == 1
    # and when undone
    company_merge_undo(record=record)
    person.refresh_from_db()
    a.refresh_from_db()
    assert person.company_id == b.pk
    assert a.employee_band == ""
    assert MergeRecord.objects.get().undone_at is not None
