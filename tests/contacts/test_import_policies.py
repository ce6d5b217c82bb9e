"""Imports never make data worse: kana readings stored as forms store them, a stored value
replaced only under the field's update policy (with a dry-run count of what will change), a
person matched to their company by email domain, extra columns to a custom field or a note."""

from __future__ import annotations

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.imports import run
from sokyaku.contacts.imports.mapping import mapping_infer
from sokyaku.contacts.models import Company, Contact, FieldDefinition
from sokyaku.contacts.services import ContactInput, company_upsert, contact_upsert
from sokyaku.core.errors import ValidationError
from tests.contacts.import_files import SHOW_HEADER, SHOW_ROWS, sjis_csv

pytestmark = pytest.mark.django_db

SHOW = "展示会 Y 2026"
MAPPING = {**mapping_infer(SHOW_HEADER), "ブース": "custom_new", "アンケート": "note"}


@pytest.fixture
def sasaki() -> Contact:
    company_upsert(
        name="株式会社桜ノヴァデザイン",
        name_kana="サクラノヴァデザイン",
        domain="sakura-nova.example",
    )
    return contact_upsert(
        data=ContactInput(
            family_name="佐々木", given_name="亮", family_name_kana="ササキ",
            given_name_kana="リョウ", email="ryo.sasaki@sakura-nova.example",
            company_name="株式会社桜ノヴァデザイン", title="課長",
        )
    ).contact  # fmt: skip


def _import(**policies: str) -> run.ImportJob:
    options = run.ImportOptions(source=SHOW, policies=policies)
    return run.import_file(
        data=sjis_csv(SHOW_ROWS), filename="show.csv", mapping=MAPPING, options=options
    )


def _person(email: str) -> Contact:
    return Contact.objects.select_related("company").get(email=email)


def test_kana_readings_are_stored_as_forms_store_them(sasaki):
    _import()
    readings = {
        c.family_name: (c.family_name_kana, c.given_name_kana) for c in Contact.objects.all()
    }
    assert readings == {
        "佐々木": ("ササキ", "リョウ"),
        "木下": ("キノシタ", "アオイ"),  # hiragana → katakana
        "石川": ("イシカワ", "ツバサ"),  # half-width → full width
    }


def test_people_stay_at_their_company_found_by_the_email_domain(sasaki):
    # when the file writes the company as ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ株式会社
    job = _import()
    # then 佐々木 stays at 株式会社桜ノヴァデザイン, his colleague joins it, and the only new
    # company is the one nobody knew
    assert (job.created_count, job.updated_count, job.error_count) == (2, 1, 0)
    assert _person("ryo.sasaki@sakura-nova.example").company_id == sasaki.company_id
    assert _person("aoi.kinoshita@sakura-nova.example").company_id == sasaki.company_id
    assert sorted(Company.objects.values_list("name", flat=True)) == [
        "株式会社ミナトロジ", "株式会社桜ノヴァデザイン",
    ]  # fmt: skip


def test_the_api_finds_the_company_by_the_email_domain_too(sasaki):
    result = contact_upsert(
        data=ContactInput(
            family_name="木下", email="aoi.kinoshita@sakura-nova.example",
            company_name="ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ(株)",
        )
    )  # fmt: skip
    assert result.contact.company_id == sasaki.company_id
    assert Company.objects.count() == 1


def test_a_free_mail_domain_never_picks_a_company():
    company_upsert(name="株式会社ジーメール", domain="gmail.com")
    contact = contact_upsert(
        data=ContactInput(family_name="林", email="hayashi@gmail.com", company_name="林商店")
    ).contact
    assert contact.company.name == "林商店"


def test_by_default_a_row_only_fills_empty_fields(sasaki):
    _import()
    sasaki.refresh_from_db()
    # the stored title stays, the empty department and phone are filled
    assert (sasaki.title, sasaki.department) == ("課長", "デザイン部")
    assert (sasaki.phone, sasaki.phone_extension) == ("+81350169744", "123")


def test_overwrite_replaces_the_stored_value(sasaki):
    _import(title="overwrite")
    sasaki.refresh_from_db()
    assert (sasaki.title, sasaki.department) == ("部長", "デザイン部")


def test_keep_leaves_even_an_empty_field_alone(sasaki):
    _import(department="keep", company_name="overwrite")
    sasaki.refresh_from_db()
    assert (sasaki.title, sasaki.department) == ("課長", "")
    assert sasaki.company_id == Company.objects.get(name="株式会社桜ノヴァデザイン").pk


def test_one_policy_for_every_field_with_exceptions(sasaki):
    _import(**{"*": "overwrite", "department": "keep"})
    sasaki.refresh_from_db()
    assert (sasaki.title, sasaki.department, sasaki.family_name_kana) == ("部長", "", "ササキ")


def test_an_unknown_policy_is_refused_and_nothing_is_imported(sasaki):
    with pytest.raises(ValidationError):
        _import(title="replace")
    with pytest.raises(ValidationError):
        _import(postal_code="overwrite")  # no column goes there
    assert Contact.objects.count() == 1


def test_extra_columns_go_to_a_new_custom_field_and_a_timeline_note(sasaki):
    _import()
    # ブース became a custom field, shown with its label
    booth = FieldDefinition.objects.get(label="ブース")
    assert _person("t.ishikawa@minato-logi.example").custom_fields == {booth.key: "B-3"}
    assert _person("ryo.sasaki@sakura-nova.example").custom_fields == {booth.key: "A-12"}
    # アンケート became a note on the timeline of the people who answered
    notes = Event.objects.filter(type=EventType.NOTE).order_by("contact_id")
    assert [(n.contact_id, n.properties["text"]) for n in notes] == [
        (sasaki.pk, "アンケート: 導入を検討中"),
        (_person("aoi.kinoshita@sakura-nova.example").pk, "アンケート: 資料希望"),
    ]
    assert notes[0].properties["author"] == SHOW


def test_importing_the_file_again_adds_no_field_no_note_and_changes_nothing(sasaki):
    _import()
    again = _import()
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 3)
    assert FieldDefinition.objects.count() == 1
    assert Event.objects.filter(type=EventType.NOTE).count() == 2


def test_an_unreadable_phone_in_a_file_keeps_the_row(sasaki):
    job = _import()
    assert job.error_count == 0
    ishikawa = _person("t.ishikawa@minato-logi.example")
    assert (ishikawa.phone, ishikawa.phone_written, ishikawa.phone_needs_review) == (
        "", "不明", True,
    )  # fmt: skip


def test_the_plan_counts_what_will_change_per_field_and_writes_nothing(sasaki):
    # given the uploaded file
    job = run.import_create(data=sjis_csv(SHOW_ROWS), filename="show.csv", user=None)
    options = run.ImportOptions(source=SHOW, policies={"title": "keep"})
    # when the plan is asked for
    plan = run.import_plan(job=job, mapping=MAPPING, options=options)
    # then it counts rows and, per field, what happens to the known contact's values
    assert (plan.created, plan.updated, plan.unchanged, plan.errors) == (2, 1, 0, 0)
    assert plan.new_companies == 1
    assert plan.new_custom_fields == ["ブース"]
    fields = {f.field: (f.filled, f.overwritten, f.kept) for f in plan.fields}
    assert fields == {"department": (1, 0, 0), "title": (0, 0, 1), "phone": (1, 0, 0)}
    # and nothing was written
    assert Contact.objects.count() == 1
    assert Company.objects.count() == 1
    assert Event.objects.filter(type=EventType.CONTACT_CREATED).count() == 1  # 佐々木's own
    # with overwrite for the title, the title is counted as overwritten
    plan = run.import_plan(
        job=job, mapping=MAPPING, options=run.ImportOptions(policies={"title": "overwrite"})
    )
    assert {f.field: f.overwritten for f in plan.fields}["title"] == 1


@pytest.mark.parametrize("reading", ["サクラノヴァデザイン", "さくらのゔぁでざいん", "ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ"])
def test_a_company_written_in_kana_is_the_company_with_that_reading(reading):
    # given a company known by its kanji name and its reading, without a domain
    company = company_upsert(name="株式会社桜ノヴァデザイン", name_kana=reading).company
    # when a file (no email) and the API name it in half-width kana
    rows = [["氏名", "会社名", "電話番号"], ["佐々木 亮", "ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ株式会社", "03-5016-9744"]]
    run.import_file(data=sjis_csv(rows), filename="cards.csv")
    api = contact_upsert(
        data=ContactInput(family_name="木下", company_name="(株)サクラノヴァデザイン")
    )
    # then both people are at that company, and no other company was created
    assert Contact.objects.get(family_name="佐々木").company_id == company.pk
    assert api.contact.company_id == company.pk
    assert Company.objects.count() == 1
