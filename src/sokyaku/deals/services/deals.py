"""Deals: create, edit, move between stages (the board), win, lose, reopen.

Every stage change is one locked read-modify-write of the deal: the caller names the
``version`` it saw, and a different stored version means someone else changed the deal
meanwhile, so the change is refused (``Conflict``, naming the stage the deal is in now) instead
of overwriting theirs. Each change appends a ``DealStageChange``, bumps ``version`` and records a
timeline event on the deal's contact (``deal_created``, ``deal_stage_changed``, ``deal_won``,
``deal_lost``).

The contact follows the deal through its lifecycle: a new deal makes it an opportunity (when it
is before that), a won deal a customer. The ``deal_won`` event carries the amount, products,
categories and pipeline, so sequences triggered by ``deal_won`` (onboarding, upsell,
cross-sell) enrol the customer through the event stream like any other trigger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts import sources
from sokyaku.contacts.models import Company, Contact
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.deals.models import (
    Deal,
    DealLine,
    DealStage,
    DealStageChange,
    DealStatus,
    ForecastCategory,
    LostReason,
    Pipeline,
    Product,
    StageKind,
)
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import ChangeSource, ContactStage, Stage

logger = logging.getLogger(__name__)

NAME_MAX = Deal._meta.get_field("name").max_length or 200
LINE_NAME_MAX = DealLine._meta.get_field("name").max_length or 150
NOTE_MAX = 2000
LINES_MAX = 100
AMOUNT_MAX = 10**15  # ¥1,000 trillion: beyond that it is a typo
QUANTITY_MAX = 10**6
# A new deal makes its contact an opportunity from these stages; customers and advocates
# (an upsell deal) stay what they are.
BEFORE_OPPORTUNITY = frozenset(
    {
        "",
        Stage.SUBSCRIBER,
        Stage.LEAD,
        Stage.MQL,
        Stage.SQL,
        Stage.RECYCLED,
        Stage.DISQUALIFIED,
    }
)
BEFORE_CUSTOMER = frozenset({"", *Stage.values}) - {Stage.CUSTOMER, Stage.ADVOCATE}
EDITABLE = frozenset(
    {
        "name",
        "contact",
        "company",
        "owner",
        "amount",
        "expected_close",
        "forecast_category",
        "lines",
    }
)
_EVENT_SOURCE: dict[str, str] = {
    ChangeSource.USER: EventSource.UI,
    ChangeSource.API: EventSource.API,
    ChangeSource.RULE: EventSource.SYSTEM,
    ChangeSource.SYSTEM: EventSource.SYSTEM,
}


# --- input ----------------------------------------------------------------------------------


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError(message, field_errors={field: message})


def amount_parse(value: Any, *, field: str = "amount") -> int | None:
    """A yen amount as a whole number ≥ 0 (``1200000``, ``1,200,000`` and ``¥1,200,000``
    alike); ``None`` for no amount. Raises ``ValidationError`` on ``field``."""
    if value is None or value == "":
        return None
    amount: int | None
    if isinstance(value, bool):
        amount = None
    elif isinstance(value, int):
        amount = value
    elif isinstance(value, float):
        amount = int(value) if value.is_integer() else None
    else:
        text = re.sub(r"[\s,，¥￥円]", "", str(value))
        amount = int(text) if re.fullmatch(r"-?\d{1,18}", text) else None
    if amount is None:
        raise _invalid(field, _("Enter the amount as a whole number of yen."))
    if amount < 0:
        raise _invalid(field, _("The amount cannot be negative."))
    if amount > AMOUNT_MAX:
        raise _invalid(field, _("The amount is implausibly large."))
    return amount


def _name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise _invalid("name", _("Give the deal a name."))
    if len(name) > NAME_MAX:
        raise _invalid("name", _("At most %(limit)d characters.") % {"limit": NAME_MAX})
    return name


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise _invalid(
            "expected_close", _("Enter the expected close date as YYYY-MM-DD.")
        ) from None


def _category(value: Any) -> str:
    category = str(value or ForecastCategory.PIPELINE)
    if category not in ForecastCategory.values:
        raise _invalid(
            "forecast_category",
            _("Choose a forecast category: %(choices)s.")
            % {"choices": ", ".join(str(label) for label in ForecastCategory.labels)},
        )
    return category


def _owner(owner: User | None) -> User | None:
    if owner is not None and not owner.is_active:
        raise _invalid("owner", _("The owner must be an active user."))
    return owner


def _contact_company(contact: Contact | None, company: Company | None) -> Company | None:
    """The deal's company: the one given, else the contact's; refused when they disagree."""
    if contact is not None and contact.merged_into_id:
        raise _invalid("contact", _("This contact was merged into another one."))
    if contact is None or contact.company_id is None:
        return company
    if company is None:
        return contact.company
    if company.pk != contact.company_id:
        raise _invalid("company", _("The contact works for another company."))
    return company


def _note(value: Any) -> str:
    note = str(value or "").strip()
    if len(note) > NOTE_MAX:
        raise _invalid("note", _("At most %(limit)d characters.") % {"limit": NOTE_MAX})
    return note


@dataclass(frozen=True)
class _Line:
    product: Product | None
    name: str
    quantity: int
    unit_price: int


def _lines(lines: Sequence[Mapping[str, Any]]) -> list[_Line]:
    """Deal lines from ``{"product": Product | id | None, "name", "quantity", "unit_price"}``;
    a product gives the name and unit price when they are left out."""
    if len(lines) > LINES_MAX:
        raise _invalid("lines", _("At most %(limit)d lines.") % {"limit": LINES_MAX})
    wanted = {
        int(raw)
        for line in lines
        if (raw := line.get("product", line.get("product_id"))) not in (None, "")
        and not isinstance(raw, Product)
        and str(raw).isdigit()
    }
    products = Product.objects.in_bulk(list(wanted)) if wanted else {}
    result: list[_Line] = []
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        raw = line.get("product", line.get("product_id"))
        product: Product | None
        if isinstance(raw, Product):
            product = raw
        elif raw in (None, ""):
            product = None
        else:
            product = products.get(int(raw)) if str(raw).isdigit() else None
            if product is None:
                raise _invalid(f"{where}.product", _("No product has this id."))
        name = " ".join(str(line.get("name") or "").split()) or (product.name if product else "")
        if not name:
            raise _invalid(f"{where}.name", _("Name the item or choose a product."))
        if len(name) > LINE_NAME_MAX:
            raise _invalid(
                f"{where}.name", _("At most %(limit)d characters.") % {"limit": LINE_NAME_MAX}
            )
        quantity_raw = line.get("quantity", 1)
        quantity = amount_parse(
            1 if quantity_raw in (None, "") else quantity_raw, field=f"{where}.quantity"
        )
        if quantity is None or not 1 <= quantity <= QUANTITY_MAX:
            raise _invalid(f"{where}.quantity", _("The quantity is a whole number from 1."))
        price_raw = line.get("unit_price")
        price = amount_parse(price_raw, field=f"{where}.unit_price")
        if price is None:
            if product is None:
                raise _invalid(f"{where}.unit_price", _("Enter the unit price."))
            price = product.unit_price
        result.append(_Line(product=product, name=name, quantity=quantity, unit_price=price))
    return result


def _lines_write(deal: Deal, lines: list[_Line]) -> int:
    """Replace the deal's lines; returns their total."""
    DealLine.objects.filter(deal=deal).delete()
    DealLine.objects.bulk_create(
        [
            DealLine(
                deal=deal,
                product=line.product,
                name=line.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for line in lines
        ]
    )
    return sum(line.quantity * line.unit_price for line in lines)


# --- shared steps ---------------------------------------------------------------------------


def _source(source: str | None, actor: User | None) -> str:
    if source:
        return source
    return ChangeSource.USER if actor is not None else ChangeSource.SYSTEM


def _record(deal: Deal, type: str, at: datetime, source: str, **properties: Any) -> None:
    """A timeline event on the deal's contact (a deal without a contact has no timeline)."""
    if deal.contact_id is None:
        return
    activity_services.event_ingest(
        event=event_factories.event_build(
            type=type,
            occurred_at=at,
            source=_EVENT_SOURCE.get(source, EventSource.SYSTEM),
            properties={"deal": deal.pk, "deal_name": deal.name, **properties},
            contact_id=deal.contact_id,
        )
    )


def _contact_stage(contact_id: int) -> str:
    return (
        ContactStage.objects.filter(contact_id=contact_id).values_list("stage", flat=True).first()
        or ""
    )


def _contact_move(
    contact: Contact | None,
    *,
    to_stage: str,
    before: frozenset[str],
    source: str,
    actor: User | None,
) -> None:
    """Move the deal's contact forward to ``to_stage`` when it is in one of ``before``."""
    if contact is None or contact.merged_into_id:
        return
    if _contact_stage(contact.pk) in before:
        lifecycle_services.stage_change(
            contact=contact, to_stage=to_stage, source=source, actor=actor, reason="deal"
        )


def _locked(deal: Deal, version: int | None) -> Deal:
    """The deal re-read under a row lock; ``Conflict`` when ``version`` is not the stored one."""
    current = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("stage", "pipeline", "contact", "company", "owner")
        .get(pk=deal.pk)
    )
    if version is not None and int(version) != current.version:
        raise Conflict(
            _(
                "Someone else changed this deal meanwhile: it is now in %(stage)s. "
                "Nothing was overwritten; reload and try again."
            )
            % {"stage": current.stage.name}
        )
    return current


def _stage_of(pipeline: Pipeline, kind: str) -> DealStage:
    stage = pipeline.stages.filter(kind=kind).order_by("position", "pk").first()
    if stage is None:
        raise _invalid("stage", _("This pipeline has no stage of this kind."))
    return stage


def _enter(
    deal: Deal, stage: DealStage, *, actor: User | None, at: datetime, fields: list[str]
) -> DealStage | None:
    """Put ``deal`` into ``stage`` (history row, stage clock restarted, version bumped) and save
    ``fields`` besides. Returns the stage it left."""
    previous = deal.stage if deal.stage_id else None
    DealStageChange.objects.create(deal=deal, from_stage=previous, to_stage=stage, at=at, by=actor)
    deal.stage = stage
    deal.stage_entered_at = at
    deal.stagnation_alerted_at = None
    deal.version += 1
    deal.updated_at = at
    deal.save(
        update_fields=[
            "stage",
            "stage_entered_at",
            "stagnation_alerted_at",
            "version",
            "updated_at",
            *fields,
        ]
    )
    return previous


# --- create and edit ------------------------------------------------------------------------


def deal_create(
    *,
    actor: User | None,
    name: str,
    contact: Contact | None = None,
    company: Company | None = None,
    owner: User | None = None,
    amount: int | str | None = None,
    expected_close: date | str | None = None,
    pipeline: Pipeline | None = None,
    stage: DealStage | None = None,
    lines: Sequence[Mapping[str, Any]] = (),
    handoff: Any = None,
    bant: Any = None,
    source: str | None = None,
    forecast_category: str | None = None,
) -> Deal:
    """Create a deal in ``stage`` (an open stage of ``pipeline``; default: the default pipeline's
    first stage).

    The company defaults to the contact's; the owner to the contact's owner, else ``actor``.
    With ``lines`` and no ``amount``, the amount is the lines' total. The forecast category
    defaults to pipeline. The contact becomes an opportunity when it is before that; a
    ``deal_created`` event goes on its timeline.

    Raises ``ValidationError`` with field errors for a missing name, an amount that is not a
    whole number of yen ≥ 0, a bad date, an inactive owner, a company that is not the
    contact's, a stage of another pipeline or a won/lost stage (use ``deal_win``/``deal_lose``),
    and bad lines (``lines.<i>.<field>``).
    """
    from sokyaku.deals import selectors

    source = _source(source, actor)
    name = _name(name)
    amount_value = amount_parse(amount)
    close = _date(expected_close)
    category = _category(forecast_category)
    company = _contact_company(contact, company)
    if owner is None:
        owner = (contact.owner if contact is not None else None) or actor
        if owner is not None and not owner.is_active:
            owner = actor
    owner = _owner(owner)
    if pipeline is None:
        pipeline = stage.pipeline if stage is not None else selectors.pipeline_default()
    if stage is None:
        stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("position", "pk").first()
        if stage is None:
            raise _invalid("stage", _("This pipeline has no open stage."))
    if stage.pipeline_id != pipeline.pk:
        raise _invalid("stage", _("This stage belongs to another pipeline."))
    if stage.kind != StageKind.OPEN:
        raise _invalid("stage", _("A new deal starts in an open stage; win or lose it from there."))
    parsed_lines = _lines(lines)
    now = clock.now()
    with transaction.atomic():
        deal = Deal.objects.create(
            pipeline=pipeline,
            stage=stage,
            name=name,
            contact=contact,
            company=company,
            owner=owner,
            amount=amount_value,
            expected_close=close,
            forecast_category=category,
            handoff=handoff,
            bant=bant,
            stage_entered_at=now,
            created_at=now,
            updated_at=now,
            created_by=actor,
        )
        DealStageChange.objects.create(deal=deal, from_stage=None, to_stage=stage, at=now, by=actor)
        if parsed_lines:
            total = _lines_write(deal, parsed_lines)
            if amount_value is None:
                deal.amount = total
                deal.save(update_fields=["amount"])
        _contact_move(
            contact,
            to_stage=Stage.OPPORTUNITY,
            before=BEFORE_OPPORTUNITY,
            source=source,
            actor=actor,
        )
        _record(
            deal,
            EventType.DEAL_CREATED,
            now,
            source,
            amount_jpy=deal.amount,
            pipeline=pipeline.name,
            stage=stage.name,
            owner=owner.pk if owner else None,
        )
    logger.info("deals.created", extra={"deal": deal.pk, "actor": actor.pk if actor else None})
    return deal


def deal_update(
    *, deal: Deal, actor: User | None, version: int | None, source: str | None = None, **fields: Any
) -> Deal:
    """Edit a deal's ``name``, ``contact``, ``company``, ``owner``, ``amount``,
    ``expected_close``, ``forecast_category`` or ``lines`` (only the keys given). New lines
    without a new amount set the amount to their total. Moves between stages go through
    ``deal_move``.

    Raises ``Conflict`` when ``version`` (``None``: not checked) is stale, ``ValidationError``
    for an unknown field and the input errors of ``deal_create``, and when a won deal would be
    left without an amount.
    """
    unknown = sorted(set(fields) - EDITABLE)
    if unknown:
        raise _invalid(unknown[0], _("This field cannot be changed here."))
    source = _source(source, actor)
    parsed_lines = _lines(fields["lines"]) if "lines" in fields else None
    now = clock.now()
    with transaction.atomic():
        current = _locked(deal, version)
        contact_before = current.contact_id
        changed: list[str] = []
        if "name" in fields:
            current.name = _name(fields["name"])
            changed.append("name")
        if "amount" in fields:
            current.amount = amount_parse(fields["amount"])
            changed.append("amount")
        if "expected_close" in fields:
            current.expected_close = _date(fields["expected_close"])
            changed.append("expected_close")
        if "owner" in fields:
            current.owner = _owner(fields["owner"])
            changed.append("owner")
        if "forecast_category" in fields:
            current.forecast_category = _category(fields["forecast_category"])
            changed.append("forecast_category")
        new_contact = "contact" in fields and fields["contact"] != current.contact
        if "contact" in fields or "company" in fields:
            contact = fields.get("contact", current.contact)
            if "company" in fields:
                company = fields["company"]
            elif contact is not None and contact.company_id:
                company = contact.company
            else:
                company = current.company
            current.contact = contact
            current.company = _contact_company(contact, company)
            changed += ["contact", "company"]
        if parsed_lines is not None:
            total = _lines_write(current, parsed_lines)
            if "amount" not in fields and parsed_lines:
                current.amount = total
                changed.append("amount")
        if current.status == DealStatus.WON and current.amount is None:
            raise _invalid("amount", _("A won deal needs an amount."))
        current.version += 1
        current.updated_at = now
        current.save(update_fields=[*dict.fromkeys(changed), "version", "updated_at"])
        if current.status == DealStatus.WON:  # won and revenue count its contact and amount
            ids = {pk for pk in (contact_before, current.contact_id) if pk is not None}
            sources.sources_changed(contact_ids=ids)
        if new_contact and current.status == DealStatus.OPEN:
            _contact_move(
                current.contact,
                to_stage=Stage.OPPORTUNITY,
                before=BEFORE_OPPORTUNITY,
                source=source,
                actor=actor,
            )
    logger.info("deals.updated", extra={"deal": current.pk, "fields": sorted(set(changed))})
    return current


def deal_lines_set(
    *,
    deal: Deal,
    lines: Sequence[Mapping[str, Any]],
    actor: User | None = None,
    version: int | None = None,
) -> Deal:
    """Replace a deal's lines; the amount becomes their total (see ``deal_update``)."""
    return deal_update(deal=deal, actor=actor, version=version, lines=lines)


# --- moving, winning, losing ----------------------------------------------------------------


def deal_move(
    *,
    deal: Deal,
    stage: DealStage,
    version: int,
    actor: User | None,
    lost_reason: str = "",
    note: str = "",
    source: str | None = None,
) -> Deal:
    """Move a deal to ``stage`` of its pipeline (a drag on the board).

    To the won stage it is ``deal_win``; to the lost stage ``deal_lose`` with ``lost_reason``;
    from a won or lost stage back to an open one it reopens (status open, closed time, reason
    and note cleared). The same stage changes nothing. Records a ``deal_stage_changed`` event.

    Raises ``Conflict`` when ``version`` is not the deal's current version (someone moved or
    edited it since: the message names the stage it is in now, nothing is written);
    ``ValidationError`` for a stage of another pipeline, a won stage without an amount (field
    ``amount``) and a lost stage without a reason (field ``lost_reason``).
    """
    source = _source(source, actor)
    with transaction.atomic():
        current = _locked(deal, version)
        if stage.pipeline_id != current.pipeline_id:
            raise _invalid("stage", _("This stage belongs to another pipeline."))
        if stage.pk == current.stage_id:
            return current
        if stage.kind == StageKind.WON:
            return _win(current, actor=actor, note=note, source=source)
        if stage.kind == StageKind.LOST:
            return _lose(current, actor=actor, reason=lost_reason, note=note, source=source)
        now = clock.now()
        reopened = current.status != DealStatus.OPEN
        fields: list[str] = []
        if reopened:
            current.status = DealStatus.OPEN
            current.closed_at = None
            current.lost_reason = ""
            current.close_note = ""
            fields = ["status", "closed_at", "lost_reason", "close_note"]
        previous = _enter(current, stage, actor=actor, at=now, fields=fields)
        _record(
            current,
            EventType.DEAL_STAGE_CHANGED,
            now,
            source,
            **{
                "from": previous.name if previous else "",
                "to": stage.name,
                "probability": stage.probability,
                "reopened": reopened,
            },
        )
    logger.info("deals.moved", extra={"deal": current.pk, "stage": stage.pk})
    return current


def _won_properties(deal: Deal) -> dict[str, Any]:
    lines = list(DealLine.objects.filter(deal=deal).select_related("product"))
    products = list(
        dict.fromkeys(line.product.name if line.product else line.name for line in lines)
    )
    categories = list(
        dict.fromkeys(
            line.product.category for line in lines if line.product and line.product.category
        )
    )
    return {
        "amount_jpy": deal.amount,
        "products": products,
        "categories": categories,
        "pipeline": deal.pipeline.name,
        "owner": deal.owner_id,
    }


def _win(deal: Deal, *, actor: User | None, note: str, source: str) -> Deal:
    if deal.status == DealStatus.WON:
        return deal
    if deal.amount is None:
        raise _invalid("amount", _("A won deal needs an amount."))
    note = _note(note)
    now = clock.now()
    won = _stage_of(deal.pipeline, StageKind.WON)
    deal.status = DealStatus.WON
    deal.closed_at = now
    deal.lost_reason = ""
    deal.close_note = note
    _enter(
        deal, won, actor=actor, at=now, fields=["status", "closed_at", "lost_reason", "close_note"]
    )
    # The stage first, then the event: a sequence reacting to deal_won sees a customer.
    _contact_move(
        deal.contact,
        to_stage=Stage.CUSTOMER,
        before=BEFORE_CUSTOMER,
        source=source,
        actor=actor,
    )
    _record(deal, EventType.DEAL_WON, now, source, note=note, **_won_properties(deal))
    logger.info("deals.won", extra={"deal": deal.pk, "amount": deal.amount})
    return deal


def deal_win(
    *,
    deal: Deal,
    actor: User | None,
    version: int | None = None,
    note: str = "",
    source: str | None = None,
) -> Deal:
    """Mark a deal won: it moves to its pipeline's won stage, its contact becomes a customer
    (``lifecycle.stage_change``) and a ``deal_won`` event ``{deal, amount_jpy, products,
    categories, pipeline}`` goes on the contact's timeline, where sequences with the
    ``deal_won`` trigger pick it up. A deal won already is returned as it is.

    Raises ``Conflict`` for a stale ``version`` (``None``: not checked) and ``ValidationError``
    (field ``amount``) when the deal has no amount.
    """
    with transaction.atomic():
        current = _locked(deal, version)
        return _win(current, actor=actor, note=note, source=_source(source, actor))


def _lose(deal: Deal, *, actor: User | None, reason: str, note: str, source: str) -> Deal:
    reason = (reason or "").strip()
    if reason not in LostReason.values:
        raise _invalid("lost_reason", _("Choose why the deal was lost."))
    note = _note(note)
    if deal.status == DealStatus.LOST:
        return deal
    now = clock.now()
    lost = _stage_of(deal.pipeline, StageKind.LOST)
    deal.status = DealStatus.LOST
    deal.closed_at = now
    deal.lost_reason = reason
    deal.close_note = note
    _enter(
        deal, lost, actor=actor, at=now, fields=["status", "closed_at", "lost_reason", "close_note"]
    )
    _record(
        deal,
        EventType.DEAL_LOST,
        now,
        source,
        reason=reason,
        note=note,
        amount_jpy=deal.amount,
        pipeline=deal.pipeline.name,
    )
    logger.info("deals.lost", extra={"deal": deal.pk, "reason": reason})
    return deal


def deal_lose(
    *,
    deal: Deal,
    actor: User | None,
    reason: str,
    note: str = "",
    version: int | None = None,
    source: str | None = None,
) -> Deal:
    """Mark a deal lost with a ``reason`` (a ``LostReason``) and an optional note; it moves to
    the lost stage and a ``deal_lost`` event goes on the contact's timeline (the reasons feed
    marketing's reports). A deal lost already is returned as it is.

    Raises ``Conflict`` for a stale ``version`` and ``ValidationError`` (field ``lost_reason``)
    without a known reason.
    """
    with transaction.atomic():
        current = _locked(deal, version)
        return _lose(current, actor=actor, reason=reason, note=note, source=_source(source, actor))
