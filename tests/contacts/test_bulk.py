"""contact_bulk_create / company_bulk_create: the set-based twins of the upsert services."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import transaction

from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.contacts.bulk import (
    CompanyRow,
    ContactRow,
    company_bulk_create,
    contact_bulk_create,
    contact_bulk_insert,
)
from sokyaku.contacts.models import Company, Contact
from sokyaku.contacts.services import ContactInput, company_upsert, contact_upsert
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError

pytestmark = pytest.mark.django_db

PERSON = {
    "family_name": "髙橋",
    "given_name": "美咲",
    "family_name_kana": "タカハシ",
    "given_name_kana": "ミサキ",
    "email": "Misaki.Takahashi@Example.co.jp",
    "phone": "03-1234-5678",
    "company_name": "株式会社サンプルシステムズ",
    "department": "情報システム部",
    "title": "部長",
    "postal_code": "1000005",
    "tags": ["資料DL"],
}
KEYS = ("email", "phone", "name_key", "dedupe_key", "search_text", "prefecture", "postal_code")


def test_keys_are_exactly_what_contact_upsert_writes():
    # given the same person written once in bulk and once through contact_upsert
    with transaction.atomic():
        contact_bulk_create(rows=[PERSON], source=EventSource.IMPORT)
        bulk = Contact.objects.values(*KEYS).get()
        transaction.set_rollback(True)
    contact_upsert(data=ContactInput.from_mapping(PERSON))
    # then every normalised column is the same
    assert bulk == Contact.objects.values(*KEYS).get()


def test_a_bulk_created_person_is_found_again_by_contact_upsert():
    contact_bulk_create(rows=[ContactRow(**PERSON)], source=EventSource.IMPORT)
    again = contact_upsert(data=ContactInput(email="ｍｉｓａｋｉ.ｔａｋａｈａｓｈｉ@example.co.jp"))
    assert not again.created
    assert Contact.objects.count() == 1


def test_duplicates_in_the_batch_and_in_the_database_are_skipped():
    # given a known contact with an email, and one known only by phone
    contact_upsert(data=ContactInput(email="taro@example.co.jp", family_name="山田"))
    contact_upsert(data=ContactInput(phone="090-1111-2222", family_name="佐藤"))
    company = "テスト株式会社"
    contact_upsert(data=ContactInput(family_name="鈴木", given_name="一郎", company_name=company))
    rows = [
        {"email": "ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ"},  # the known email, full-width
        {"email": "hanako@example.co.jp", "family_name": "田中"},  # new
        {"email": "Hanako@Example.co.jp", "family_name": "田中"},  # the row above again
        {"family_name": "鈴木", "given_name": "一郎", "company_name": "(株)テスト"},  # known card
        {"phone": "+81 90 1111 2222", "given_name": "花子"},  # the known phone
        {"family_name": "伊藤", "given_name": "健", "company_name": company},  # new, known company
    ]
    # when they are created in bulk
    created = contact_bulk_insert(rows=rows, source=EventSource.IMPORT)
    # then only the two new people are created, the first of the repeated rows
    assert [c is not None for c in created] == [False, True, False, False, False, True]
    assert Contact.objects.count() == 5
    assert Company.objects.count() == 1


def test_contacts_get_their_company_tags_time_and_a_created_event():
    at = datetime(2026, 3, 2, 10, 0, tzinfo=clock.TOKYO)
    row = ContactRow(**{**PERSON, "company_name": "新規商事株式会社"}, created_at=at)
    assert contact_bulk_create(rows=[row], source=EventSource.DEMO) == 1
    contact = Contact.objects.select_related("company").get()
    assert contact.company is not None and contact.company.name == "新規商事株式会社"
    assert list(contact.tags.values_list("name", flat=True)) == ["資料DL"]
    assert contact.created_at == at
    event = Event.objects.get(contact=contact)
    assert (event.type, event.source, event.occurred_at) == (
        EventType.CONTACT_CREATED,
        EventSource.DEMO,
        at,
    )


def test_one_invalid_row_rejects_the_batch():
    rows = [{"email": "ok@example.co.jp"}, {"email": "not an email"}, {"family_name": ""}]
    with pytest.raises(ValidationError) as caught:
        contact_bulk_create(rows=rows, source=EventSource.IMPORT)
    assert set(caught.value.field_errors) == {"rows.1.email", "rows.2.email"}
    assert not Contact.objects.exists()


def test_company_spelling_variants_are_one_company():
    company_upsert(name="既存工業株式会社")
    rows = [
        CompanyRow(name="株式会社サンプル", industry="G", employee_count=120, prefecture="東京都"),
        {"name": "(株)サンプル"},
        {"name": "ｻﾝﾌﾟﾙ株式会社"},
        {"name": "㈱既存工業"},
    ]
    assert company_bulk_create(rows=rows) == 1
    sample = Company.objects.get(match_key="サンプル")
    assert (sample.name, sample.industry, sample.employee_band, sample.prefecture) == (
        "株式会社サンプル",
        "G",
        "100-299",
        13,
    )


def test_an_invalid_company_row_rejects_the_batch():
    with pytest.raises(ValidationError) as caught:
        company_bulk_create(rows=[{"name": "株式会社"}, {"name": "X社", "industry": "Z"}])
    assert set(caught.value.field_errors) == {"rows.0.company_name", "rows.1.industry"}
    assert not Company.objects.exists()
