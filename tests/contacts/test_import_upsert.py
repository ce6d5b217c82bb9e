"""``contact_bulk_upsert``, the set-based twin of ``contact_upsert`` that imports use: the same
rows give exactly what ``contact_upsert`` row by row gives."""

from __future__ import annotations

import pytest
from django.db import transaction

from sokyaku.activity.models import Event, EventSource
from sokyaku.contacts.bulk import contact_bulk_upsert
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core.errors import SokyakuError

pytestmark = pytest.mark.django_db

FIELDS = ("family_name", "given_name", "email", "phone", "company__name", "department", "title",
          "postal_code", "prefecture", "name_key", "dedupe_key", "search_text",
          "first_touch_channel_id")  # fmt: skip

ROWS = [
    {"email": "Ａ＠example.jp", "title": "部長"},  # a known email, full-width
    {"family_name": "佐藤", "given_name": "健", "company_name": "T工業㈱", "email": "sato@t.jp"},
    {"email": "sato@t.jp", "phone": "03-1234-5678"},  # the person the row above just changed
    {"phone": "+81 90 1111 2222", "email": "tanaka@example.jp"},  # known phone, no email yet
    {"phone": "090-5555-5555", "email": "other@example.jp"},  # phone of someone else's email
    {"family_name": "新井", "company_name": "ニュー株式会社", "email": "new@example.jp"},
    {"email": "NEW@example.jp", "department": "営業部"},  # the person two rows up
    {"email": "bad@"},
    {"email": "a@example.jp", "tags": ["展示会"]},
    {"email": "a@example.jp", "tags": ["展示会"]},  # the same again: nothing changes
    {
        "family_name": "山田",
        "given_name": "太郎",
        "company_name": "(株)エス",
        "postal_code": "1000001",
    },
    {"department": "総務部"},  # nothing to recognise anyone by
]


@pytest.fixture
def stored() -> None:
    for data in (
        ContactInput(email="a@example.jp", family_name="山田", given_name="太郎",
                     company_name="株式会社エス"),
        ContactInput(family_name="佐藤", given_name="健", company_name="T工業株式会社"),
        ContactInput(family_name="田中", phone="090-1111-2222"),
        ContactInput(email="d@example.jp", phone="090-5555-5555"),
    ):  # fmt: skip
        contact_upsert(data=data)


def _snapshot() -> tuple[list[tuple], list[tuple]]:
    contacts = sorted(
        (
            *(str(v) for v in row[:-1]),
            tuple(sorted(Contact.objects.get(pk=row[-1]).tags.values_list("name", flat=True))),
        )
        for row in Contact.objects.filter(merged_into__isnull=True).values_list(*FIELDS, "pk")
    )
    events = sorted(
        (e.contact.email or e.contact.family_name, e.type, tuple(e.properties.get("fields", [])))
        for e in Event.objects.select_related("contact")
    )
    return contacts, events


def _one_by_one() -> list[object]:
    outcomes: list[object] = []
    for row in ROWS:
        try:
            result = contact_upsert(data=ContactInput.from_mapping(row), source=EventSource.IMPORT)
        except SokyakuError as exc:
            outcomes.append(sorted(exc.field_errors or {"row": exc.message}))
        else:
            outcomes.append((result.created, result.changed))
    return outcomes


def test_a_batch_gives_exactly_what_contact_upsert_gives_row_by_row(stored):
    # given what contact_upsert makes of the rows, one call each (then undone)
    with transaction.atomic():
        expected_outcomes = _one_by_one()
        expected = _snapshot()
        transaction.set_rollback(True)
    # when the same rows go in as one batch
    results = contact_bulk_upsert(rows=ROWS, source=EventSource.IMPORT)
    # then every row had the same outcome and the contacts and timeline are the same
    outcomes = [sorted(r.errors) if r.errors else (r.created, r.changed) for r in results]
    assert outcomes == expected_outcomes
    assert _snapshot() == expected


def test_a_batch_checks_rows_one_by_one_and_returns_the_contacts(stored):
    results = contact_bulk_upsert(rows=ROWS, source=EventSource.IMPORT)
    assert [bool(r.errors) for r in results] == [False] * 7 + [True] + [False] * 3 + [True]
    assert results[5].contact is results[6].contact
    assert results[6].contact.department == "営業部"
    assert Contact.objects.get(email="new@example.jp").department == "営業部"


def test_first_touch_channel_fills_only_contacts_without_one(stored):
    from sokyaku.campaigns.models import Channel, ChannelKind

    show = Channel.objects.create(key="show", name="展示会", kind=ChannelKind.TRADE_SHOW)
    web = Channel.objects.create(key="web2", name="Web", kind=ChannelKind.ORGANIC_SEARCH)
    Contact.objects.filter(email="d@example.jp").update(first_touch_channel=web)
    contact_bulk_upsert(
        rows=[{"email": "a@example.jp"}, {"email": "d@example.jp"}, {"email": "z@example.jp"}],
        source=EventSource.IMPORT,
        first_touch_channel_id=show.pk,
    )
    channels = dict(Contact.objects.values_list("email", "first_touch_channel__key"))
    assert (channels["a@example.jp"], channels["d@example.jp"], channels["z@example.jp"]) == (
        "show", "web2", "show",
    )  # fmt: skip


def test_an_unknown_source_is_refused():
    from sokyaku.core.errors import ValidationError

    with pytest.raises(ValidationError):
        contact_bulk_upsert(rows=[{"email": "a@example.jp"}], source="somewhere")
