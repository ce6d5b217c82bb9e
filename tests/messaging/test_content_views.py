"""The mail content UI: templates (errors with lines, preview, test send), sender profiles,
broadcasts, chat channels, and who may change what."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sokyaku.consent.models import ConsentStatus
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.messaging.models import Broadcast, ChatChannel, Message, Template
from sokyaku.messaging.services import broadcasts
from tests.messaging.content_helpers import person, sender, static_segment, template
from tests.messaging.engine_factories import topic_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """Messages are asserted in English (the msgids); the UI default is Japanese."""


@pytest.fixture
def rep_client(client: Client, sales_rep) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(sales_rep)
    return client


def test_the_mail_home_lists_templates_in_few_queries(  # type: ignore[no-untyped-def]
    logged_in: Client, django_assert_max_num_queries
) -> None:
    for i in range(15):
        template(f"テンプレート{i}")

    with django_assert_max_num_queries(12):
        response = logged_in.get(reverse("messaging:home"))

    assert response.status_code == 200
    assert "テンプレート14" in response.content.decode()


def test_a_broken_template_shows_the_line_and_saves_nothing(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("messaging:template_create"),
        {
            "name": "壊れた",
            "subject": "件名",
            "body_html": "<p>a</p>\n<p>b</p>\n{% if contact.industry %}",
        },
    )

    assert response.status_code == 200
    assert "Line 3: " in response.content.decode()
    assert not Template.objects.exists()


def test_a_saved_template_shows_its_warnings(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("messaging:template_create"),
        {"name": "注意", "subject": "件名", "body_html": "<p>{{ contact.nickname }}</p>"},
        follow=True,
    )

    assert "contact.nickname" in response.content.decode()
    assert Template.objects.get().warnings


def test_the_preview_renders_as_the_chosen_contact_in_a_sandbox(logged_in: Client) -> None:
    contact = person(family_name="<b>山田</b>", email="yamada@example.com")
    tpl = template(body="<p>{{ contact.family_name }}様</p>")
    sender()

    response = logged_in.get(
        reverse("messaging:template_preview", args=[tpl.pk]), {"contact": contact.pk}
    )

    html = response.content.decode()
    assert "<iframe" in html and " sandbox " in html and "srcdoc=" in html
    # Escaped for the mail, then for the attribute: the name never becomes markup.
    assert "&amp;lt;b&amp;gt;山田&amp;lt;/b&amp;gt;様" in html
    assert "<b>山田</b>" not in html


def test_the_contact_picker_finds_contacts(logged_in: Client) -> None:
    person(family_name="鈴木", given_name="一郎", email="suzuki@example.com")

    response = logged_in.get(reverse("messaging:preview_contacts"), {"q": "鈴木"})

    assert "鈴木 一郎" in response.content.decode()


def test_test_send_queues_one_message_per_click(logged_in: Client) -> None:
    tpl = template()
    contact = person(family_name="山田", email="yamada@example.com")
    sender()
    url = reverse("messaging:template_test_send", args=[tpl.pk])

    logged_in.post(url, {"to_address": "me@example.com", "contact": contact.pk})
    logged_in.post(url, {"to_address": "me@example.com", "contact": contact.pk})

    assert Message.objects.filter(to_address="me@example.com").count() == 2


def test_a_sales_rep_sees_templates_but_cannot_change_them(rep_client: Client) -> None:
    tpl = template("閲覧のみ", body="<p>元</p>")

    page = rep_client.get(reverse("messaging:template_edit", args=[tpl.pk]))
    post = rep_client.post(
        reverse("messaging:template_edit", args=[tpl.pk]),
        {"name": "閲覧のみ", "subject": "件名", "body_html": "<p>変更</p>"},
    )
    create = rep_client.get(reverse("messaging:template_create"))

    tpl.refresh_from_db()
    assert page.status_code == 200
    assert post.status_code == 403 and create.status_code == 403
    assert tpl.body_html == "<p>元</p>"


def test_an_anonymous_visitor_is_sent_to_login(client: Client) -> None:
    response = client.get(reverse("messaging:home"))

    assert response.status_code == 302 and "login" in response["Location"]


def test_the_sender_list_shows_missing_legal_items(logged_in: Client) -> None:
    sender(postal_address="")

    response = logged_in.get(reverse("messaging:sender_list"))

    assert "postal address" in response.content.decode()


def test_a_sender_profile_is_created_from_the_form(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("messaging:sender_create"),
        {
            "name": "配信用",
            "stream": "marketing",
            "from_name": "サンプル",
            "from_email": "news@example.com",
            "complaint_threshold": "0.003",
        },  # fmt: skip
        follow=True,
    )

    html = response.content.decode()
    assert "cannot send marketing mail until" in html
    assert "sender name" in html


def test_a_broadcast_is_created_and_sent_now(logged_in: Client) -> None:
    from sokyaku.consent.models import ConsentTopic

    ConsentTopic.objects.get_or_create(key="newsletter", defaults={"name": "ニュースレター"})
    members = [person(family_name=f"読者{i}", email=f"r{i}@example.com") for i in range(2)]
    _subscribe(members[0])  # the other one never subscribed
    segment = static_segment("読者", members)
    tpl = template("ニュースレター")
    profile = sender()

    created = logged_in.post(
        reverse("messaging:broadcast_create"),
        {
            "name": "6月号",
            "template": tpl.pk,
            "sender": profile.pk,
            "segment": segment.pk,
            "topic_key": "newsletter",
        },  # fmt: skip
    )
    broadcast = Broadcast.objects.get()
    detail = logged_in.get(reverse("messaging:broadcast_detail", args=[broadcast.pk]))
    logged_in.post(reverse("messaging:broadcast_schedule", args=[broadcast.pk]), {"now": "1"})

    broadcast.refresh_from_db()
    assert created.status_code == 302
    page = detail.content.decode()
    assert "1 person will receive it" in page
    assert "2 members in the segment" in page
    assert "1 without consent for the topic, opted out or on the suppression list" in page
    assert broadcast.status == "scheduled" and broadcast.scheduled_at is not None


def test_the_broadcast_list_shows_recipient_counts(  # type: ignore[no-untyped-def]
    logged_in: Client, django_assert_max_num_queries
) -> None:
    from sokyaku.messaging.services import broadcasts

    profile, tpl = sender(), template()
    for i in range(5):
        broadcasts.broadcast_create(
            name=f"号{i}", template=tpl, sender=profile, segment=static_segment(f"s{i}", []),
            topic_key="newsletter", actor=None,
        )  # fmt: skip

    with django_assert_max_num_queries(12):
        response = logged_in.get(reverse("messaging:broadcast_list"))

    assert response.status_code == 200 and "号4" in response.content.decode()
    # a draft's segment size is not shown as its recipients (the page counts those)
    assert "0 members in the segment" in response.content.decode()


def test_a_chat_channel_with_http_is_refused_on_the_form(logged_in: Client) -> None:
    response = logged_in.post(
        reverse("messaging:chat_create"),
        {"name": "Slack", "kind": "slack", "url": "http://hooks.example.com/x", "is_active": "on"},
    )

    assert "https://" in response.content.decode()
    assert not ChatChannel.objects.exists()


def _subscribe(contact) -> None:  # type: ignore[no-untyped-def]
    consent_record(
        contact_id=contact.pk,
        topic=topic_make("newsletter"),
        status=ConsentStatus.GRANTED,
        legal_basis="opt_in",
        evidence=Evidence(source="form", source_detail="newsletter"),
    )


def _draft_newsletter():  # type: ignore[no-untyped-def]
    reader = person(family_name="佐藤", given_name="花子", email="hanako@example.com")
    _subscribe(reader)
    never = person(family_name="未同意", email="never@example.com")
    return broadcasts.broadcast_create(
        name="6月号",
        template=template("ニュースレター", subject="{{ contact.family_name }}様 6月号",
                          body="<p>{{ contact.family_name }}様、こんにちは。</p>"),
        sender=sender(), segment=static_segment("読者", [never, reader]),
        topic_key="newsletter", actor=None,
    )  # fmt: skip


def test_the_broadcast_page_previews_the_mail_for_a_real_recipient(logged_in: Client) -> None:
    broadcast = _draft_newsletter()

    page = logged_in.get(reverse("messaging:broadcast_detail", args=[broadcast.pk]))

    html = page.content.decode()
    # rendered for the first member who will really receive it, not the one without consent
    assert "佐藤様 6月号" in html
    assert "佐藤様、こんにちは。" in html
    assert "Send me a test" in html


def test_the_broadcast_page_names_the_consent_topic_not_its_key(logged_in: Client) -> None:
    broadcast = _draft_newsletter()

    html = logged_in.get(
        reverse("messaging:broadcast_detail", args=[broadcast.pk])
    ).content.decode()

    assert "<dd>メールマガジン</dd>" in html
    assert "<code>newsletter</code>" not in html


def test_a_test_send_goes_to_my_address_through_the_outbox_marked_as_test(
    logged_in: Client,
    marketer,  # type: ignore[no-untyped-def]
    smtp_server,  # type: ignore[no-untyped-def]
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    marketer.email = "marketer@sample.example"
    marketer.save(update_fields=["email"])
    broadcast = _draft_newsletter()

    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in.post(reverse("messaging:broadcast_test", args=[broadcast.pk]))

    assert response.status_code == 302
    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == "marketer@sample.example"
    assert mail["Subject"].startswith("[TEST]") and "佐藤様 6月号" in mail["Subject"]
    (message,) = Message.objects.all()
    assert (message.contact_id, message.broadcast_id) == (None, None)  # not counted as sent
    broadcast.refresh_from_db()
    assert broadcast.status == "draft"


def test_a_test_send_without_my_address_says_what_to_do(logged_in: Client) -> None:
    broadcast = _draft_newsletter()

    response = logged_in.post(reverse("messaging:broadcast_test", args=[broadcast.pk]), follow=True)

    assert "Add an email address to your account" in response.content.decode()
    assert not Message.objects.exists()


def test_the_frequency_cap_is_a_setting(logged_in: Client) -> None:
    from sokyaku.messaging.frequency import frequency_cap_get

    page = logged_in.get(reverse("messaging:frequency"))
    saved = logged_in.post(reverse("messaging:frequency"), {"per_day": "2", "sequences": "on"})
    refused = logged_in.post(reverse("messaging:frequency"), {"per_day": "99"})

    assert page.status_code == 200 and 'name="per_day" value="1"' in page.content.decode()
    assert saved.status_code == 302
    cap = frequency_cap_get()
    assert (cap.per_day, cap.sequences, cap.broadcasts) == (2, True, False)
    assert refused.status_code == 200
    assert "less than or equal to 20" in refused.content.decode()
    assert frequency_cap_get().per_day == 2
