"""contact_upsert: one person stays one contact however they arrive."""

from __future__ import annotations

import pytest

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Company, Contact
from sokyaku.contacts.services import ContactInput, company_upsert, contact_update, contact_upsert
from sokyaku.core.errors import Conflict, ValidationError

pytestmark = pytest.mark.django_db


def _upsert(**fields):
    return contact_upsert(data=ContactInput(**fields))


def test_company_spelling_variants_land_on_one_contact():
    # given a person first met on a business card written in half-width kana
    first = _upsert(family_name="山田", given_name="太郎", company_name="ｻﾝﾌﾟﾙ株式会社")
    # when the same person arrives with the company written two other ways
    second = _upsert(family_name="山田", given_name="太郎", company_name="株式会社サンプル")
    third = _upsert(family_name="山田", given_name="太郎", company_name="(株)サンプル")
    # then there is one contact and one company
    assert first.created and not second.created and not third.created
    assert {first.contact.pk, second.contact.pk, third.contact.pk} == {first.contact.pk}
    assert Contact.objects.count() == 1
    assert Company.objects.count() == 1
    assert Company.objects.get().name == "ｻﾝﾌﾟﾙ株式会社"  # the first spelling is kept for display


def test_full_width_email_is_the_same_person():
    first = _upsert(email="taro@example.co.jp", family_name="山田")
    second = _upsert(email="ＴＡＲＯ＠ＥＸＡＭＰＬＥ．ＣＯ．ＪＰ", title="部長")
    assert second.contact.pk == first.contact.pk
    assert second.changed == ["title"]
    assert Contact.objects.get().email == "taro@example.co.jp"


def test_phone_formats_are_the_same_person():
    first = _upsert(phone="090-1234-5678", family_name="佐藤")
    second = _upsert(phone="+81 90 1234 5678", given_name="花子")
    contact = Contact.objects.get()
    assert second.contact.pk == first.contact.pk
    assert contact.phone == "+819012345678"
    assert contact.display_name == "佐藤 花子"


def test_a_card_without_email_then_a_form_with_email_is_one_contact():
    card = _upsert(family_name="鈴木", given_name="一郎", company_name="株式会社テスト")
    form = _upsert(family_name="鈴木", given_name="一郎", company_name="テスト㈱",
                   email="ichiro@test.example")  # fmt: skip
    assert form.contact.pk == card.contact.pk
    assert Contact.objects.get().email == "ichiro@test.example"


def test_same_name_same_company_but_different_emails_are_two_people():
    _upsert(family_name="佐藤", given_name="健", company_name="A社", email="ken1@a.example")
    _upsert(family_name="佐藤", given_name="健", company_name="A社", email="ken2@a.example")
    assert Contact.objects.count() == 2


def test_anonymous_input_fills_blanks_but_never_overwrites():
    known = _upsert(email="hanako@example.jp", family_name="田中", title="課長")
    again = contact_upsert(
        data=ContactInput(email="hanako@example.jp", family_name="偽名", title="社長",
                          department="経営企画部"),
        overwrite=False,
    )  # fmt: skip
    contact = Contact.objects.get(pk=known.contact.pk)
    assert again.changed == ["department"]
    assert (contact.family_name, contact.title, contact.department) == (
        "田中",
        "課長",
        "経営企画部",
    )


def test_unusual_names_round_trip_exactly():
    names = {"family_name": "髙﨑", "given_name": "太郎　😀", "family_name_kana": "タカサキ",
             "given_name_kana": "タロウ"}  # fmt: skip
    result = _upsert(**names, email="t@example.jp")
    contact = Contact.objects.get(pk=result.contact.pk)
    assert {k: getattr(contact, k) for k in names} == names
    assert contact.display_name == "髙﨑 太郎　😀"


def test_an_invalid_email_is_a_field_error_and_stores_nothing():
    with pytest.raises(ValidationError) as error:
        _upsert(email="not-an-email", phone="12", family_name="山田")
    assert set(error.value.field_errors) == {"email"}
    assert Contact.objects.count() == 0
    assert Event.objects.count() == 0


def test_nobody_without_any_identity_is_rejected():
    with pytest.raises(ValidationError):
        _upsert(department="営業部")


def test_postal_code_fills_the_prefecture():
    result = _upsert(email="a@example.jp", postal_code="５３０－０００１")
    assert (result.contact.postal_code, result.contact.prefecture) == ("530-0001", 27)


def test_creation_and_update_are_on_the_timeline():
    created = _upsert(email="x@example.jp")
    _upsert(email="x@example.jp", title="主任")
    _upsert(email="x@example.jp", title="主任")  # no change, no event
    types = list(
        Event.objects.filter(contact=created.contact).order_by("id").values_list("type", flat=True)
    )
    assert types == [EventType.CONTACT_CREATED, EventType.CONTACT_UPDATED]


def test_tags_are_added_not_replaced_by_upsert():
    _upsert(email="t@example.jp", tags=["展示会2026"])
    _upsert(email="t@example.jp", tags=["資料DL"])
    contact = Contact.objects.get()
    assert sorted(contact.tags.values_list("name", flat=True)) == ["展示会2026", "資料DL"]


def test_editing_to_another_contacts_email_is_a_conflict():
    _upsert(email="a@example.jp")
    b = _upsert(email="b@example.jp").contact
    with pytest.raises(Conflict):
        contact_update(contact=b, data=ContactInput(email="a@example.jp"))
    b.refresh_from_db()
    assert b.email == "b@example.jp"


def test_company_upsert_fills_blanks_only():
    first = company_upsert(name="株式会社サンプル", industry="G", employee_count=120)
    again = company_upsert(name="サンプル", industry="E", prefecture="東京都")
    company = Company.objects.get()
    assert first.created and not again.created
    assert (company.industry, company.employee_band, company.prefecture) == ("G", "100-299", 13)


def test_an_edit_can_clear_prefecture_and_owner(marketer):
    contact = _upsert(email="p@example.jp", prefecture="大阪府", owner_id=marketer.pk).contact
    contact_update(contact=contact, data=ContactInput(clear=("prefecture", "owner_id")))
    contact.refresh_from_db()
    assert (contact.prefecture, contact.owner_id) == (None, None)


def test_a_rejected_edit_leaves_the_object_as_stored():
    _upsert(email="a@example.jp")
    b = _upsert(email="b@example.jp", title="課長").contact
    with pytest.raises(Conflict):
        contact_update(contact=b, data=ContactInput(email="a@example.jp", title="部長"))
    assert (b.email, b.title) == ("b@example.jp", "課長")


@pytest.mark.parametrize(
    "field", ["family_name", "given_name", "family_name_kana", "given_name_kana", "company_name"]
)
@pytest.mark.parametrize("control", ["\r\n", "\n", "\x00", "\x1b", "\x7f", "\u202e", "\u2028"])
def test_a_name_with_a_control_character_inside_is_refused(field, control):
    # when a contact is written with a control character inside a name
    with pytest.raises(ValidationError) as refused:
        contact_upsert(data=ContactInput(email="ctl@example.jp", **{field: f"山{control}田"}))
    # then that field is named, and nothing is stored
    assert field in refused.value.field_errors
    assert not Contact.objects.filter(email="ctl@example.jp").exists()


def test_surrounding_whitespace_of_a_name_is_only_trimmed():
    contact = contact_upsert(
        data=ContactInput(email="trim@example.jp", family_name=" 山田\r\n", company_name="\tA社 ")
    ).contact
    assert (contact.family_name, contact.company.name) == ("山田", "A社")
