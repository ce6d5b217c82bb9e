"""Rendering: merge fields and fallbacks, syntax errors with lines, conditional blocks, CSS
inlining, the text part, tracking links and the 特定電子メール法 footer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sokyaku.core.errors import ValidationError
from sokyaku.messaging import presets, rendering, tokens
from sokyaku.messaging.models import Message, SenderProfile, Stream, Template
from sokyaku.messaging.services import content, outbox
from tests.messaging.content_helpers import WORDING, person, queued, sender, template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """Messages are asserted in English (the msgids); the UI default is Japanese."""


def check(body: str, *, subject: str = "件名", preheader: str = "") -> list[str]:
    return rendering.template_check(subject=subject, preheader=preheader, body_html=body)


# --- checking -------------------------------------------------------------------------------


def test_a_broken_tag_is_reported_with_its_line() -> None:
    body = "<p>1</p>\n<p>2</p>\n{% if contact.industry == 'E' %}\n<p>製造業</p>\n"

    with pytest.raises(ValidationError) as caught:
        check(body)

    assert caught.value.field_errors["body_html"].startswith("Line 3: ")
    assert "endif" in caught.value.field_errors["body_html"]


def test_a_tag_outside_the_allowed_set_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as caught:
        check("<p>a</p>\n{% load static %}")

    message = caught.value.field_errors["body_html"]
    assert message.startswith("Line 2: ")
    assert "{% load %}" in message


def test_the_safe_filter_is_not_available() -> None:
    with pytest.raises(ValidationError) as caught:
        check("{{ contact.family_name|safe }}")

    assert "|safe" in caught.value.field_errors["body_html"]


def test_a_broken_subject_is_reported_on_the_subject() -> None:
    with pytest.raises(ValidationError) as caught:
        check("<p>ok</p>", subject="{% if contact.family_name %}様")

    assert set(caught.value.field_errors) == {"subject"}


def test_unknown_merge_fields_are_warnings_with_their_line() -> None:
    warnings = check("<p>{{ contact.family_name }}様</p>\n<p>{{ contact.nickname }}</p>")

    assert len(warnings) == 1
    assert "contact.nickname" in warnings[0]
    assert "line 2" in warnings[0]


def test_known_fields_loop_variables_and_conditions_raise_no_warning() -> None:
    body = (
        '{% if contact.industry == "E" and contact.title_level >= 4 %}x{% endif %}'
        "{% for tag in contact.tags %}{{ tag }}{{ forloop.counter }}{% endfor %}"
        "{% with name=contact.family_name %}{{ name }}{% endwith %}"
        "{{ owner.name }}{{ asset.url }}{{ asset.title }}{{ contact.company.industry }}"
    )

    assert check(body) == []


def test_an_unknown_field_inside_a_condition_is_found() -> None:
    warnings = check('{% if contact.shoe_size == "27" %}x{% endif %}')

    assert ["contact.shoe_size" in w for w in warnings] == [True]


# --- merge fields ---------------------------------------------------------------------------


def test_merge_fields_use_the_contacts_data_surname_first() -> None:
    contact = person(
        family_name="山田", given_name="太郎", email="yamada@example.com",
        department="情報システム部", title="部長",
    )  # fmt: skip
    tpl = template(
        subject="{{ contact.family_name }}様へのご案内",
        body="<p>{{ contact.company_name }} {{ contact.department }} {{ contact.title }}</p>"
        "<p>{{ contact.full_name }}様</p>",
    )

    out = rendering.preview_render(template=tpl, contact=contact, sender=sender(), context={})

    assert out.subject == "山田様へのご案内"
    assert "株式会社テスト工業 情報システム部 部長" in out.html
    assert "山田 太郎様" in out.html


def test_fallbacks_stand_in_for_missing_data() -> None:
    contact = person(email="anon@example.com", company="")
    tpl = template(
        body='<p>{{ contact.family_name|default:"ご担当者" }}様</p><p>[{{ contact.nickname }}]</p>'
    )

    out = rendering.preview_render(template=tpl, contact=contact, sender=sender(), context={})

    assert "ご担当者様" in out.html
    assert "[]" in out.html  # an unknown field renders empty, never crashes


def test_the_asset_link_comes_from_the_message_context() -> None:
    contact = person(family_name="佐藤", email="sato@example.com")
    tpl = template(body='<a href="{{ asset.url }}">{{ asset.title }}をダウンロード</a>')
    message = queued(
        tpl=tpl, contact=contact, profile=sender(),
        asset={"url": "https://example.com/a/wp.pdf", "title": "ホワイトペーパー"},
    )  # fmt: skip

    out = rendering.message_render(message=message)

    assert out.links == ["https://example.com/a/wp.pdf"]
    assert "ホワイトペーパーをダウンロード" in out.html


def test_conditional_blocks_follow_the_industry() -> None:
    maker = person(
        family_name="工藤", email="kudo@example.com", industry="E", company="製造株式会社"
    )
    it = person(family_name="伊藤", email="ito@example.com", industry="G", company="情報株式会社")
    tpl = template(
        body='{% if contact.industry == "E" %}<p>製造業の課題</p>'
        "{% else %}<p>一般の課題</p>{% endif %}"
    )

    for_maker = rendering.preview_render(template=tpl, contact=maker, sender=sender(), context={})
    for_it = rendering.preview_render(template=tpl, contact=it, sender=None, context={})

    assert "製造業の課題" in for_maker.html and "一般の課題" not in for_maker.html
    assert "一般の課題" in for_it.html and "製造業の課題" not in for_it.html


def test_conditional_blocks_follow_title_level_and_tags() -> None:
    director = person(family_name="部田", email="bu@example.com", title="営業部長", tags=["VIP"])
    staff = person(family_name="平田", email="hira@example.com", title="担当")
    tpl = template(
        body="{% if contact.title_level >= 4 %}<p>ROI</p>{% endif %}"
        '{% if "VIP" in contact.tags %}<p>先行販売</p>{% endif %}'
    )

    top = rendering.preview_render(template=tpl, contact=director, sender=None, context={})
    other = rendering.preview_render(template=tpl, contact=staff, sender=None, context={})

    assert "ROI" in top.html and "先行販売" in top.html
    assert "ROI" not in other.html and "先行販売" not in other.html


def test_contact_data_is_escaped_in_html_but_not_in_the_subject() -> None:
    contact = person(family_name="<script>alert(1)</script>", email="x@example.com", company="A&B")
    tpl = template(
        subject="{{ contact.company_name }}様", body="<p>{{ contact.family_name }}様</p>"
    )

    out = rendering.preview_render(template=tpl, contact=contact, sender=None, context={})

    assert "<script>alert(1)</script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;様" in out.html
    assert out.subject == "A&B様"


# --- HTML, text, tracking -------------------------------------------------------------------


def test_css_is_inlined_and_the_preheader_comes_first_hidden() -> None:
    tpl = template(
        preheader="資料のご案内",
        body='<style>p.lead { color: #1f5fbf; }</style><p class="lead">本文です</p>',
    )

    out = rendering.preview_render(template=tpl, contact=None, sender=None, context={})

    assert "<style" not in out.html
    assert re.search(r'<p class="lead" style="color: #1f5fbf;">本文です</p>', out.html)
    body = out.html.split("<body", 1)[1]
    assert body.index("資料のご案内") < body.index("本文です")
    assert "display:none" in body[: body.index("資料のご案内")]
    assert "資料のご案内" not in out.text  # hidden text stays out of the plain-text part


def test_a_plain_text_part_is_generated_with_links() -> None:
    tpl = template(
        body='<p>こんにちは。</p><ul><li>課題1</li></ul><p><a href="https://example.com/demo">デモを申し込む</a></p>'
    )
    contact = person(family_name="山田", email="y@example.com")
    message = queued(tpl=tpl, contact=contact, profile=sender())

    out = rendering.message_render(message=message)

    assert "こんにちは。" in out.text
    assert "・課題1" in out.text
    assert f"デモを申し込む\n{tokens.click_url(message.pk, 0)}" in out.text
    assert "<p>" not in out.text


def test_links_are_tracked_by_position_except_mailto_and_opt_out() -> None:
    tpl = template(
        body='<a href="https://example.com/a">A</a> <a href="https://example.com/b?x=1&amp;y=2">B</a>'
        ' <a href="https://example.com/a">A again</a> <a href="mailto:info@example.com">mail</a>'
        ' <a href="{{ unsubscribe_url }}">配信停止</a>'
    )
    message = queued(tpl=tpl, contact=person(email="t@example.com"), profile=sender())

    out = rendering.message_render(message=message)

    assert out.links == ["https://example.com/a", "https://example.com/b?x=1&y=2"]
    assert out.html.count(tokens.click_url(message.pk, 0)) == 2
    assert tokens.click_url(message.pk, 1) in out.html
    assert 'href="mailto:info@example.com"' in out.html
    assert 'href="https://example.com/a"' not in out.html
    assert f'href="{tokens.unsubscribe_url(message.pk)}"' in out.html
    assert tokens.open_url(message.pk) in out.html


# --- the footer -----------------------------------------------------------------------------


def test_marketing_mail_carries_every_legal_item_in_html_and_text() -> None:
    profile = sender()
    message = queued(tpl=template(), contact=person(email="t@example.com"), profile=profile)

    out = rendering.message_render(message=message)

    unsubscribe = tokens.unsubscribe_url(message.pk)
    for part in (out.html, out.text):
        assert "株式会社サンプル" in part
        assert "東京都千代田区丸の内1-1-1" in part
        assert "support@example.com / 03-0000-0000" in part
        assert tokens.preferences_url(message.pk) in part
    # The refusal wording and the opt-out link are one sentence (the link is its "こちら").
    assert f'配信停止をご希望の方は、<a href="{unsubscribe}"' in out.html
    assert ">こちら</a>から手続きしてください。" in out.html
    assert f"{WORDING} {unsubscribe}" in out.text


def test_transactional_mail_names_the_sender_without_an_opt_out_link() -> None:
    profile = sender(stream=Stream.TRANSACTIONAL, unsubscribe_wording="")
    message = queued(
        tpl=template(), contact=person(email="t@example.com"), profile=profile,
        stream=Stream.TRANSACTIONAL,
    )  # fmt: skip

    out = rendering.message_render(message=message)

    assert "株式会社サンプル" in out.text and "東京都千代田区丸の内1-1-1" in out.text
    assert tokens.unsubscribe_url(message.pk) not in out.html
    assert WORDING not in out.text


def test_a_profile_without_legal_items_is_reported_item_by_item() -> None:
    profile = sender(
        sender_name="", postal_address="", complaints_contact="", unsubscribe_wording=""
    )

    missing = rendering.sender_profile_check(profile)

    assert missing == [
        "sender name",
        "postal address",
        "contact for complaints and questions",
        "opt-out wording",
    ]
    assert rendering.sender_profile_check(sender(stream=Stream.TRANSACTIONAL, sender_name="")) == []


def test_a_complete_marketing_profile_may_send() -> None:
    assert rendering.sender_profile_check(sender()) == []


# --- previews and test sends ----------------------------------------------------------------


def test_a_preview_renders_for_the_contact_with_inert_links() -> None:
    contact = person(family_name="鈴木", email="suzuki@example.com")
    tpl = template(body='<p>{{ contact.family_name }}様</p><a href="https://example.com/x">x</a>')

    out = rendering.preview_render(template=tpl, contact=contact, sender=sender(), context={})

    assert "鈴木様" in out.html
    assert out.links == ["https://example.com/x"]
    assert 'href="https://example.com/x"' not in out.html
    assert "/m/" not in out.html  # no tracking, open pixel or real opt-out link in a preview
    assert f"{WORDING} #" in out.text


def test_a_test_send_renders_as_the_contact_untracked_with_test_subject() -> None:
    contact = person(family_name="高橋", email="takahashi@example.com")
    profile = sender()
    tpl = template(
        subject="{{ contact.family_name }}様", body='<a href="https://example.com/x">x</a>'
    )
    message = content.template_test_send(
        template=tpl, contact=contact, to_address="me@example.com", actor=None
    )

    out = rendering.message_render(message=message)

    assert out.subject == "[TEST] 高橋様"
    assert 'href="https://example.com/x"' in out.html
    assert "/m/" not in out.html
    assert WORDING in out.text  # the marketing footer is shown, its links inert
    assert profile.pk == message.sender_id


def test_one_renderer_for_a_batch_gives_each_message_what_message_render_gives(
    django_assert_num_queries: Any,
) -> None:
    # given messages from two senders and two templates, a test send among them, with tags
    marketing, sales = sender(), sender(stream=Stream.TRANSACTIONAL, name="営業")
    greeting = template(
        "挨拶", subject="{{ contact.family_name }}様", body='<p>{{ contact.family_name }}様 '
        '{% if "VIP" in contact.tags %}VIP{% endif %}</p><a href="https://example.com/a">a</a>',
    )  # fmt: skip
    other = template("案内", subject="ご案内", body='<p>{{ owner.name|default:"担当" }}</p>')
    yamada = person(family_name="山田", email="yamada@example.com", tags=["VIP"])
    sato = person(family_name="佐藤", email="sato@example.com", company="")
    messages = [
        queued(tpl=greeting, contact=yamada, profile=marketing, key="a"),
        queued(tpl=other, contact=sato, profile=sales, stream=Stream.TRANSACTIONAL, key="b"),
        queued(tpl=greeting, contact=sato, profile=marketing, key="c"),
        content.template_test_send(
            template=greeting, contact=yamada, to_address="me@example.com", actor=None
        ),
    ]
    expected = [rendering.message_render(message=Message.objects.get(pk=m.pk)) for m in messages]
    batch = list(
        Message.objects.filter(pk__in=[m.pk for m in messages])
        .select_related("contact__company", "contact__owner", "sender", "template")
        .prefetch_related("contact__tags")
        .order_by("pk")
    )
    renderer = rendering.MessageRenderer()
    renderer.preload(batch)

    # when one renderer renders the whole batch
    with django_assert_num_queries(0):
        rendered = [renderer.render(message) for message in batch]

    # then every message gets exactly what it gets alone, with no query per message
    assert rendered == expected
    assert "VIP" in rendered[0].html and "VIP" not in rendered[2].html
    assert rendered[3].subject == "[TEST] 山田様"


# --- presets --------------------------------------------------------------------------------


def test_the_seed_templates_compile_cleanly_and_personalise() -> None:
    presets.messaging_presets_install_if_missing()
    names = set(Template.objects.values_list("name", flat=True))
    first = Template.objects.get(name=presets.B2B_MAIL_1)
    contact = person(
        family_name="田中", email="tanaka@example.com", industry="E", department="情報システム部"
    )
    profile = SenderProfile.objects.get(stream=Stream.MARKETING, is_default=True)
    message = queued(
        tpl=first, contact=contact, profile=profile,
        asset={"url": "https://example.com/a/guide.pdf", "title": "ITインフラ刷新ガイド"},
    )  # fmt: skip

    out = rendering.message_render(message=message)

    assert names >= set(presets.TEMPLATE_NAMES)
    assert all(t.warnings == [] for t in Template.objects.all())
    assert out.subject == "「ITインフラ刷新ガイド」資料のご請求ありがとうございました"
    assert "田中様" in out.html and "製造業" in out.html
    assert out.links[0] == "https://example.com/a/guide.pdf"
    assert WORDING in out.text


@pytest.mark.django_db
def test_an_owner_notification_without_a_template_is_plain_text_with_the_contact_link() -> None:
    # given a transactional notice for an owner (a sequence's "notify the owner" step)
    contact = person(family_name="<b>山田</b>")
    message, _created = outbox.message_enqueue(
        dedupe_key="notice-1",
        contact=contact,
        stream=Stream.TRANSACTIONAL,
        to_address="owner@example.co.jp",
        context={
            "notification": {
                "subject": "資料請求3通目のCTAがクリックされました",
                "text": "至急ご連絡ください。\n24時間以内に。",
                "contact_id": contact.pk,
                "contact_name": contact.display_name,
            }
        },
    )
    # when it is rendered
    rendered = rendering.message_render(message=message)
    # then it carries the text and a link to the contact, escaped in HTML, nothing tracked
    assert rendered.subject == "資料請求3通目のCTAがクリックされました"
    assert f"/contacts/{contact.pk}/" in rendered.text
    assert "至急ご連絡ください。" in rendered.text
    assert "&lt;b&gt;山田&lt;/b&gt;" in rendered.html and "<b>山田" not in rendered.html
    assert rendered.links == []
