"""Factories for the sequences tests: consenting contacts, a complete sender, templates, and
sequences built through ``sequences.services.editing``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sokyaku.consent.models import ConsentStatus, ConsentTopic, LegalBasis
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.contacts.models import Contact
from sokyaku.contacts.services import ContactInput, contact_upsert
from sokyaku.core import clock
from sokyaku.core.calendar import TOKYO
from sokyaku.messaging.models import SenderProfile, Stream, Template
from sokyaku.sequences.models import Sequence, SequenceStatus, StepKind, TriggerKind
from sokyaku.sequences.services.editing import (
    SequenceInput,
    StepInput,
    sequence_activate,
    sequence_create,
)

_counter = iter(range(1, 10**9))
TOPIC = "product"


def tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)  # type: ignore[misc]


def topic_make(key: str = TOPIC) -> ConsentTopic:
    return ConsentTopic.objects.get_or_create(key=key, defaults={"name": "製品・サービス情報"})[0]


def contact_make(*, email: str = "", consent: bool = True, **fields: Any) -> Contact:
    n = next(_counter)
    data = ContactInput(
        family_name=fields.pop("family_name", "佐藤"),
        given_name=fields.pop("given_name", "花子"),
        email=email or f"lead{n}@example.jp",
        company_name=fields.pop("company_name", f"株式会社テスト{n}"),
        **fields,
    )
    contact = contact_upsert(data=data).contact
    if consent:
        consent_record(
            contact_id=contact.pk,
            topic=topic_make(),
            status=ConsentStatus.GRANTED,
            legal_basis=LegalBasis.OPT_IN,
            evidence=Evidence(source="form", source_detail="test"),
        )
    return contact


def sender_make() -> SenderProfile:
    now = clock.now()
    return SenderProfile.objects.create(
        name=f"sender {next(_counter)}",
        stream=Stream.MARKETING,
        from_name="株式会社サンプル マーケティング部",
        from_email="info@sample.example",
        reply_to="support@sample.example",
        sender_name="株式会社サンプル",
        postal_address="東京都千代田区丸の内1-1-1",
        complaints_contact="support@sample.example / 03-0000-0000",
        unsubscribe_wording="配信停止をご希望の方は、こちらから手続きしてください。",
        is_default=not SenderProfile.objects.filter(
            stream=Stream.MARKETING, is_default=True
        ).exists(),
        created_at=now,
        updated_at=now,
    )


def template_make(name: str = "") -> Template:
    now = clock.now()
    return Template.objects.create(
        name=name or f"template {next(_counter)}",
        subject="{{ contact.family_name }}様へのお知らせ",
        body_html='<p>{{ contact.family_name }}様</p><p><a href="https://sample.example/demo">デモ</a></p>',
        created_at=now,
        updated_at=now,
    )


def email(template: Template | None = None, name: str = "") -> StepInput:
    return StepInput(StepKind.EMAIL, name, {"template": (template or template_make()).pk})


def wait(amount: int, unit: str = "business_days") -> StepInput:
    return StepInput(StepKind.WAIT, "", {"amount": amount, "unit": unit})


def sequence_make(
    *,
    steps: list[StepInput] | None = None,
    trigger_kind: str = TriggerKind.MANUAL,
    trigger_config: dict[str, Any] | None = None,
    active: bool = True,
    **settings: Any,
) -> Sequence:
    topic_make()
    data = SequenceInput(
        name=settings.pop("name", f"sequence {next(_counter)}"),
        trigger_kind=trigger_kind,
        trigger_config=trigger_config or {},
        sender_id=settings.pop("sender_id", None) or sender_make().pk,
        topic_key=settings.pop("topic_key", TOPIC),
        **settings,
    )
    sequence = sequence_create(data=data, steps=steps if steps is not None else [email()])
    if active:
        sequence_activate(sequence=sequence)
    assert sequence.status == (SequenceStatus.ACTIVE if active else SequenceStatus.DRAFT)
    return sequence
