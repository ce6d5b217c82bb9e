"""Factories for the sending-engine tests: a consenting contact, a complete sender, a template,
a queued message. Rows are made through the services where one exists."""

from __future__ import annotations

from typing import Any

from sokyaku.consent.models import ConsentStatus, ConsentTopic, LegalBasis
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock
from sokyaku.messaging.models import Message, SenderProfile, Stream, Template
from sokyaku.messaging.services.outbox import message_enqueue

_counter = iter(range(1, 10**9))


def topic_make(key: str = "newsletter") -> ConsentTopic:
    return ConsentTopic.objects.get_or_create(key=key, defaults={"name": "メールマガジン"})[0]


def contact_make(
    *, email: str = "", consent: bool = True, topic: str = "newsletter", **fields: Any
) -> Contact:
    n = next(_counter)
    data = ContactInput(
        family_name=fields.pop("family_name", "山田"),
        given_name=fields.pop("given_name", "太郎"),
        email=email or f"person{n}@example.jp",
        company_name=fields.pop("company_name", "株式会社テスト"),
        **fields,
    )
    contact = contact_upsert(data=data).contact
    if consent:
        consent_record(
            contact_id=contact.pk,
            topic=topic_make(topic),
            status=ConsentStatus.GRANTED,
            legal_basis=LegalBasis.OPT_IN,
            evidence=Evidence(source="form", source_detail="test"),
        )
    return contact


def sender_make(
    *, stream: str = Stream.MARKETING, complete: bool = True, **fields: Any
) -> SenderProfile:
    now = clock.now()
    values: dict[str, Any] = {
        "name": f"sender {next(_counter)}",
        "stream": stream,
        "from_name": "株式会社サンプル マーケティング部",
        "from_email": "info@sample.example",
        "reply_to": "support@sample.example",
        "sender_name": "株式会社サンプル" if complete else "",
        "postal_address": "東京都千代田区丸の内1-1-1" if complete else "",
        "complaints_contact": "support@sample.example / 03-0000-0000" if complete else "",
        "unsubscribe_wording": "配信停止をご希望の方は、こちらから手続きしてください。"
        if complete
        else "",
        "created_at": now,
        "updated_at": now,
    }
    values.update(fields)
    return SenderProfile.objects.create(**values)


def template_make(
    *,
    subject: str = "{{ contact.family_name }}様 資料ダウンロードのお礼",
    body_html: str = (
        "<p>{{ contact.family_name }}様</p><p>資料のご請求ありがとうございます。</p>"
        '<p><a href="https://sample.example/case-study">導入事例を見る</a></p>'
        '<p><a href="https://sample.example/demo">無料デモを予約</a></p>'
    ),
) -> Template:
    now = clock.now()
    return Template.objects.create(
        name=f"template {next(_counter)}",
        subject=subject,
        body_html=body_html,
        created_at=now,
        updated_at=now,
    )


def message_make(
    *,
    contact: Contact | None = None,
    sender: SenderProfile | None = None,
    template: Template | None = None,
    stream: str = Stream.MARKETING,
    topic_key: str = "newsletter",
    **fields: Any,
) -> Message:
    contact = contact if contact is not None else contact_make()
    message, _created = message_enqueue(
        dedupe_key=f"test:{next(_counter)}",
        contact=contact,
        stream=stream,
        sender=sender or sender_make(stream=stream),
        template=template or template_make(),
        topic_key=topic_key,
        **fields,
    )
    return message
