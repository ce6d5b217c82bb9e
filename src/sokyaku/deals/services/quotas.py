"""Sales quotas: what each rep is expected to win per calendar month.

Who sets them: a user with ``deals.change_quota`` (admins) for anyone; a team's manager for the
members of the teams they manage, not for themselves (``core.visibility.managed_scope``).
Amounts are whole yen, written as reps write them (``¥5,000,000``); an empty amount removes the
month's quota.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from sokyaku.core import clock
from sokyaku.core.errors import PermissionDenied, ValidationError
from sokyaku.deals.models import Quota
from sokyaku.deals.selectors import quota_settable_ids
from sokyaku.deals.services.deals import amount_parse

logger = logging.getLogger(__name__)


def quotas_save(*, actor: User | None, month: date, amounts: Mapping[int, Any]) -> list[Quota]:
    """Set the quotas of ``month`` (any day of it) per user id: an amount sets it, ``None`` or
    ``""`` removes it. All or nothing. ``actor`` ``None`` is the system (the demo data), which
    sets anyone's.

    Raises ``PermissionDenied`` when ``actor`` may not set one of these users' quotas (whether
    the user exists or not), ``ValidationError`` on ``amounts.<user id>`` for an amount that is
    not a whole number of yen ≥ 0. Returns the quotas stored for the month for these users.
    """
    first = month.replace(day=1)
    allowed = quota_settable_ids(actor=actor) if actor is not None else None
    ids = sorted({int(pk) for pk in amounts})
    if allowed is not None and any(pk not in allowed for pk in ids):
        raise PermissionDenied(_("You may set the quotas of the members of your teams only."))
    existing = set(User.objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True))
    errors: dict[str, str] = {}
    parsed: dict[int, int | None] = {}
    for pk in ids:
        if pk not in existing:
            errors[f"amounts.{pk}"] = _("No active user with this id.")
            continue
        try:
            parsed[pk] = amount_parse(amounts[pk], field=f"amounts.{pk}")
        except ValidationError as exc:
            errors.update(exc.field_errors)
    if errors:
        raise ValidationError(next(iter(errors.values())), field_errors=errors)
    now = clock.now()
    with transaction.atomic():
        current = {
            q.owner_id: q
            for q in Quota.objects.select_for_update().filter(owner_id__in=ids, month=first)
        }
        stored: list[Quota] = []
        for pk, amount in parsed.items():
            quota = current.get(pk)
            if amount is None:
                if quota is not None:
                    quota.delete()
                continue
            if quota is None:
                quota = Quota.objects.create(
                    owner_id=pk, month=first, amount=amount, updated_at=now, updated_by=actor
                )
            elif quota.amount != amount:
                quota.amount = amount
                quota.updated_at = now
                quota.updated_by = actor
                quota.save(update_fields=["amount", "updated_at", "updated_by"])
            stored.append(quota)
    logger.info(
        "deals.quotas_saved",
        extra={
            "actor": actor.pk if actor is not None else None,
            "month": first.isoformat(),
            "users": ids,
        },
    )
    return stored
