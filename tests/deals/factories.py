"""Factories for the deals tests: users by role, contacts, products, deals and handoffs made
the way the product makes them (through services), except the handoff row, which stands in for
what routing would have produced."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User

from sokyaku.activity.models import EventSource
from sokyaku.contacts import services as contact_services
from sokyaku.contacts.models import Contact
from sokyaku.core import clock, roles
from sokyaku.core import services as core_services
from sokyaku.core.calendar import TOKYO
from sokyaku.deals import selectors
from sokyaku.deals import services as deal_services
from sokyaku.deals.models import Deal, DealStage, Pipeline, Product
from sokyaku.handoff.models import Handoff, TriggerKind
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import ChangeSource
from sokyaku.messaging.models import SenderProfile, Stream
from sokyaku.messaging.services import content as messaging_content

_counter = iter(range(1, 10**9))


def tokyo(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)  # type: ignore[misc, arg-type]


def user_make(role: str = roles.SALES_REP, name: str = "") -> User:
    n = next(_counter)
    username = name or f"user{n}"
    return core_services.user_create(
        username=username,
        password="x",
        role=role,
        email=f"{username}@sample.example",
        check_password=False,
    )


def contact_make(*, stage: str = "", **data: Any) -> Contact:
    n = next(_counter)
    data.setdefault("family_name", "山田")
    data.setdefault("given_name", "太郎")
    data.setdefault("email", f"taro{n}@example.jp")
    data.setdefault("company_name", f"株式会社テスト{n}")
    owner = data.pop("owner", None)
    contact = contact_services.contact_upsert(
        data=contact_services.ContactInput(**data), source=EventSource.API
    ).contact
    if owner is not None:
        Contact.objects.filter(pk=contact.pk).update(owner=owner)
        contact.refresh_from_db()
    if stage:
        lifecycle_services.stage_change(contact=contact, to_stage=stage, source=ChangeSource.SYSTEM)
    return contact


def product_make(name: str = "", *, category: str = "", unit_price: int = 100_000) -> Product:
    n = next(_counter)
    return deal_services.product_save(
        product=None,
        name=name or f"製品{n}",
        sku=f"SKU-{n}",
        category=category,
        unit_price=unit_price,
    )


def pipeline() -> Pipeline:
    return deal_services.pipeline_presets_install()


def stage(name: str) -> DealStage:
    return DealStage.objects.get(pipeline=pipeline(), name=name)


def deal_make(
    *,
    owner: User | None = None,
    contact: Contact | None = None,
    amount: int | None = 1_000_000,
    expected_close: date | None = None,
    stage_name: str = "商談開始",
    lines: Sequence[Mapping[str, Any]] = (),
    name: str = "",
) -> Deal:
    return deal_services.deal_create(
        actor=owner,
        name=name or f"商談{next(_counter)}",
        contact=contact if contact is not None else contact_make(),
        owner=owner,
        amount=amount,
        expected_close=expected_close,
        pipeline=pipeline(),
        stage=stage(stage_name),
        lines=lines,
    )


def handoff_make(
    *, contact: Contact, assignee: User | None, action: str = "デモ申し込み"
) -> Handoff:
    now = clock.now()
    return Handoff.objects.create(
        contact=contact,
        trigger_kind=TriggerKind.EVENT,
        action_label=action,
        acted_at=now,
        next_action="24時間以内に電話",
        assignee=assignee,
        created_at=now,
        sla_due_at=now,
    )


def transactional_sender_make() -> SenderProfile:
    """The sender of notices to staff (alerts), as an installation has it."""
    return messaging_content.sender_profile_create(
        data=messaging_content.SenderProfileInput(
            name="営業通知",
            stream=Stream.TRANSACTIONAL,
            from_name="株式会社サンプル 営業部",
            from_email="sales@sample.example",
            reply_to="sales@sample.example",
            sender_name="株式会社サンプル",
            postal_address="東京都千代田区丸の内1-1-1",
            complaints_contact="support@sample.example",
            is_default=True,
        ),
        actor=None,
    )


def fresh(deal: Deal) -> Deal:
    return selectors.deal_get(user=None, id=deal.pk)
