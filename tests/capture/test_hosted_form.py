"""The hosted form at /f/<slug>: what people see, and what one submission stores."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.test import Client

from sokyaku.activity.events import page_view
from sokyaku.activity.models import Event, EventType, Visitor
from sokyaku.activity.services import event_ingest
from sokyaku.capture.models import Submission
from sokyaku.consent.models import ConsentRecord, ConsentStatus, LegalBasis
from sokyaku.consent.services import text_sha256
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from tests.capture.conftest import PURPOSE_BODY, TOKEN_RE, answers, rendered_token

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (Macintosh) Safari/605"


def test_the_hosted_form_shows_its_fields_and_the_purpose_of_use_above_the_button(client, form):
    # when
    response = client.get("/f/whitepaper")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ja">' in html
    for text in ("資料請求フォーム", "お名前", "メールアドレス", "メールマガジン", "必須"):
        assert text in html
    assert PURPOSE_BODY in html
    assert html.index(PURPOSE_BODY) < html.index('type="submit"')
    assert html.count('name="prefecture"') == 1
    assert html.count('<option value="') == 1 + 47  # "please choose" and the prefectures
    assert 'name="website"' in html  # the honeypot
    # every rendering has its own submission token: never cached for others
    assert "no-store" in response["Cache-Control"]


def test_a_submission_creates_the_contact_one_event_and_the_consent_with_its_evidence(
    client, form, submit
):
    # when
    response = submit(
        "whitepaper",
        headers={"User-Agent": UA},
        REMOTE_ADDR="203.0.113.9",
    )
    # then the person is thanked
    assert response.status_code == 200
    assert "ありがとうございます" in response.content.decode()
    # and is one contact, written as typed (kana in katakana)
    contact = Contact.objects.get()
    assert (contact.display_name, contact.display_name_kana) == ("山田 太郎", "ヤマダ タロウ")
    assert (contact.email, contact.company.name, contact.title) == (
        "taro.yamada@example.co.jp",
        "株式会社サンプル",
        "部長",
    )
    assert (contact.phone, contact.prefecture) == ("+81312345678", 13)
    # with one form_submitted event carrying the form, the answers and the page
    event = Event.objects.get(type=EventType.FORM_SUBMITTED)
    assert event.contact_id == contact.pk
    assert event.properties["form"] == "whitepaper"
    assert event.properties["fields"]["question"] == "料金を教えてください"
    # and a consent record for the ticked topic only, with the exact text shown
    record = ConsentRecord.objects.get()
    assert record.topic.key == "newsletter"
    assert (record.status, record.legal_basis) == (ConsentStatus.GRANTED, LegalBasis.OPT_IN)
    assert (record.text_version, record.text_sha256) == (1, text_sha256(PURPOSE_BODY))
    assert (record.ip, record.user_agent) == ("203.0.113.9", UA)
    assert record.source_detail == "form:whitepaper"
    # and the submission row
    submission = Submission.objects.get()
    assert (submission.contact_id, submission.ip) == (contact.pk, "203.0.113.9")
    assert submission.purpose_text.version == 1


def test_the_consent_records_the_version_that_was_shown_even_if_the_text_changed_meanwhile(
    client, form, submit
):
    # given the form was rendered with version 1
    token = rendered_token(client, "whitepaper")
    # when the marketer publishes a new text before the person submits
    from sokyaku.capture.services import forms as form_services
    from sokyaku.capture.services.forms import FormInput

    form_services.form_update(form=form, data=FormInput(purpose_body="改訂版の利用目的"))
    submit("whitepaper", token=token)
    # then the record keeps the version the person saw
    assert ConsentRecord.objects.get().text_version == 1
    assert rendered_token(client, "whitepaper")  # and the form now shows version 2
    assert "改訂版の利用目的" in client.get("/f/whitepaper").content.decode()


def test_the_same_submission_twice_is_one_contact_and_one_event(client, form, submit):
    # given a rendered form
    token = rendered_token(client, "whitepaper")
    # when it is sent twice (a double click, a retry)
    first = submit("whitepaper", token=token)
    second = submit("whitepaper", token=token, wait=1)
    # then both answers thank the person, and one of everything is stored
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert Contact.objects.count() == 1
    assert Event.objects.filter(type=EventType.FORM_SUBMITTED).count() == 1
    assert Submission.objects.count() == 1
    assert ConsentRecord.objects.count() == 1


def test_a_retry_in_json_answers_200_with_the_same_thanks(client, form, submit):
    token = rendered_token(client, "whitepaper")
    first = submit("whitepaper", token=token, headers={"Accept": "application/json"})
    second = submit("whitepaper", token=token, wait=1, headers={"Accept": "application/json"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["message"] == second.json()["message"]
    assert second.json()["status"] == "duplicate"


def test_the_public_post_needs_no_csrf_cookie(form, submit):
    # given a browser that enforces CSRF and never got our cookie
    browser = Client(enforce_csrf_checks=True)
    # when it posts the form
    response = submit("whitepaper", using=browser)
    # then the submission is taken
    assert response.status_code == 200
    assert Contact.objects.count() == 1


def test_a_filled_honeypot_looks_like_success_but_stores_nothing(client, form, submit):
    # when a bot fills every field, the hidden one too
    response = submit("whitepaper", answers(website="https://spam.example"))
    # then it is thanked like anyone
    assert response.status_code == 200
    assert "ありがとうございます" in response.content.decode()
    # and nothing is stored
    assert not Contact.objects.exists()
    assert not Submission.objects.exists()
    assert not Event.objects.exists()


def test_a_submission_faster_than_the_minimum_fill_time_is_refused(client, form, submit):
    # when the form is sent one second after it was rendered (the minimum is 3)
    response = submit("whitepaper", wait=1)
    # then it is refused with a message, and nothing is stored
    assert response.status_code == 422
    assert "もう一度" in response.content.decode()
    assert not Contact.objects.exists()


def test_a_forged_or_missing_token_is_refused(client, form, now):
    response = client.post("/f/whitepaper", {**answers(), "_token": "forged"})
    assert response.status_code == 422
    assert not Contact.objects.exists()


def test_a_token_of_another_form_is_refused(client, form, topics, submit):
    # given a second form
    from tests.capture.conftest import lead_form

    lead_form(slug="other", name="別フォーム")
    token = rendered_token(client, "other")
    # when its token is posted to the first form
    response = submit("whitepaper", token=token)
    # then
    assert response.status_code == 422
    assert not Contact.objects.exists()


def test_field_errors_come_back_in_japanese_with_the_typed_values(client, form, submit):
    # when required answers are missing or wrong
    response = submit(
        "whitepaper",
        answers(family_name="", email="not-an-email", _agree="", family_name_kana="abc"),
    )
    # then the form comes back with an error at each, in Japanese, nothing stored
    html = response.content.decode()
    assert response.status_code == 422
    assert "このフィールドは必須です。" in html
    assert "有効なメールアドレスを入力してください。" in html
    assert "カタカナ" in html
    assert "同意" in html
    assert 'value="not-an-email"' in html
    assert not Contact.objects.exists()


def test_field_errors_in_english_for_an_english_form(client, topics, now, submit):
    from tests.capture.conftest import lead_form

    lead_form(slug="en-form", language="en")
    response = submit("en-form", answers(email="nope"))
    assert response.status_code == 422
    assert "Enter a valid email address." in response.content.decode()


def test_the_json_answer_lists_field_errors_by_input(client, form, submit):
    response = submit("whitepaper", answers(email=""), headers={"Accept": "application/json"})
    assert response.status_code == 422
    body = response.json()
    assert body["ok"] is False
    assert body["errors"] == {"email": "このフィールドは必須です。"}


def test_the_rate_limit_per_ip_answers_429_after_the_limit(client, topics, now, submit):
    # given a form that takes two submissions per address per hour
    from tests.capture.conftest import lead_form

    lead_form(rate_limit=2)
    for index in range(2):
        ok = submit("whitepaper", answers(email=f"p{index}@example.jp"), REMOTE_ADDR="198.51.100.7")
        assert ok.status_code == 200
    # when the same address sends a third
    response = submit("whitepaper", answers(email="p3@example.jp"), REMOTE_ADDR="198.51.100.7")
    # then it is told to wait, and nothing is stored
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert Contact.objects.count() == 2
    # while another address is served
    other = submit("whitepaper", answers(email="p4@example.jp"), REMOTE_ADDR="198.51.100.8")
    assert other.status_code == 200
    # and an hour later the first one is too
    clock.advance(timedelta(hours=1))
    later = submit("whitepaper", answers(email="p5@example.jp"), REMOTE_ADDR="198.51.100.7")
    assert later.status_code == 200


def test_utm_parameters_and_the_page_become_the_contacts_touch(client, form, submit):
    # given the form was opened from an ad
    response = client.get("/f/whitepaper?utm_source=google&utm_medium=cpc&utm_campaign=spring")
    token = re.search(r'name="_token" value="([^"]+)"', response.content.decode()).group(1)
    hidden = re.findall(
        r'<input type="hidden" name="(utm_\w+|_page_url)" value="([^"]*)"',
        response.content.decode(),
    )
    # when it is submitted with what the page rendered
    submit("whitepaper", {**answers(), **{k: html.unescape(v) for k, v in hidden}}, token=token)
    # then the contact's first touch and the event carry the campaign
    contact = Contact.objects.get()
    assert contact.first_touch["source"] == "google"
    assert contact.first_touch["campaign"] == "spring"
    assert "utm_campaign=spring" in contact.first_touch["url"]
    event = Event.objects.get(type=EventType.FORM_SUBMITTED)
    assert (event.properties["utm_source"], event.properties["utm_medium"]) == ("google", "cpc")


def test_the_visitor_cookie_ties_earlier_page_views_to_the_new_contact(client, form, submit):
    # given an anonymous visitor with a page view
    event_ingest(
        event=page_view(
            occurred_at=clock.now(), url="https://example.co.jp/price", visitor_id="v-1234567"
        )
    )
    client.cookies["sk_vid"] = "v-1234567"
    # when the visitor submits the form
    submit("whitepaper")
    # then the visitor is the contact, with the earlier view on the timeline
    contact = Contact.objects.get()
    assert Visitor.objects.get(id="v-1234567").contact_id == contact.pk
    assert Event.objects.get(type=EventType.PAGE_VIEW).contact_id == contact.pk


def test_the_posted_visitor_id_of_an_embedded_form_is_used_too(client, form, submit):
    submit("whitepaper", answers(_vid="embed-visitor"))
    assert Visitor.objects.get(id="embed-visitor").contact_id == Contact.objects.get().pk


def test_a_person_who_opted_out_of_tracking_is_not_joined_to_their_visits(client, form, submit):
    client.cookies["sk_vid"] = "v-1234567"
    client.cookies["sk_optout"] = "1"
    submit("whitepaper")
    submit("whitepaper", answers(_vid="embed-visitor"), headers={"Sec-GPC": "1"})
    assert not Visitor.objects.exists()


def test_unknown_and_unpublished_forms_answer_404(client, form, now):
    from sokyaku.capture.services import forms as form_services

    assert client.get("/f/no-such-form").status_code == 404
    assert client.post("/f/no-such-form", {"email": "a@example.jp"}).status_code == 404
    form_services.form_unpublish(form=form)
    assert client.get("/f/whitepaper").status_code == 404
    assert client.post("/f/whitepaper", answers()).status_code == 404
    assert not Contact.objects.exists()


def test_an_oversize_post_answers_413_and_stores_nothing(client, form, submit):
    response = submit("whitepaper", answers(question="あ" * 40_000))
    assert response.status_code == 413
    assert not Contact.objects.exists()


def test_a_too_long_answer_is_a_field_error(client, form, submit):
    response = submit("whitepaper", answers(question="a" * 5001))
    assert response.status_code == 422
    assert "長すぎます" in response.content.decode()


def test_nul_and_control_characters_are_refused_not_stored(client, form, submit):
    response = submit("whitepaper", answers(title="部長\x00"))
    assert response.status_code == 422
    assert not Contact.objects.exists()


def test_a_hidden_field_takes_the_url_parameter_of_its_name(client, topics, now, submit):
    from sokyaku.capture.services.forms import FieldSpec
    from tests.capture.conftest import lead_form

    lead_form(
        fields=[
            FieldSpec(type="email", label="メール", required=True),
            FieldSpec(type="hidden", label="広告ID", key="ad_id", default_value="none"),
        ]
    )
    page = client.get("/f/whitepaper?ad_id=A-42").content.decode()
    assert '<input type="hidden" name="ad_id" value="A-42">' in page
    token = re.search(r'name="_token" value="([^"]+)"', page).group(1)
    submit("whitepaper", answers(ad_id="A-42"), token=token)
    assert Submission.objects.get().data["ad_id"] == "A-42"


@pytest.mark.parametrize("path", ["/f/whitepaper/", "/f/whitepaper"])
def test_the_form_address_works_with_and_without_a_trailing_slash(client, form, submit, path):
    # when someone types the address with (or without) the slash a browser or CMS adds
    response = client.get(path)
    # then the form is there, and sending it from that address stores the submission
    assert response.status_code == 200
    assert "資料請求フォーム" in response.content.decode()
    token = TOKEN_RE.search(response.content.decode()).group(1)  # type: ignore[union-attr]
    clock.advance(timedelta(seconds=5))
    sent = client.post(path, {**answers(), "_token": token})
    assert sent.status_code == 200
    assert Submission.objects.count() == 1


def test_a_landing_page_address_works_with_a_trailing_slash(client, form):
    from sokyaku.capture.services import pages

    page = pages.page_create(
        data=pages.PageInput(
            title="資料請求",
            slug="guide",
            blocks=[pages.BlockSpec(kind="form", form_id=form.pk)],
        )
    )
    pages.page_publish(page=page)
    assert client.get("/p/guide/").status_code == client.get("/p/guide").status_code == 200


def test_a_full_width_email_typed_with_a_japanese_ime_is_accepted_and_normalised(
    client, form, submit
):
    # given the email input does not let the browser refuse full-width text
    html = client.get("/f/whitepaper").content.decode()
    email_input = re.search(r'<input [^>]*name="email"[^>]*>', html).group(0)  # type: ignore[union-attr]
    assert 'type="text"' in email_input
    assert 'inputmode="email"' in email_input
    assert 'autocomplete="email"' in email_input
    # when the address is typed in full width
    response = submit("whitepaper", answers(email="ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ"))
    # then it is accepted and stored as the plain address
    assert response.status_code == 200
    assert Contact.objects.get().email == "taro@example.co.jp"
    assert Submission.objects.get().data["email"] == "taro@example.co.jp"


def test_a_full_width_text_that_is_no_email_is_still_refused_at_the_field(client, form, submit):
    response = submit("whitepaper", answers(email="ｔａｒｏ＠"))
    assert response.status_code == 422
    assert "有効なメールアドレスを入力してください。" in response.content.decode()
    assert not Contact.objects.exists()


def test_the_timeline_names_the_form_a_person_sent(form, submit, logged_in):
    submit("whitepaper")
    contact = Contact.objects.get()
    html = logged_in.get(f"/contacts/{contact.pk}/").content.decode()
    assert "資料請求" in html  # the form's name, as on the forms page, not its address
