"""Test helpers for mail content: contacts with companies, templates, sender profiles, queued
messages and segments, all made through the services."""

from __future__ import annotations

from typing import Any

from sokyaku.contacts import services as contact_services
from sokyaku.contacts.models import Contact
from sokyaku.messaging.models import Message, SenderProfile, Stream, Template
from sokyaku.messaging.services import content
from sokyaku.messaging.services.outbox import message_enqueue
from sokyaku.segments import services as segment_services
from sokyaku.segments.models import Segment

WORDING = "配信停止をご希望の方は、こちらから手続きしてください。"


def person(*, industry: str = "", company: str = "株式会社テスト工業", **fields: Any) -> Contact:
    """A contact at a company of ``industry`` (JSIC letter), created through the services."""
    if company:
        contact_services.company_upsert(name=company, industry=industry or None)
        fields["company_name"] = company
    return contact_services.contact_upsert(data=contact_services.ContactInput(**fields)).contact


def template(name: str = "テンプレート", *, subject: str = "件名", preheader: str = "",
             body: str = "<p>本文</p>") -> Template:  # fmt: skip
    return content.template_create(
        data=content.TemplateInput(name=name, subject=subject, preheader=preheader, body_html=body),
        actor=None,
    )


def sender(*, stream: str = Stream.MARKETING, name: str = "", **overrides: Any) -> SenderProfile:
    values: dict[str, Any] = {
        "name": name or f"{stream} sender",
        "stream": stream,
        "from_name": "株式会社サンプル",
        "from_email": f"{stream}@example.com",
        "sender_name": "株式会社サンプル",
        "postal_address": "東京都千代田区丸の内1-1-1",
        "complaints_contact": "support@example.com / 03-0000-0000",
        "unsubscribe_wording": WORDING,
        "is_default": True,
    }
    values.update(overrides)
    return content.sender_profile_create(data=content.SenderProfileInput(**values), actor=None)


def queued(*, tpl: Template, contact: Contact | None, profile: SenderProfile | None,
           stream: str = Stream.MARKETING, key: str = "k1", **context: Any) -> Message:  # fmt: skip
    message, _created = message_enqueue(
        dedupe_key=key,
        contact=contact,
        stream=stream,
        sender=profile,
        template=tpl,
        topic_key="newsletter",
        context=context,
    )
    return message


def static_segment(name: str, contacts: list[Contact]) -> Segment:
    segment = segment_services.segment_create(name=name, kind="static")
    segment_services.segment_members_add(segment=segment, contact_ids=[c.pk for c in contacts])
    return segment
