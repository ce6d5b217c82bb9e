"""Phone numbers as Japanese business cards and forms write them: read into E.164 plus the
extension, or kept as written and flagged for review, never a reason to refuse a person."""

from __future__ import annotations

import pytest
from django.test import Client

from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import (
    ContactInput,
    contact_merge,
    contact_merge_undo,
    contact_update,
    contact_upsert,
)
from tests.api.calls import post_json

pytestmark = pytest.mark.django_db

WRITTEN = [
    ("03-5016-9744", "+81350169744", ""),
    ("03(5016)9744", "+81350169744", ""),
    ("０３－５０１６－９７４４", "+81350169744", ""),
    ("０３（５０１６）９７４４", "+81350169744", ""),
    ("+81 3 5016 9744", "+81350169744", ""),
    ("03-5016-9744 内線123", "+81350169744", "123"),
    ("03-5016-9744（内線１２３）", "+81350169744", "123"),
    ("03-5016-9744 (内)123", "+81350169744", "123"),
    ("03-5016-9744 内123", "+81350169744", "123"),
    ("03-5016-9744 ext. 12", "+81350169744", "12"),
    ("03-5016-9744 x12", "+81350169744", "12"),
    ("03-1234-5678（代表）", "+81312345678", ""),
    ("03-1234-5678(代表) 内線45", "+81312345678", "45"),
    ("TEL：03-1234-5678", "+81312345678", ""),
    ("090-1234-5678", "+819012345678", ""),
]


@pytest.mark.parametrize(("written", "e164", "extension"), WRITTEN)
def test_the_service_reads_the_phone_as_written(written, e164, extension):
    contact = contact_upsert(data=ContactInput(family_name="山田", phone=written)).contact
    contact.refresh_from_db()
    assert (contact.phone, contact.phone_extension, contact.phone_written) == (
        e164, extension, written.strip(),
    )  # fmt: skip
    assert not contact.phone_needs_review


@pytest.mark.parametrize(("written", "e164", "extension"), WRITTEN)
def test_the_api_reads_the_phone_as_written(api: Client, written, e164, extension):
    response = post_json(api, "/api/v1/contacts", {"family_name": "山田", "phone": written})
    assert response.status_code == 201
    body = api.get(f"/api/v1/contacts/{response.json()['id']}").json()
    assert (body["phone"], body["phone_extension"], body["phone_needs_review"]) == (
        e164, extension, False,
    )  # fmt: skip


@pytest.mark.parametrize("written", ["12", "03-5016", "不明", "090-1234-56789", "携帯のみ"])
def test_the_api_keeps_an_unreadable_phone_and_flags_it(api: Client, written):
    # when a lead is posted with a phone number that cannot be read
    response = post_json(
        api, "/api/v1/contacts", {"family_name": "佐藤", "email": "s@example.jp", "phone": written}
    )
    # then the lead is stored, with the number as written, marked for review
    assert response.status_code == 201
    contact = Contact.objects.get()
    assert (contact.phone, contact.phone_written, contact.phone_needs_review) == (
        "", written, True,
    )  # fmt: skip


def test_one_number_written_two_ways_is_one_person():
    first = contact_upsert(data=ContactInput(family_name="鈴木", phone="03(5016)9744")).contact
    again = contact_upsert(data=ContactInput(family_name="鈴木", phone="+81 3-5016-9744 内線9"))
    assert again.contact.pk == first.pk
    assert Contact.objects.count() == 1


def test_an_unreadable_number_never_replaces_a_readable_one():
    contact = contact_upsert(
        data=ContactInput(email="a@example.jp", phone="03-1234-5678 内線1")
    ).contact
    contact_upsert(data=ContactInput(email="a@example.jp", phone="折り返し希望"))
    contact.refresh_from_db()
    assert (contact.phone, contact.phone_extension, contact.phone_needs_review) == (
        "+81312345678", "1", False,
    )  # fmt: skip


def test_correcting_a_flagged_number_clears_the_flag():
    contact = contact_upsert(data=ContactInput(email="a@example.jp", phone="03-1234")).contact
    assert contact.phone_needs_review
    contact_update(contact=contact, data=ContactInput(phone="03-1234-5678"))
    contact.refresh_from_db()
    assert (contact.phone, contact.phone_needs_review) == ("+81312345678", False)


def test_a_merge_takes_the_readable_number_with_its_extension_and_undo_restores_it():
    winner = contact_upsert(data=ContactInput(email="w@example.jp", phone="03-1234")).contact
    loser = contact_upsert(data=ContactInput(email="l@example.jp", phone="03-5016-9744 内線7"))
    record = contact_merge(winner=winner, loser=loser.contact)
    winner.refresh_from_db()
    assert (winner.phone, winner.phone_extension, winner.phone_needs_review) == (
        "+81350169744", "7", False,
    )  # fmt: skip
    contact_merge_undo(record=record)
    winner.refresh_from_db()
    assert (winner.phone, winner.phone_written, winner.phone_needs_review) == ("", "03-1234", True)
