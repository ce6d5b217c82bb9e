"""Where a contact starts: ``lead``, or ``subscriber`` for someone we only have an email for.

A contact created with an email but no name and no company (a newsletter sign-up) starts as a
``subscriber``; everyone else starts as a ``lead``. A subscriber becomes a lead once it converts:
downloads a document, registers for a webinar, asks for a demo, a trial, a quote or sends an
inquiry, or submits a form after which we know its name or company.

The first stage is written set-based (one ``bulk_create`` of ``ContactStage`` and one of
``StageChange`` ``"" → stage``), for one contact or a 100,000-row import alike. No
``lifecycle_changed`` event is recorded for the first stage (``contact_created`` already says
it) nor for subscriber → lead (the converting event does).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from sokyaku.activity.models import EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.lifecycle.models import ChangeSource, ContactStage, Stage, StageChange
from sokyaku.lifecycle.services.moves import Move, moves_apply

logger = logging.getLogger(__name__)

_CHUNK = 2000
# Events after which a subscriber is a lead: the person showed interest beyond the newsletter.
CONVERTING_EVENTS = frozenset(
    {
        EventType.ASSET_DOWNLOADED,
        EventType.WEBINAR_REGISTERED,
        EventType.WEBINAR_ATTENDED,
        EventType.EVENT_VISITED,
        EventType.DEMO_REQUESTED,
        EventType.TRIAL_STARTED,
        EventType.INQUIRY,
        EventType.QUOTE_REQUESTED,
        EventType.PURCHASE,
    }
)
# A form submission converts when the form asked for more than the email (name or company).
FORM_EVENT = EventType.FORM_SUBMITTED


def _initial_stage(*, email: str, family_name: str, given_name: str, company_id: int | None) -> str:
    if email and not family_name and not given_name and company_id is None:
        return Stage.SUBSCRIBER
    return Stage.LEAD


def _create_for(ids: Iterable[int]) -> int:
    """First stage rows for the live contacts among ``ids`` that have none yet."""
    ids = list(ids)
    made = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = Contact.objects.filter(
            pk__in=chunk, merged_into__isnull=True, lifecycle__isnull=True
        ).values_list("pk", "email", "family_name", "given_name", "company_id", "created_at")
        stages = [
            ContactStage(
                contact_id=pk,
                stage=_initial_stage(
                    email=email, family_name=family, given_name=given, company_id=company_id
                ),
                entered_at=created_at or clock.now(),
            )
            for pk, email, family, given, company_id, created_at in rows
        ]
        if not stages:
            continue
        ContactStage.objects.bulk_create(stages)
        StageChange.objects.bulk_create(
            [
                StageChange(
                    contact_id=s.contact_id,
                    from_stage="",
                    to_stage=s.stage,
                    changed_at=s.entered_at,
                    source=ChangeSource.SYSTEM,
                )
                for s in stages
            ]
        )
        made += len(stages)
    return made


def initial_stages_create(*, contact_ids: Iterable[int]) -> int:
    """Give the contacts among ``contact_ids`` that have no stage yet their first one.

    Writes ``ContactStage`` and ``StageChange`` rows (bulk). Returns how many were created.
    """
    with transaction.atomic():
        return _create_for(sorted(set(contact_ids)))


def lifecycle_rebuild_initial() -> int:
    """Create the missing first stage of every live contact, set-based (an existing database,
    a demo load with listeners paused). Idempotent; returns how many rows were created."""
    made = 0
    last = 0
    while True:
        with transaction.atomic():
            ids = list(
                Contact.objects.filter(
                    pk__gt=last, merged_into__isnull=True, lifecycle__isnull=True
                )
                .order_by("pk")
                .values_list("pk", flat=True)[:_CHUNK]
            )
            if not ids:
                break
            made += _create_for(ids)
        last = ids[-1]
    logger.info("lifecycle.initial_rebuilt", extra={"count": made})
    return made


def subscribers_promote(*, contact_ids: Iterable[int], reason: str = "") -> list[int]:
    """Move the subscribers among ``contact_ids`` to lead (source system). Returns their ids.

    Writes ``StageChange`` rows through ``moves_apply``, without ``lifecycle_changed`` events:
    the converting event is already on the timeline.
    """
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    now = clock.now()
    with transaction.atomic():
        promoted = list(
            ContactStage.objects.select_for_update()
            .filter(contact_id__in=ids, stage=Stage.SUBSCRIBER)
            .values_list("contact_id", flat=True)
        )
        moves_apply(
            moves=[
                Move(
                    contact_id=pk,
                    from_stage=Stage.SUBSCRIBER,
                    to_stage=Stage.LEAD,
                    at=now,
                    source=ChangeSource.SYSTEM,
                    reason=reason,
                )
                for pk in promoted
            ],
            # History only: the download/registration itself is what the timeline shows.
            events=False,
        )
    return promoted


def form_converted(*, contact_ids: Iterable[int]) -> list[int]:
    """The contacts among ``contact_ids`` we know a name or company of (a form that asked for
    more than the email)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return []
    return list(
        Contact.objects.filter(pk__in=ids)
        .filter(~Q(family_name="") | ~Q(given_name="") | Q(company__isnull=False))
        .values_list("pk", flat=True)
    )
