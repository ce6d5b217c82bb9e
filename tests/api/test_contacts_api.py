"""Contacts through the JSON API: upsert by the dedupe rules, read, search, edit, timeline."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries, Settings

from sokyaku.activity.models import Event
from sokyaku.contacts.models import Company, Contact
from sokyaku.contacts.services import contact_merge
from tests.api.calls import JSON, patch_json, post_json
from tests.api.factories import make_contacts

pytestmark = pytest.mark.django_db

URL = "/api/v1/contacts"


def _post(api: Client, **fields: object) -> tuple[int, dict[str, Any]]:
    response = post_json(api, URL, fields)
    return response.status_code, response.json()


# --- Upsert and dedupe ----------------------------------------------------------------------


def test_a_new_person_is_created_and_the_same_person_is_updated(api: Client) -> None:
    # given nobody is known yet
    # when a person is posted, then posted again with more data
    first_status, first = _post(
        api, family_name="山田", given_name="太郎", email="taro@example.co.jp"
    )
    second_status, second = _post(api, email="taro@example.co.jp", title="部長")
    # then the first answer is 201 created, the second 200 updated, for the same id
    assert (first_status, first["created"]) == (201, True)
    assert (second_status, second) == (200, {"id": first["id"], "created": False})
    assert api.get(f"{URL}/{first['id']}").json()["title"] == "部長"


def test_company_spelling_variants_land_on_one_contact(api: Client) -> None:
    # given a person posted with the company in half-width kana
    _status, first = _post(api, family_name="山田", given_name="太郎", company_name="ｻﾝﾌﾟﾙ株式会社")
    # when the same person is posted with the company written two other ways
    _status, second = _post(
        api, family_name="山田", given_name="太郎", company_name="株式会社サンプル"
    )
    _status, third = _post(api, family_name="山田", given_name="太郎", company_name="(株)サンプル")
    # then all three are one contact at one company
    assert {first["id"], second["id"], third["id"]} == {first["id"]}
    assert (second["created"], third["created"]) == (False, False)
    assert Contact.objects.count() == 1
    assert Company.objects.count() == 1


def test_a_full_width_email_is_the_same_person(api: Client) -> None:
    # given a person posted with a full-width email, as typed on a Japanese keyboard
    _status, first = _post(api, family_name="山田", email="ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ")
    # when the same address arrives in ASCII
    _status, second = _post(api, email="taro@example.co.jp", given_name="太郎")
    # then it is one contact, stored with the canonical address
    assert second == {"id": first["id"], "created": False}
    assert api.get(f"{URL}/{first['id']}").json()["email"] == "taro@example.co.jp"


def test_phone_formats_are_the_same_person(api: Client) -> None:
    # given a person posted with a domestic mobile number
    _status, first = _post(api, family_name="佐藤", phone="090-1234-5678")
    # when the number arrives in international format
    _status, second = _post(api, given_name="花子", phone="+81 90 1234 5678")
    # then it is one contact, with the number in E.164
    assert second == {"id": first["id"], "created": False}
    body = api.get(f"{URL}/{first['id']}").json()
    assert (body["phone"], body["display_name"]) == ("+819012345678", "佐藤 花子")


def test_names_round_trip_exactly(api: Client) -> None:
    # given names with an emoji, 髙 and 﨑 (U+FA11), an inner full-width space and markup
    sent = {
        "family_name": "髙﨑",
        "given_name": "太郎\u3000🎌",
        "family_name_kana": "タカサキ",
        "department": "<script>alert(1)</script>",
        "title": '部長 & CTO "代表"',
        "email": "takasaki@example.co.jp",
    }
    # when the contact is posted and read back
    contact_id = post_json(api, URL, sent).json()["id"]
    body = api.get(f"{URL}/{contact_id}").json()
    # then every value comes back exactly as sent
    assert {key: body[key] for key in sent} == sent
    assert "\ufa11" in body["family_name"]


@pytest.mark.parametrize(("field", "value"), [("email", "taro@@example"), ("email", "山田")])
def test_an_invalid_email_is_422_naming_the_field(api: Client, field: str, value: str) -> None:
    # when a contact is posted with a bad value
    response = post_json(api, URL, {"family_name": "山田", field: value})
    # then the answer names the field, and nothing is stored
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", field]]
    assert Contact.objects.count() == 0


def test_an_unknown_field_is_422(api: Client) -> None:
    # when a contact is posted with a field the API does not have
    response = post_json(api, URL, {"family_name": "山田", "nickname": "タロちゃん"})
    # then it is refused, naming the field
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "nickname"],
            "msg": "Extra inputs are not permitted",
            "type": "extra_forbidden",
        }
    ]


def test_a_contact_without_any_identity_is_422(api: Client) -> None:
    # when a contact is posted with only a title
    response = post_json(api, URL, {"title": "部長"})
    # then it is refused with a field to fix
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "email"]


@pytest.mark.parametrize("field", ["family_name", "email", "company_name"])
def test_nul_characters_are_422_not_a_server_error(api: Client, field: str) -> None:
    # when text with a NUL character is posted (PostgreSQL cannot store it)
    response = post_json(api, URL, {"family_name": "山田", field: "a\x00b"})
    # then it is a validation error at that field
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", field]


def test_a_company_name_with_only_a_legal_form_is_422(api: Client) -> None:
    # when a contact is posted at a company called just "株式会社"
    response = post_json(api, URL, {"family_name": "山田", "company_name": "株式会社"})
    # then the company name is refused
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "company_name"]


def test_a_phone_match_that_becomes_a_namesake_is_409(api: Client) -> None:
    # given 山田 at サンプル (no email), and 山田 known only by phone, without a company
    _post(api, family_name="山田", company_name="株式会社サンプル")
    _status, by_phone = _post(api, family_name="山田", phone="090-1234-5678")
    # when the phone arrives with the company, which would make the two the same person
    status, body = _post(api, phone="090-1234-5678", company_name="サンプル")
    # then the API asks for a merge instead of failing or silently merging
    assert status == 409
    assert "Merge" in str(body["detail"])
    assert Contact.objects.get(pk=by_phone["id"]).company is None


@pytest.mark.parametrize(
    "person",
    [
        {"family_name": "山" * 100, "given_name": "田" * 100, "company_name": "株" + "サ" * 199},
        {"family_name": "ﷺ" * 100, "company_name": "㌀" * 200},  # NFKC makes these much longer
    ],
)
def test_the_longest_names_are_stored_and_matched(api: Client, person: dict[str, str]) -> None:
    # when a person with names at the length limits is posted twice
    first_status, first = _post(api, **person)
    second_status, second = _post(api, **person)
    # then they are stored (their match keys fit the database) and found again
    assert (first_status, second_status) == (201, 200)
    assert second["id"] == first["id"]
    assert api.get(f"{URL}/{first['id']}").json()["family_name"] == person["family_name"]


@pytest.mark.parametrize("value", ["東京都", "東京", "Tokyo", 13, "13", "１３"])
def test_a_prefecture_is_a_name_or_a_jis_code(api: Client, value: object) -> None:
    response = post_json(api, URL, {"family_name": "山田", "prefecture": value})
    assert api.get(f"{URL}/{response.json()['id']}").json()["prefecture"] == 13


@pytest.mark.parametrize("value", ["²", "48", "東京県", 0])
def test_an_unknown_prefecture_is_422(api: Client, value: object) -> None:
    response = post_json(api, URL, {"family_name": "山田", "prefecture": value})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "prefecture"]


@pytest.mark.parametrize("value", ["NaN", "inf", 10**400, True])
def test_a_custom_number_json_cannot_hold_is_422(api: Client, value: object) -> None:
    # given a numeric custom field
    make_contacts(1)
    # when a contact is posted with a value that is no finite number
    response = post_json(api, URL, {"family_name": "山田", "custom_fields": {"employees": value}})
    # then the field is named, nothing is stored
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "custom_fields", "employees"]


# --- Malformed requests ---------------------------------------------------------------------


def test_malformed_json_is_422(api: Client) -> None:
    response = api.post(URL, '{"family_name": "山田",', content_type=JSON)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_a_body_that_is_not_json_is_415(api: Client) -> None:
    response = api.post(URL, {"family_name": "山田"})  # multipart form data
    assert response.status_code == 415
    assert response.json() == {"detail": "Send the body as JSON (Content-Type: application/json)."}


def test_a_body_over_the_size_limit_is_413(api: Client, settings: Settings) -> None:
    # given a 1 kB limit
    settings.API_MAX_BODY_BYTES = 1024
    # when a larger body is posted
    response = post_json(api, URL, {"family_name": "山田", "address": "東" * 300})
    # then it is refused before anything is read
    assert response.status_code == 413
    assert response.json() == {"detail": "Request body too large (limit 1024 bytes)."}
    assert Contact.objects.count() == 0


def test_django_s_own_body_limit_is_413_too(api: Client, settings: Settings) -> None:
    # given Django's upload limit lower than the API's
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    # when a body between the two is posted
    response = post_json(api, URL, {"family_name": "山田", "address": "東" * 300})
    # then Django's RequestDataTooBig is the same JSON 413
    assert response.status_code == 413
    assert set(response.json()) == {"detail"}


def test_an_unreadable_content_length_is_400(api: Client) -> None:
    response = api.generic(
        "POST", URL, '{"family_name": "山田"}'.encode(), JSON, CONTENT_LENGTH="abc"
    )
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid Content-Length header."}


def test_an_unknown_route_is_a_json_404(api: Client) -> None:
    response = api.get("/api/v1/companies")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found."}


def test_an_unsupported_method_is_a_json_405(api: Client) -> None:
    response = api.delete(f"{URL}/1")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed."}
    assert set(response["Allow"].split(", ")) == {"GET", "PATCH"}


def test_an_unexpected_error_is_a_json_500(api_token: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a bug somewhere below the API
    def broken(**kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("sokyaku.contacts.selectors.contact_get", broken)
    client = Client(headers={"Authorization": f"Bearer {api_token}"}, raise_request_exception=False)
    # when a client meets it
    response = client.get(f"{URL}/1")
    # then the answer is still the one error shape, without internals
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error."}


def test_the_api_root_is_a_json_404(api: Client) -> None:
    response = api.get("/api/v1/")
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


# --- Read -----------------------------------------------------------------------------------


def test_get_shows_the_contact(api: Client) -> None:
    # given a contact with company, tags, owner, custom fields and channel
    (contact,) = make_contacts(1)
    # when it is read
    response = api.get(f"{URL}/{contact.pk}")
    # then all of it is there
    body = response.json()
    assert response.status_code == 200
    assert body["company"] == {"id": contact.company_id, "name": "株式会社サンプル0"}
    assert body["tags"] == ["tag0", "展示会2025"]
    assert (body["owner"], body["first_touch_channel"]) == ("owner", "trade-show")
    assert body["custom_fields"] == {"employees": 120}
    assert (body["prefecture"], body["prefecture_name"]) == (13, "東京都")


def test_an_unknown_id_is_a_json_404(api: Client) -> None:
    response = api.get(f"{URL}/987654")
    assert response.status_code == 404
    assert response.json() == {"detail": "No contact with id 987654."}


def test_an_id_beyond_64_bits_is_422(api: Client) -> None:
    response = api.get(f"{URL}/{2**64}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "contact_id"]


def test_a_merged_away_id_answers_with_the_surviving_contact(api: Client) -> None:
    # given two contacts merged into one
    winner, loser = make_contacts(2)
    contact_merge(winner=winner, loser=loser)
    # when the merged-away id is read
    body = api.get(f"{URL}/{loser.pk}").json()
    # then the surviving contact answers
    assert body["id"] == winner.pk


# --- Search and paging ----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["山田", "やまだ", "ヤマダ", "yamada", "YAMADA 太郎", "サンプル"])
def test_search_finds_a_person_in_kanji_kana_and_romaji(api: Client, query: str) -> None:
    # given 山田 太郎 (ヤマダ タロウ) at 株式会社サンプル, and someone else
    _post(
        api,
        family_name="山田",
        given_name="太郎",
        family_name_kana="ヤマダ",
        given_name_kana="タロウ",
        company_name="株式会社サンプル",
    )
    _post(
        api, family_name="佐藤", given_name="花子", family_name_kana="サトウ", email="h@b.example"
    )
    # when contacts are searched
    body = api.get(URL, {"q": query}).json()
    # then only 山田 is found
    assert [item["display_name"] for item in body["items"]] == ["山田 太郎"]
    assert body["count"] == 1


def test_pages_cover_every_contact_once(api: Client) -> None:
    # given five contacts
    ids = {contact.pk for contact in make_contacts(5)}
    # when they are read two at a time
    pages = [api.get(URL, {"page": page, "page_size": 2}).json() for page in (1, 2, 3, 4)]
    # then three pages hold them all, newest first, and the page after is empty
    seen = [item["id"] for page in pages for item in page["items"]]
    assert sorted(seen) == sorted(ids)
    assert seen == sorted(seen, reverse=True)
    assert [len(page["items"]) for page in pages] == [2, 2, 1, 0]
    assert {(page["count"], page["pages"]) for page in pages} == {(5, 3)}


@pytest.mark.parametrize(
    "params", [{"page": 0}, {"page_size": 201}, {"page": "二"}, {"q": "a\x00"}]
)
def test_bad_list_parameters_are_422(api: Client, params: dict[str, str | int]) -> None:
    response = api.get(URL, params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_listing_costs_the_same_queries_for_3_or_30_contacts(
    api: Client, django_assert_max_num_queries: DjangoAssertNumQueries
) -> None:
    # given thirty contacts with company, owner, channel and tags each
    make_contacts(30)
    # when a page of them is listed (key check, count, rows, tags, scores + their rule set,
    # lifecycle stages, the data-access log entry)
    with django_assert_max_num_queries(9):
        response = api.get(URL, {"page_size": 30})
    # then every contact is there, with no query per row
    assert len(response.json()["items"]) == 30


def test_a_contact_carries_its_score_and_lifecycle_stage(api: Client) -> None:
    # given a new contact (no behaviour yet)
    (contact,) = make_contacts(1)
    # when it is read
    body = api.get(f"{URL}/{contact.pk}").json()
    # then its score and stage are part of it
    assert body["lifecycle_stage"] == "lead"
    assert set(body["score"]) == {"engagement", "fit", "total", "points", "temperature"}
    assert body["score"]["temperature"] in {"cold", "warm", "hot"}
    assert body["score"]["total"] == body["score"]["engagement"] + body["score"]["fit"]


# --- Edit -----------------------------------------------------------------------------------


def test_patch_changes_only_the_given_fields(api: Client) -> None:
    # given a contact
    (contact,) = make_contacts(1)
    # when its title is changed and its department set
    response = patch_json(api, f"{URL}/{contact.pk}", {"title": "取締役", "department": "営業部"})
    # then the answer is the edited contact, everything else unchanged
    body = response.json()
    assert response.status_code == 200
    assert (body["title"], body["department"]) == ("取締役", "営業部")
    assert (body["email"], body["tags"]) == ("taro0@example.co.jp", ["tag0", "展示会2025"])


def test_a_name_with_a_line_break_is_refused_on_its_field(api: Client) -> None:
    # given a contact
    (contact,) = make_contacts(1)
    # when its name is set to one with a line break inside, and a company name with an escape
    response = patch_json(
        api,
        f"{URL}/{contact.pk}",
        {"family_name": "山田\r\nX-Header: 1", "company_name": "A\x1b社"},
    )
    # then it is a 422 naming both fields, and nothing changed
    assert response.status_code == 422
    located = {tuple(item["loc"]) for item in response.json()["detail"]}
    assert {("body", "family_name"), ("body", "company_name")} <= located
    contact.refresh_from_db()
    assert "\n" not in contact.family_name


def test_patch_to_another_contact_s_email_is_409(api: Client) -> None:
    # given two contacts
    first, second = make_contacts(2)
    # when the second is given the first one's email
    response = patch_json(api, f"{URL}/{second.pk}", {"email": first.email})
    # then the API refuses and asks for a merge
    assert response.status_code == 409
    assert "Merge" in response.json()["detail"]
    assert Contact.objects.get(pk=second.pk).email == second.email


def test_patch_with_an_unreadable_phone_keeps_it_as_written_and_flags_it(api: Client) -> None:
    (contact,) = make_contacts(1)
    response = patch_json(api, f"{URL}/{contact.pk}", {"phone": "0120"})
    assert response.status_code == 200
    body = response.json()
    assert (body["phone"], body["phone_written"], body["phone_needs_review"]) == ("", "0120", True)


def test_patch_of_an_unknown_contact_is_404(api: Client) -> None:
    response = patch_json(api, f"{URL}/987654", {"title": "部長"})
    assert response.status_code == 404


# --- Timeline -------------------------------------------------------------------------------


def test_timeline_pages_with_a_cursor(api: Client) -> None:
    # given a contact with seven events (created + six notes)
    contact_id = post_json(api, URL, {"email": "taro@example.co.jp"}).json()["id"]
    notes = [
        {
            "type": "note",
            "contact_id": contact_id,
            "occurred_at": f"2025-06-0{day}T10:00:00+09:00",
            "properties": {"text": f"メモ{day}"},
        }
        for day in range(1, 7)
    ]
    post_json(api, "/api/v1/events", notes)
    # when the timeline is read three at a time, following `next`
    url = f"{URL}/{contact_id}/timeline"
    first = api.get(url, {"limit": 3}).json()
    second = api.get(url, {"limit": 3, "before": first["next"]}).json()
    third = api.get(url, {"limit": 3, "before": second["next"]}).json()
    # then every event comes once, newest first (the contact was created after the notes' times),
    # and the last page says there is no more
    items = [item for page in (first, second, third) for item in page["items"]]
    assert [item["type"] for item in items] == ["contact_created"] + ["note"] * 6
    assert [item["properties"].get("text") for item in items[1:]] == [
        f"メモ{day}" for day in (6, 5, 4, 3, 2, 1)
    ]
    assert [len(page["items"]) for page in (first, second, third)] == [3, 3, 1]
    assert third["next"] is None


def test_a_bad_cursor_is_422(api: Client) -> None:
    (contact,) = make_contacts(1)
    response = api.get(f"{URL}/{contact.pk}/timeline", {"before": "not-a-cursor"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "before"]


def test_anonymous_visits_join_the_timeline_when_the_visitor_fills_a_form(api: Client) -> None:
    # given two page views by an anonymous browser
    views = [
        {
            "type": "page_view",
            "visitor_id": "v-42",
            "properties": {"url": f"https://example.co.jp/{page}"},
        }
        for page in ("pricing", "case-study")
    ]
    post_json(api, "/api/v1/events", views)
    # when that browser submits a form that creates the contact
    contact_id = post_json(
        api, URL, {"family_name": "山田", "email": "taro@example.co.jp", "visitor_id": "v-42"}
    ).json()["id"]
    # and the browser keeps browsing
    post_json(
        api,
        "/api/v1/events",
        {
            "type": "page_view",
            "visitor_id": "v-42",
            "properties": {"url": "https://example.co.jp/demo"},
        },
    )
    # then the contact's timeline holds all three visits
    items = api.get(f"{URL}/{contact_id}/timeline").json()["items"]
    urls = sorted(item["properties"]["url"] for item in items if item["type"] == "page_view")
    assert urls == [f"https://example.co.jp/{page}" for page in ("case-study", "demo", "pricing")]
    assert Event.objects.filter(visitor_id="v-42", contact__isnull=True).count() == 0
