"""Changing the marketing frequency cap (``messaging.frequency`` reads it)."""

from __future__ import annotations

import logging

from django.contrib.auth.models import User

from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.messaging.frequency import frequency_cap_get
from sokyaku.messaging.models import FrequencyCap

logger = logging.getLogger(__name__)

MAX_PER_DAY = 20


def frequency_cap_update(
    *, per_day: int, sequences: bool, broadcasts: bool, actor: User | None
) -> FrequencyCap:
    """Store the cap (0: no cap). Raises ``ValidationError`` for a number out of 0–20."""
    if not 0 <= per_day <= MAX_PER_DAY:
        raise ValidationError(
            "Give a number from 0 (no cap) to 20.",
            field_errors={"per_day": "Give a number from 0 (no cap) to 20."},
        )
    cap = frequency_cap_get()
    cap.per_day = per_day
    cap.sequences = sequences
    cap.broadcasts = broadcasts
    cap.updated_at = clock.now()
    cap.updated_by = actor
    cap.save()
    logger.info(
        "messaging.frequency_cap_updated",
        extra={"per_day": per_day, "actor": actor.pk if actor else None},
    )
    return cap
