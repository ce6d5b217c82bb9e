"""An anonymous submission about a known contact never overwrites: what differs waits on the
contact page until someone accepts or rejects it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact, PendingChange
from sokyaku.contacts.services import ContactInput, contact_upsert
from tests.capture.conftest import answers

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(db) -> Contact:
    return contact_upsert(
        data=ContactInput(
            family_name="山田",
            given_name="太郎",
            email="taro.yamada@example.co.jp",
            company_name="株式会社サンプル",
            title="課長",
        )
    ).contact


def _detail(contact: Contact) -> str:
    return f"/contacts/{contact.pk}/"


def test_a_known_email_keeps_its_values_fills_blanks_and_proposes_the_rest(known, form, submit):
    # when someone submits the form with the known email, a new title and a phone
    submit("whitepaper", answers(title="部長", company="株式会社サンプル"))
    # then the contact keeps its title, gets the phone it lacked
    contact = Contact.objects.get()
    assert contact.pk == known.pk
    assert contact.title == "課長"
    assert contact.phone == "+81312345678"
    # and the new title waits for review
    change = PendingChange.objects.get()
    assert change.values == {"title": "部長"}
    assert change.status == PendingChange.Status.PENDING
    assert change.source == "form:whitepaper"
    # and the form submission is on the contact's timeline all the same
    assert Event.objects.filter(type=EventType.FORM_SUBMITTED, contact=contact).count() == 1


def test_the_same_values_propose_nothing(known, form, submit):
    submit("whitepaper", answers(title="課長", family_name_kana="", given_name_kana=""))
    assert not PendingChange.objects.exists()


def test_the_contact_page_shows_the_change_and_accepting_applies_it(known, form, submit, logged_in):
    # given a pending change
    submit("whitepaper", answers(title="部長"))
    change = PendingChange.objects.get()
    # when the contact page is opened
    html = logged_in.get(_detail(known)).content.decode()
    # then the change is shown, current and proposed
    assert "確認待ちの変更" in html
    assert "課長" in html and "部長" in html
    # when it is accepted
    response = logged_in.post(f"/contacts/{known.pk}/pending/{change.pk}/accept/")
    # then the contact has the proposed value, recorded on the timeline
    assert response.status_code == 302
    known.refresh_from_db()
    change.refresh_from_db()
    assert known.title == "部長"
    assert change.status == PendingChange.Status.ACCEPTED
    assert change.decided_by is not None and change.decided_at is not None
    assert Event.objects.filter(type=EventType.CONTACT_UPDATED, contact=known).exists()
    assert "確認待ちの変更" not in logged_in.get(_detail(known)).content.decode()


def test_rejecting_leaves_the_contact_as_it_was(known, form, submit, logged_in):
    submit("whitepaper", answers(title="部長"))
    change = PendingChange.objects.get()
    logged_in.post(f"/contacts/{known.pk}/pending/{change.pk}/reject/")
    known.refresh_from_db()
    change.refresh_from_db()
    assert known.title == "課長"
    assert change.status == PendingChange.Status.REJECTED
    # and a decided change cannot be decided again
    again = logged_in.post(f"/contacts/{known.pk}/pending/{change.pk}/accept/", follow=True)
    assert "すでに処理済み" in again.content.decode()
    known.refresh_from_db()
    assert known.title == "課長"


def test_a_company_change_is_proposed_not_applied(known, form, submit, logged_in):
    # the same company, written otherwise, is no change
    submit("whitepaper", answers(company="ｻﾝﾌﾟﾙ株式会社", title="課長"))
    assert not PendingChange.objects.exists()
    submit("whitepaper", answers(company="株式会社アザー", title="課長"))
    change = PendingChange.objects.get()
    assert change.values == {"company_name": "株式会社アザー"}
    logged_in.post(f"/contacts/{known.pk}/pending/{change.pk}/accept/")
    known.refresh_from_db()
    assert known.company.name == "株式会社アザー"


def test_someone_who_may_not_edit_the_contact_cannot_decide(known, form, submit):
    submit("whitepaper", answers(title="部長"))
    change = PendingChange.objects.get()
    viewer = get_user_model().objects.create_user(username="viewer", password="x")
    viewer.user_permissions.add(Permission.objects.get(codename="view_contact"))
    browser = Client()
    browser.force_login(viewer)
    response = browser.post(f"/contacts/{known.pk}/pending/{change.pk}/accept/")
    assert response.status_code == 403
    change.refresh_from_db()
    assert change.status == PendingChange.Status.PENDING


SCRIPT = "<script>alert(1)</script>"


def test_script_in_every_field_is_stored_as_text_and_shown_inert(topics, now, submit, logged_in):
    # given a form whose fields all take text, and a known contact for the pending change
    from tests.capture.conftest import lead_form

    form = lead_form()
    contact_upsert(data=ContactInput(email="x@example.jp", title="課長", department="営業部"))
    from sokyaku.capture.services import forms as form_services
    from sokyaku.capture.services.forms import FieldSpec, FormInput

    form_services.form_update(
        form=form,
        data=FormInput(
            fields=[
                FieldSpec(type="name", label="お名前", required=True),
                FieldSpec(type="email", label="メール", required=True),
                FieldSpec(type="company", label="会社"),
                FieldSpec(type="department", label="部署"),
                FieldSpec(type="title", label="役職"),
                FieldSpec(type="address", label="住所"),
                FieldSpec(type="text", label="一言", key="note"),
                FieldSpec(type="textarea", label="ご質問", key="question"),
            ]
        ),
    )
    # when every text field carries a script
    posted = {
        "family_name": SCRIPT,
        "given_name": SCRIPT,
        "email": "x@example.jp",
        "company": SCRIPT,
        "department": SCRIPT,
        "title": SCRIPT,
        "address": SCRIPT,
        "note": SCRIPT,
        "question": SCRIPT,
        "_agree": "1",
    }
    response = submit("whitepaper", posted)
    assert response.status_code == 200
    # then it is stored exactly as typed
    contact = Contact.objects.get(email="x@example.jp")
    assert contact.family_name == SCRIPT and contact.address == SCRIPT
    assert PendingChange.objects.get().values["title"] == SCRIPT
    # and shown as text on the form's submission list and on the contact page
    for page in (f"/capture/forms/{form.pk}/", f"/contacts/{contact.pk}/"):
        html = logged_in.get(page).content.decode()
        assert SCRIPT not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
