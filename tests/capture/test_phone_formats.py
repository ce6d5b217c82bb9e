"""A form submission is never refused for how its phone number is written: a number with 内線
or （代表） is read, one that cannot be read is kept as written and flagged for review."""

from __future__ import annotations

import pytest

from sokyaku.contacts.models import Contact, PendingChange
from sokyaku.contacts.services import ContactInput, contact_upsert
from tests.capture.conftest import answers

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("written", "e164", "extension", "review"),
    [
        ("０３（５０１６）９７４４ 内線１２３", "+81350169744", "123", False),
        ("03-1234-5678（代表）", "+81312345678", "", False),
        ("03-5016", "", "", True),
    ],
)
def test_the_lead_is_stored_whatever_the_phone_format(
    form, submit, written, e164, extension, review
):
    # when a person writes the phone number as on their business card
    response = submit("whitepaper", answers(phone=written))
    # then they are thanked and stored, the number read or kept for review
    assert response.status_code == 200
    assert "ありがとうございます" in response.content.decode()
    contact = Contact.objects.get()
    assert (contact.phone, contact.phone_extension, contact.phone_written) == (
        e164, extension, written,
    )  # fmt: skip
    assert contact.phone_needs_review is review


def test_an_unreadable_number_for_a_known_person_waits_for_review_as_written(form, submit):
    # given a known person with a phone number
    known = contact_upsert(
        data=ContactInput(email="taro.yamada@example.co.jp", phone="03-1234-5678")
    ).contact
    # when they send the form with a number that cannot be read
    submit("whitepaper", answers(phone="折り返し希望 03-1234"))
    # then their number stays, and the one they wrote waits on the contact page
    known.refresh_from_db()
    assert (known.phone, known.phone_needs_review) == ("+81312345678", False)
    assert PendingChange.objects.get().values["phone"] == "折り返し希望 03-1234"
