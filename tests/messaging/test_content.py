"""Content services: templates checked at save, sender profiles, chat channels, test sends,
presets."""

from __future__ import annotations

import pytest

from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.messaging import presets
from sokyaku.messaging.models import ChatKind, Message, SenderProfile, Stream, Template
from sokyaku.messaging.services import broadcasts, content
from tests.messaging.content_helpers import person, sender, static_segment, template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """Messages are asserted in English (the msgids); the UI default is Japanese."""


def data(**overrides: str) -> content.TemplateInput:
    values = {"name": "お礼メール", "subject": "件名", "preheader": "", "body_html": "<p>本文</p>"}
    values.update(overrides)
    return content.TemplateInput(**values)


# --- templates ------------------------------------------------------------------------------


def test_a_template_with_a_broken_tag_is_not_saved() -> None:
    with pytest.raises(ValidationError) as caught:
        content.template_create(
            data=data(body_html="<p>a</p>\n{% for x in contact.tags %}"), actor=None
        )

    assert caught.value.field_errors["body_html"].startswith("Line 2: ")
    assert not Template.objects.exists()


def test_a_broken_update_keeps_the_stored_template() -> None:
    stored = template("お礼メール", body="<p>元の本文</p>")

    with pytest.raises(ValidationError):
        content.template_update(template=stored, data=data(body_html="{% if %}"), actor=None)

    stored.refresh_from_db()
    assert stored.body_html == "<p>元の本文</p>"


def test_unknown_merge_fields_are_saved_with_warnings() -> None:
    saved = content.template_create(
        data=data(body_html="<p>{{ contact.nickname }}</p>"), actor=None
    )

    saved.refresh_from_db()
    assert len(saved.warnings) == 1 and "contact.nickname" in saved.warnings[0]


def test_fixing_the_field_clears_the_warning() -> None:
    saved = content.template_create(data=data(body_html="{{ contact.nickname }}"), actor=None)

    content.template_update(
        template=saved, data=data(body_html="{{ contact.family_name }}"), actor=None
    )

    saved.refresh_from_db()
    assert saved.warnings == []


def test_template_names_are_unique() -> None:
    template("お礼メール")

    with pytest.raises(ValidationError) as caught:
        content.template_create(data=data(), actor=None)

    assert "name" in caught.value.field_errors


def test_a_template_a_broadcast_uses_cannot_be_deleted() -> None:
    used = template("ニュースレター")
    broadcasts.broadcast_create(
        name="6月号", template=used, sender=sender(), segment=static_segment("読者", []),
        topic_key="newsletter", actor=None,
    )  # fmt: skip

    with pytest.raises(Conflict):
        content.template_delete(template=used, actor=None)

    assert Template.objects.filter(pk=used.pk).exists()


def test_an_unused_template_is_deleted() -> None:
    unused = template("下書き")

    content.template_delete(template=unused, actor=None)

    assert not Template.objects.filter(pk=unused.pk).exists()


# --- test sends -----------------------------------------------------------------------------


def test_each_test_send_queues_one_transactional_message_to_the_user() -> None:
    tpl = template()
    contact = person(family_name="山田", email="yamada@example.com")
    sender()

    first = content.template_test_send(
        template=tpl, contact=contact, to_address="me@example.com", actor=None
    )
    content.template_test_send(
        template=tpl, contact=contact, to_address="me@example.com", actor=None
    )

    assert Message.objects.count() == 2
    assert first.to_address == "me@example.com"
    assert first.stream == Stream.TRANSACTIONAL
    assert first.contact is None  # the shown contact gets no timeline event, no tracking
    assert first.context["test_send"]["contact_id"] == contact.pk


def test_a_test_send_to_a_bad_address_is_refused() -> None:
    with pytest.raises(ValidationError):
        content.template_test_send(template=template(), contact=None, to_address="nope", actor=None)

    assert not Message.objects.exists()


# --- sender profiles ------------------------------------------------------------------------


def test_one_default_profile_per_stream() -> None:
    first = sender(name="A")
    second = sender(name="B", from_email="b@example.com")
    transactional = sender(name="T", stream=Stream.TRANSACTIONAL)

    first.refresh_from_db()
    assert not first.is_default
    assert second.is_default and transactional.is_default


def test_the_first_profile_of_a_stream_becomes_its_default() -> None:
    profile = sender(is_default=False)

    assert profile.is_default


def test_an_incomplete_marketing_profile_is_saved_and_shows_what_is_missing() -> None:
    from sokyaku.messaging import rendering

    profile = sender(postal_address="")

    assert SenderProfile.objects.filter(pk=profile.pk).exists()
    assert rendering.sender_profile_check(profile) == ["postal address"]


def test_the_stream_of_a_profile_cannot_change() -> None:
    profile = sender()
    change = content.SenderProfileInput(
        name=profile.name, stream=Stream.TRANSACTIONAL, from_name="x", from_email="x@example.com"
    )

    with pytest.raises(ValidationError) as caught:
        content.sender_profile_update(profile=profile, data=change, actor=None)

    assert "stream" in caught.value.field_errors


def test_a_bad_from_address_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        sender(from_email="not-an-address")

    assert "from_email" in caught.value.field_errors


# --- chat channels --------------------------------------------------------------------------


def test_chat_channels_need_https() -> None:
    with pytest.raises(ValidationError) as caught:
        content.chat_channel_create(
            data=content.ChatChannelInput(
                name="社内Slack", kind=ChatKind.SLACK, url="http://hooks.example.com/x"
            ),
            actor=None,
        )

    assert "url" in caught.value.field_errors


def test_a_line_channel_needs_its_token_and_defaults_to_the_push_endpoint() -> None:
    with pytest.raises(ValidationError):
        content.chat_channel_create(
            data=content.ChatChannelInput(name="LINE", kind=ChatKind.LINE), actor=None
        )

    channel = content.chat_channel_create(
        data=content.ChatChannelInput(name="LINE", kind=ChatKind.LINE, secret="token"), actor=None
    )

    assert channel.url == content.LINE_PUSH_URL


def test_an_empty_secret_on_update_keeps_the_stored_one() -> None:
    channel = content.chat_channel_create(
        data=content.ChatChannelInput(name="LINE", kind=ChatKind.LINE, secret="token"), actor=None
    )

    content.chat_channel_update(
        channel=channel,
        data=content.ChatChannelInput(name="LINE公式", kind=ChatKind.LINE),
        actor=None,
    )

    channel.refresh_from_db()
    assert (channel.name, channel.secret) == ("LINE公式", "token")


# --- presets --------------------------------------------------------------------------------


def test_presets_install_once_and_keep_edits() -> None:
    presets.messaging_presets_install_if_missing()
    mail = Template.objects.get(name=presets.B2B_MAIL_2)
    content.template_update(
        template=mail, data=data(name=presets.B2B_MAIL_2, subject="編集済み"), actor=None
    )

    again = presets.messaging_presets_install_if_missing()

    mail.refresh_from_db()
    assert again == 0
    assert mail.subject == "編集済み"
    assert SenderProfile.objects.filter(is_default=True).count() == 2
