"""Finding people (``selectors.contact_list``, the list page and ``GET /api/v1/contacts?q=``):
an email in any case or width, its domain, a phone number written any way the UI shows it, a
company with its legal form before or after, names in kanji, kana and romaji."""

from __future__ import annotations

import pytest
from django.test import Client

from sokyaku.contacts import selectors
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, company_upsert, contact_upsert

pytestmark = pytest.mark.django_db

LIST = "/contacts/"


@pytest.fixture
def watanabe() -> Contact:
    company_upsert(name="株式会社ルミナヘルスケア", name_kana="ルミナヘルスケア")
    contact_upsert(
        data=ContactInput(
            family_name="斉藤", given_name="一", email="hajime@other.example",
            company_name="斉藤商事株式会社",
        )
    )  # fmt: skip
    return contact_upsert(
        data=ContactInput(
            family_name="渡辺", given_name="徹", family_name_kana="ワタナベ",
            given_name_kana="トオル", email="T.Watanabe@Saito-Shoji.co.jp",
            phone="03-5016-9744 内線123", company_name="(株)ルミナヘルスケア",
        )
    ).contact  # fmt: skip


SEARCHES = [
    "T.Watanabe@saito-shoji.co.jp",  # the email, another case
    "t.watanabe@SAITO-SHOJI.CO.JP",
    "ｔ．ｗａｔａｎａｂｅ＠ｓａｉｔｏ－ｓｈｏｊｉ．ｃｏ．ｊｐ",  # full width
    "saito-shoji.co.jp",  # the domain
    "saito-shoji",  # part of it
    "03-5016-9744",  # the phone as the UI shows it
    "0350169744",
    "+81 3 5016 9744",
    "+81-3-5016-9744",
    "０３－５０１６－９７４４",
    "03(5016)9744",
    "5016-9744",  # part of it
    "(株)ルミナヘルスケア",  # the company, legal form before or after
    "ルミナヘルスケア株式会社",
    "㈱ルミナヘルスケア",
    "株式会社 ルミナヘルスケア",
    "ルミナ",
    "渡辺",  # kanji, kana, romaji as before
    "わたなべ",
    "ﾜﾀﾅﾍﾞ",
    "Watanabe",
]


@pytest.mark.parametrize("query", SEARCHES)
def test_the_service_finds_the_person_by(watanabe, query):
    assert list(selectors.contact_list(user=None, q=query)) == [watanabe]


@pytest.mark.parametrize("query", SEARCHES)
def test_the_api_finds_the_person_by(api: Client, watanabe, query):
    response = api.get("/api/v1/contacts", {"q": query})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [watanabe.pk]


@pytest.mark.parametrize("query", ["(株)ルミナヘルスケア", "saito-shoji", "03-5016-9744"])
def test_the_list_page_finds_the_person_by(logged_in, watanabe, query):
    html = logged_in.get(LIST, {"q": query}).content.decode()
    assert "渡辺 徹" in html
    assert "1 件" in html or "1件" in html


@pytest.mark.parametrize("query", ["saito-shoji-x", "03-5016-9745", "ルミナ薬品", "株式会社 斉藤"])
def test_other_values_do_not_find_the_person(watanabe, query):
    assert watanabe not in selectors.contact_list(user=None, q=query)


def test_a_legal_form_alone_is_not_a_search_word(watanabe):
    # "株式会社" says nothing about who is meant: the other words decide
    assert list(selectors.contact_list(user=None, q="株式会社 渡辺")) == [watanabe]


def test_the_company_kana_and_domain_find_its_people(watanabe):
    company_upsert(name="株式会社ルミナヘルスケア", domain="lumina-hc.example")
    contact = contact_upsert(
        data=ContactInput(family_name="小林", email="k@example.jp", company_name="ルミナヘルスケア")
    ).contact
    assert contact in selectors.contact_list(user=None, q="lumina-hc")
    assert contact in selectors.contact_list(user=None, q="るみなへるすけあ")


def test_an_unreadable_phone_is_found_by_its_digits_and_by_the_review_filter():
    kept = contact_upsert(data=ContactInput(family_name="木村", phone="03-5016 不明 97")).contact
    contact_upsert(data=ContactInput(family_name="森", phone="03-1234-5678"))
    assert kept.phone_needs_review
    assert list(selectors.contact_list(user=None, q="03-5016")) == [kept]
    assert list(selectors.contact_list(user=None, phone_needs_review=True)) == [kept]


def test_the_list_page_filters_phone_numbers_to_check(logged_in):
    contact_upsert(data=ContactInput(family_name="木村", phone="不明"))
    contact_upsert(data=ContactInput(family_name="大野", phone="03-1234-5678"))
    html = logged_in.get(LIST, {"phone_review": "on"}).content.decode()
    assert "木村" in html
    assert "大野" not in html
    assert "電話番号を確認" in html


def test_search_keeps_the_list_query_count(logged_in, watanabe, django_assert_max_num_queries):
    with django_assert_max_num_queries(13):
        logged_in.get(LIST, {"q": "(株)ルミナヘルスケア 03-5016-9744"})


def test_an_api_search_keeps_the_list_query_count(
    api: Client, watanabe, django_assert_max_num_queries
):
    # key check, count, rows, tags, scores + their rule set, lifecycle stages, access log
    with django_assert_max_num_queries(9):
        response = api.get("/api/v1/contacts", {"q": "(株)ルミナヘルスケア 03-5016-9744"})
    assert [item["id"] for item in response.json()["items"]] == [watanabe.pk]
