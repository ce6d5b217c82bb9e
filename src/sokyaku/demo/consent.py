"""Demo consent: topics, the purpose-of-use text, and each demo person's consent history.

Card exchanges at trade shows give the "business card" basis for every topic; a form
submission gives an opt-in with the purpose text; a few people later opt out of everything.
Deterministic: decided from the person's events and a hash of their email.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta

from sokyaku.activity.models import EventType
from sokyaku.consent import services
from sokyaku.consent.defaults import DEFAULT_TOPICS
from sokyaku.consent.models import (
    ConsentSource,
    ConsentStatus,
    ConsentTopic,
    LegalBasis,
    PurposeText,
)
from sokyaku.contacts.models import Contact
from sokyaku.demo.people import Person

TOPICS = DEFAULT_TOPICS

PURPOSE_TITLE = "個人情報の取り扱いについて"
PURPOSE_BODY = (
    "ご入力いただいた個人情報は、資料の送付、セミナー・イベントのご案内、製品・サービスに関する"
    "情報提供、お問い合わせへの回答のために利用します。法令に基づく場合を除き、ご本人の同意なく"
    "第三者に提供することはありません。配信停止はメール内のリンクからいつでも行えます。"
)


def consent_setup() -> tuple[list[ConsentTopic], PurposeText]:
    """The demo's consent topics and its purpose-of-use text (version 1)."""
    topics = [
        ConsentTopic.objects.get_or_create(key=key, defaults={"name": name, "description": text})[0]
        for key, name, text in TOPICS
    ]
    purpose = services.purpose_text_publish(
        key="default-form", title=PURPOSE_TITLE, body=PURPOSE_BODY
    )
    return topics, purpose


def consent_drafts(
    created: Sequence[tuple[Person, Contact]],
    *,
    topics: Sequence[ConsentTopic],
    purpose: PurposeText,
    trade_show_channel_id: int | None,
) -> list[services.NewConsent]:
    """The consent records of newly created demo contacts, oldest first per person."""
    records: list[services.NewConsent] = []
    for person, contact in created:
        forms = [d for d in person.drafts if d.type == EventType.FORM_SUBMITTED and not d.anonymous]
        card = contact.first_touch_channel_id == trade_show_channel_id
        decided_at = contact.created_at
        if card:
            records += [
                services.NewConsent(
                    contact_id=contact.pk,
                    topic=topic,
                    status=ConsentStatus.GRANTED,
                    legal_basis=LegalBasis.BUSINESS_CARD,
                    evidence=services.Evidence(source=ConsentSource.IMPORT, source_detail="展示会"),
                    at=contact.created_at,
                )
                for topic in topics
            ]
        if forms:
            first = min(forms, key=lambda d: d.at)
            decided_at = max(decided_at, first.at)
            records += [
                services.NewConsent(
                    contact_id=contact.pk,
                    topic=topic,
                    status=ConsentStatus.GRANTED,
                    legal_basis=LegalBasis.OPT_IN,
                    evidence=services.Evidence(
                        source=ConsentSource.FORM,
                        source_detail=str(first.properties.get("form", "")),
                        purpose_text=purpose,
                        ip="203.0.113.10",
                        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    ),
                    at=first.at,
                )
                for topic in topics[:2]
            ]
        digest = hashlib.sha256(contact.email.encode()).digest()[0]
        if (card or forms) and digest < 8:  # about 3 % opt out of everything later
            records.append(
                services.NewConsent(
                    contact_id=contact.pk,
                    topic=None,
                    status=ConsentStatus.WITHDRAWN,
                    legal_basis="",
                    evidence=services.Evidence(source=ConsentSource.UNSUBSCRIBE),
                    at=decided_at + timedelta(days=3),
                )
            )
    return records
