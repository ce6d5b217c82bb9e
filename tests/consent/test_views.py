"""Consent settings pages: topics and versioned purpose-of-use texts."""

from __future__ import annotations

import pytest
from django.test import Client

from sokyaku.consent.models import ConsentTopic, PurposeText

pytestmark = pytest.mark.django_db


def test_a_marketer_creates_a_topic_and_sees_it(logged_in: Client):
    response = logged_in.post(
        "/consent/topics/new/",
        {
            "key": "newsletter",
            "name": "メールマガジン",
            "description": "<b>月2回</b>",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    page = logged_in.get("/consent/").content.decode()
    assert "メールマガジン" in page
    assert "&lt;b&gt;月2回&lt;/b&gt;" in page


def test_a_taken_key_is_a_field_error(logged_in: Client):
    ConsentTopic.objects.create(key="newsletter", name="A")
    response = logged_in.post("/consent/topics/new/", {"key": "newsletter", "name": "B"})
    assert response.status_code == 200
    assert ConsentTopic.objects.count() == 1


def test_saving_a_changed_text_makes_a_new_version(logged_in: Client):
    logged_in.post("/consent/texts/new/", {"key": "form", "title": "利用目的", "body": "第1版"})
    logged_in.post("/consent/texts/form/", {"title": "利用目的", "body": "第2版"})
    logged_in.post("/consent/texts/form/", {"title": "利用目的", "body": "第2版"})
    assert list(PurposeText.objects.values_list("version", "body").order_by("version")) == [
        (1, "第1版"), (2, "第2版")]  # fmt: skip
    page = logged_in.get("/consent/texts/form/").content.decode()
    assert "第1版" in page and "第2版" in page


def test_a_sales_rep_can_look_but_not_change(client: Client, sales_rep):
    client.force_login(sales_rep)
    assert client.get("/consent/").status_code == 200
    assert client.post("/consent/topics/new/", {"key": "x", "name": "x"}).status_code == 403


def test_the_contact_page_shows_consent_per_topic_and_the_history(logged_in: Client):
    from sokyaku.consent import services
    from sokyaku.consent.models import ConsentSource, ConsentStatus, LegalBasis
    from sokyaku.contacts.services import ContactInput, contact_upsert

    topic = ConsentTopic.objects.create(key="newsletter", name="メールマガジン")
    ConsentTopic.objects.create(key="seminars", name="セミナー案内")
    contact = contact_upsert(data=ContactInput(email="page@example.jp")).contact
    services.consent_record(
        contact_id=contact.pk, topic=topic, status=ConsentStatus.GRANTED,
        legal_basis=LegalBasis.BUSINESS_CARD,
        evidence=services.Evidence(source=ConsentSource.IMPORT, source_detail="<i>展示会</i>"),
    )  # fmt: skip
    page = logged_in.get(f"/contacts/{contact.pk}/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "メールマガジン" in page and "セミナー案内" in page
    assert "&lt;i&gt;展示会&lt;/i&gt;" in page
    assert page.count("badge--ok") == 1
