"""Accepting a handoff with BANT: the rep's qualification turns the lead into an SQL and then
an opportunity with a deal, all or nothing.

The rep's form (or the API) sends two parts, ``bant`` and ``deal``; an error in either comes
back with its field prefixed (``bant.budget_amount_jpy``, ``deal.amount``), so the form can show
it next to the right input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from sokyaku.core.errors import NotFound, ValidationError
from sokyaku.deals import selectors
from sokyaku.deals.models import Deal
from sokyaku.deals.services.deals import deal_create
from sokyaku.handoff.models import Handoff
from sokyaku.lifecycle import services as lifecycle_services
from sokyaku.lifecycle.models import ChangeSource

logger = logging.getLogger(__name__)

BANT_FIELDS = frozenset(
    {
        "budget_amount_jpy",
        "budget_band",
        "authority",
        "need",
        "need_tags",
        "timeline_date",
        "timeline_band",
    }
)
DEAL_FIELDS = frozenset(
    {"name", "amount", "expected_close", "pipeline", "stage", "lines", "owner", "company"}
)


def _prefixed(exc: ValidationError, prefix: str) -> ValidationError:
    errors = {f"{prefix}.{field}": message for field, message in exc.field_errors.items()}
    return ValidationError(exc.message, field_errors=errors or {prefix: exc.message})


def _unknown(data: Mapping[str, Any], allowed: frozenset[str], prefix: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        message = _("Unknown field.")
        raise ValidationError(message, field_errors={f"{prefix}.{unknown[0]}": message})


def deal_name_default(handoff: Handoff) -> str:
    """``{company} — {action}`` (株式会社サンプル — デモ申し込み); the person's name stands in for
    a contact without a company."""
    contact = handoff.contact
    who = contact.company.name if contact.company_id and contact.company else contact.display_name
    return f"{who} — {handoff.action_label}" if handoff.action_label else who


def _by_id(value: Any, getter: Any, field: str) -> Any:
    """An object given by id (as the API sends it) or as itself (as the UI form does)."""
    if value is None or value == "":
        return None
    if not isinstance(value, int | str):
        return value
    try:
        return getter(id=int(value))
    except (NotFound, ValueError):
        message = _("Nothing with this id.")
        raise ValidationError(message, field_errors={field: message}) from None


def handoff_qualify(
    *,
    handoff: Handoff,
    actor: User,
    bant: Mapping[str, Any],
    deal: Mapping[str, Any],
    source: str = ChangeSource.USER,
) -> Deal:
    """Accept ``handoff`` (``handoff.services.handoff_accept``), record the rep's BANT entry
    (``lifecycle.services.bant_record``: the contact becomes an SQL when it meets the SQL
    criteria) and create the deal (the contact becomes an opportunity), linked to the handoff
    and the BANT entry — in one transaction.

    ``bant`` holds ``bant_record``'s fields (budget_amount_jpy, budget_band, authority, need,
    need_tags, timeline_date, timeline_band); ``deal`` holds ``name`` (default ``{company} —
    {action}``), ``amount``, ``expected_close``, ``pipeline``/``stage`` (objects or ids),
    ``lines``, and optionally ``owner``/``company`` (default: the handoff's assignee, else the
    actor; the contact's company).

    Raises ``Conflict`` when the handoff is not open and ``ValidationError`` with fields
    prefixed ``bant.`` / ``deal.``; nothing is stored then.
    """
    _unknown(bant, BANT_FIELDS, "bant")
    _unknown(deal, DEAL_FIELDS, "deal")
    from sokyaku.handoff import services as handoff_services

    contact = handoff.contact
    with transaction.atomic():
        accepted = handoff_services.handoff_accept(handoff=handoff, actor=actor)
        try:
            record = lifecycle_services.bant_record(
                contact=contact, actor=actor, source=source, **dict(bant)
            )
        except ValidationError as exc:
            raise _prefixed(exc, "bant") from exc
        try:
            stage = _by_id(deal.get("stage"), selectors.stage_get, "stage")
            pipeline = _by_id(deal.get("pipeline"), selectors.pipeline_get, "pipeline")
            created = deal_create(
                actor=actor,
                name=deal.get("name") or deal_name_default(handoff),
                contact=contact,
                company=deal.get("company"),
                owner=deal.get("owner") or accepted.assignee or actor,
                amount=deal.get("amount"),
                expected_close=deal.get("expected_close"),
                pipeline=pipeline,
                stage=stage,
                lines=deal.get("lines") or (),
                handoff=accepted,
                bant=record,
                source=source,
            )
        except ValidationError as exc:
            raise _prefixed(exc, "deal") from exc
    logger.info(
        "deals.handoff_qualified",
        extra={"handoff": handoff.pk, "deal": created.pk, "bant": record.pk},
    )
    return created
