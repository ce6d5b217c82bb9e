"""Building forms: the purpose-of-use rule for publishing, the field builder, the settings page,
the forms list, and the JSON API."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from sokyaku.capture.models import Form, FormField
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import FieldSpec, FormInput
from sokyaku.consent.models import PurposeText
from sokyaku.core.errors import ValidationError
from tests.capture.conftest import PURPOSE_BODY, lead_form

pytestmark = pytest.mark.django_db

FIELDS = [
    FieldSpec(type="name", label="お名前", required=True),
    FieldSpec(type="email", label="メールアドレス", required=True),
]


def _draft(**values) -> Form:
    values.setdefault("fields", FIELDS)
    values.setdefault("name", "お問い合わせ")
    return form_services.form_create(data=FormInput(**values))


# --- The purpose-of-use rule ----------------------------------------------------------------


def test_a_form_without_a_purpose_of_use_text_cannot_be_published():
    # given a draft with fields but no purpose-of-use text
    form = _draft()
    # when it is published
    with pytest.raises(ValidationError) as caught:
        form_services.form_publish(form=form)
    # then it is refused, naming the missing text, and stays a draft
    assert "purpose_key" in caught.value.field_errors
    form.refresh_from_db()
    assert not form.is_published


def test_with_its_own_text_the_form_publishes_and_the_text_is_versioned():
    form = _draft(purpose_body=PURPOSE_BODY)
    form_services.form_publish(form=form)
    assert form.is_published
    text = PurposeText.objects.get(key=f"form-{form.pk}")
    assert (text.version, text.title, text.body) == (1, "個人情報の取り扱いについて", PURPOSE_BODY)
    form_services.form_update(form=form, data=FormInput(purpose_body=PURPOSE_BODY + "（改訂）"))
    assert PurposeText.objects.filter(key=f"form-{form.pk}").count() == 2


def test_a_shared_text_can_be_chosen_by_key(db):
    from sokyaku.consent.services import purpose_text_publish

    purpose_text_publish(key="privacy", title="個人情報保護方針", body="共通の利用目的")
    form = _draft(purpose_key="privacy")
    assert form_services.form_publish(form=form).purpose_key == "privacy"
    with pytest.raises(ValidationError):
        form_services.form_update(form=form, data=FormInput(purpose_key="no-such-text"))


def test_a_published_form_cannot_lose_its_purpose_of_use_text(topics, now):
    form = lead_form()
    with pytest.raises(ValidationError) as caught:
        form_services.form_update(form=form, data=FormInput(purpose_key=""))
    assert "purpose_key" in caught.value.field_errors
    form.refresh_from_db()
    assert form.is_published and form.purpose_key


def test_a_published_form_cannot_lose_its_identity_field(topics, now):
    form = lead_form()
    email = form.fields.get(type="email")
    name = form.fields.get(type="name")
    form_services.form_field_remove(form=form, field_id=name.pk)  # email remains
    with pytest.raises(ValidationError):
        form_services.form_field_remove(form=form, field_id=email.pk)
    assert form.fields.filter(type="email").exists()


def test_double_opt_in_needs_a_required_email_field(db):
    form = _draft(
        purpose_body=PURPOSE_BODY,
        double_opt_in=True,
        fields=[FieldSpec(type="phone", label="電話", required=True)],
    )
    with pytest.raises(ValidationError) as caught:
        form_services.form_publish(form=form)
    assert "double_opt_in" in caught.value.field_errors


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ([FieldSpec(type="email", label="a"), FieldSpec(type="email", label="b")], "fields.1.type"),
        ([FieldSpec(type="select", label="業種")], "fields.0.options"),
        ([FieldSpec(type="text", label="x", key="email")], "fields.0.key"),
        ([FieldSpec(type="text", label="x", key="utm_source")], "fields.0.key"),
        ([FieldSpec(type="text", label="")], "fields.0.label"),
        ([FieldSpec(type="rating", label="x")], "fields.0.type"),
        ([FieldSpec(type="text", label="x", custom_field_key="nope")], "fields.0.custom_field_key"),
    ],
)
def test_bad_fields_are_refused_with_their_position(db, fields, error):
    with pytest.raises(ValidationError) as caught:
        form_services.form_create(data=FormInput(name="x", fields=fields))
    assert error in caught.value.field_errors
    assert not Form.objects.exists()


def test_free_fields_get_keys_from_their_labels(db):
    form = form_services.form_create(
        data=FormInput(
            name="x",
            fields=[
                FieldSpec(type="text", label="Budget"),
                FieldSpec(type="text", label="ご予算"),
                FieldSpec(type="text", label="Budget"),
            ],
        )
    )
    assert list(form.fields.values_list("key", flat=True)) == ["budget", "field", "budget_2"]


def test_a_taken_address_gets_the_next_free_number_and_reserved_words_are_refused(topics, now):
    lead_form()
    assert _draft(slug="whitepaper").slug == "whitepaper-2"
    assert _draft(slug="whitepaper").slug == "whitepaper-3"
    assert _draft(name="Spring Seminar").slug == "spring-seminar"
    assert _draft(name="春のセミナー").slug.startswith("form-")
    with pytest.raises(ValidationError) as caught:
        _draft(slug="confirm")
    assert "slug" in caught.value.field_errors


# --- UI -------------------------------------------------------------------------------------


def test_the_ui_refuses_to_publish_without_a_purpose_text_and_says_why(logged_in):
    form = _draft()
    response = logged_in.post(f"/capture/forms/{form.pk}/publish/", follow=True)
    html = response.content.decode()
    assert "公開するには利用目的の文章が必要です。" in html
    form.refresh_from_db()
    assert not form.is_published


def test_building_a_form_in_the_ui(logged_in, topics):
    # when a marketer creates a form
    created = logged_in.post("/capture/forms/new/", {"name": "セミナー申込", "kind": "standard"})
    form = Form.objects.get()
    assert created["Location"] == f"/capture/forms/{form.pk}/fields/"
    # it starts with name, email and company
    assert list(form.fields.values_list("type", flat=True)) == ["name", "email", "company"]
    # adds a drop-down
    added = logged_in.post(
        f"/capture/forms/{form.pk}/fields/add/",
        {
            "new-type": "select",
            "new-label": "参加方法",
            "new-options": "会場\nオンライン",
            "new-required": "on",
        },
    )
    assert added.status_code == 302
    select = form.fields.get(type="select")
    assert (select.options, select.required) == (["会場", "オンライン"], True)
    # moves it up and renames it
    logged_in.post(f"/capture/forms/{form.pk}/fields/{select.pk}/move/", {"direction": "up"})
    assert list(form.fields.values_list("type", flat=True)) == [
        "name",
        "email",
        "select",
        "company",
    ]
    logged_in.post(
        f"/capture/forms/{form.pk}/fields/{select.pk}/",
        {f"f{select.pk}-type": "select", f"f{select.pk}-label": "ご参加方法",
         f"f{select.pk}-options": "会場\nオンライン"},
    )  # fmt: skip
    assert FormField.objects.get(pk=select.pk).label == "ご参加方法"
    # writes the purpose of use and offers the newsletter
    saved = logged_in.post(
        f"/capture/forms/{form.pk}/edit/",
        {
            "name": "セミナー申込",
            "slug": "seminar",
            "kind": "standard",
            "language": "ja",
            "purpose_key": "",
            "purpose_title": "個人情報の取り扱い",
            "purpose_body": PURPOSE_BODY,
            "require_agreement": "on",
            "rate_limit": "10",
            "min_fill_seconds": "3",
            "allowed_origins": "https://www.example.co.jp\n*.example.co.jp",
            f"consent_{topics[0].pk}": "on",
            f"consent_{topics[0].pk}_label": "メールマガジンを受け取る",
        },
    )
    assert saved.status_code == 302, saved.content.decode()
    form.refresh_from_db()
    assert form.slug == "seminar"
    assert form.allowed_origins == ["https://www.example.co.jp", "*.example.co.jp"]
    assert form.consents.get().label == "メールマガジンを受け取る"
    # publishes it, and the overview shows the embed code
    logged_in.post(f"/capture/forms/{form.pk}/publish/")
    form.refresh_from_db()
    assert form.is_published
    overview = logged_in.get(f"/capture/forms/{form.pk}/").content.decode()
    assert "data-sokyaku-form=&quot;seminar&quot;" in overview
    assert "/f/seminar/embed.js" in overview


def test_a_bad_setting_comes_back_on_its_field_in_japanese(logged_in):
    form = _draft()
    response = logged_in.post(
        f"/capture/forms/{form.pk}/edit/",
        {
            "name": "x",
            "slug": "x",
            "kind": "standard",
            "language": "ja",
            "rate_limit": "10",
            "min_fill_seconds": "3",
            "allowed_origins": "*.com",
        },
    )
    assert response.status_code == 200
    assert "https://www.example.co.jp や *.example.co.jp の形式で入力してください。" in (
        response.content.decode()
    )


def test_a_sales_rep_sees_forms_but_cannot_change_them(client, sales_rep):
    form = _draft()
    client.force_login(sales_rep)
    assert client.get("/capture/forms/").status_code == 200
    assert client.post("/capture/forms/new/", {"name": "x", "kind": "standard"}).status_code == 403
    assert client.post(f"/capture/forms/{form.pk}/publish/").status_code == 403


def test_the_form_list_answers_in_a_fixed_number_of_queries(
    logged_in, topics, now, submit, django_assert_max_num_queries
):
    # given forms with submissions
    from tests.capture.conftest import answers

    for index in range(4):
        lead_form(slug=f"form-{index}", name=f"フォーム{index}")
        submit(f"form-{index}", answers(email=f"p{index}@example.jp"))

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert logged_in.get("/capture/forms/").status_code == 200
        return len(queries)

    few = count()
    for index in range(4, 10):
        lead_form(slug=f"form-{index}", name=f"フォーム{index}")
    # then the page costs the same with more forms, and no more than the pin
    assert count() == few
    with django_assert_max_num_queries(7):  # session, user, permissions ×2, role, count, rows
        html = logged_in.get("/capture/forms/").content.decode()
    assert "フォーム9" in html and "公開中" in html
