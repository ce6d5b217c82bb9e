"""Retention: anonymising contacts with no activity for years (docs/privacy.md, "Retention").

Off by default. When an admin turns it on (``retention_policy_save``), the daily task
(``retention_run``) erases, in batches, every live contact whose last activity is more than
``inactive_years`` years ago — each one an ordinary erasure (``erase_contact``), logged with
``via = retention``. Activity is what the person or the team did with them: the contact's own
creation and changes, and every event except those the system writes on its own (mails sent to
them, score decay, segment and sequence moves, stage changes). A run that stops is finished by
the next day's run: the people left are still found.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, QuerySet

from sokyaku.activity.models import Event, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.privacy.models import ErasureVia, RetentionPolicy
from sokyaku.privacy.services.erasure import erase_contact

logger = logging.getLogger(__name__)

# Events the system writes without the person or the team doing anything.
NOT_ACTIVITY = (
    EventType.EMAIL_SENT,
    EventType.EMAIL_DELIVERED,
    EventType.SCORE_BAND_CHANGED,
    EventType.SEGMENT_ENTERED,
    EventType.SEGMENT_LEFT,
    EventType.SEQUENCE_ENROLLED,
    EventType.SEQUENCE_EXITED,
    EventType.LIFECYCLE_CHANGED,
)
YEARS_MIN, YEARS_MAX = 1, 20
BATCH = 200


def retention_policy_get() -> RetentionPolicy:
    """The policy (off, three years, until an admin changes it)."""
    policy = RetentionPolicy.objects.order_by("pk").first()
    return policy if policy is not None else RetentionPolicy()


def retention_policy_save(
    *, enabled: bool, inactive_years: int, by: User | None
) -> RetentionPolicy:
    """Turn the policy on or off and set its years. Raises ``ValidationError`` for years out of
    ``YEARS_MIN`` … ``YEARS_MAX``."""
    if not YEARS_MIN <= inactive_years <= YEARS_MAX:
        raise ValidationError(
            f"Between {YEARS_MIN} and {YEARS_MAX} years.",
            field_errors={"inactive_years": f"between {YEARS_MIN} and {YEARS_MAX}"},
        )
    policy = retention_policy_get()
    policy.enabled, policy.inactive_years = enabled, inactive_years
    policy.updated_at, policy.updated_by = clock.now(), by
    policy.save()
    logger.info("privacy.retention_saved", extra={"enabled": enabled, "years": inactive_years})
    return policy


def retention_cutoff(*, years: int, at: datetime) -> datetime:
    """``years`` calendar years before ``at`` (29 February falls back to the 28th)."""
    try:
        return at.replace(year=at.year - years)
    except ValueError:
        return at.replace(year=at.year - years, day=28)


def retention_candidates(*, cutoff: datetime, limit: int) -> list[int]:
    """Live, not erased contacts with no activity since ``cutoff`` (oldest first)."""
    rows = _inactive(cutoff).order_by("updated_at", "pk")
    return list(rows.values_list("pk", flat=True)[:limit])


def _inactive(cutoff: datetime) -> QuerySet[Contact]:
    recent = Event.objects.filter(contact=OuterRef("pk"), occurred_at__gte=cutoff).exclude(
        type__in=NOT_ACTIVITY
    )
    return Contact.objects.filter(
        merged_into__isnull=True,
        erased_at__isnull=True,
        created_at__lt=cutoff,
        updated_at__lt=cutoff,
    ).exclude(Exists(recent))


def retention_due_count(*, years: int, at: datetime | None = None) -> int:
    """How many contacts a run with ``years`` would erase now (for the settings page)."""
    cutoff = retention_cutoff(years=years, at=at or clock.now())
    return _inactive(cutoff).count()


def retention_run(*, at: datetime | None = None, limit: int | None = None) -> int:
    """Erase the contacts the policy says have been inactive too long, ``BATCH`` at a time
    (each person in a transaction of their own), at most ``limit`` (all when ``None``). Does
    nothing while the policy is off. Returns how many people were erased."""
    policy = retention_policy_get()
    if not policy.enabled or policy.pk is None:
        return 0
    at = at or clock.now()
    cutoff = retention_cutoff(years=policy.inactive_years, at=at)
    erased = 0
    reason = f"No activity for {policy.inactive_years} years (retention policy)"
    while limit is None or erased < limit:
        size = BATCH if limit is None else min(BATCH, limit - erased)
        ids = retention_candidates(cutoff=cutoff, limit=size)
        if not ids:
            break
        for contact in Contact.objects.filter(pk__in=ids):
            erase_contact(contact, by=None, reason=reason, via=ErasureVia.RETENTION)
            erased += 1
    RetentionPolicy.objects.filter(pk=policy.pk).update(last_run_at=at, last_run_erased=erased)
    logger.info("privacy.retention_run", extra={"erased": erased, "cutoff": cutoff.isoformat()})
    return erased
