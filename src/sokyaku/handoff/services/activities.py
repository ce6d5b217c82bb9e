"""Sales activities: the calls, mails, meetings and notes reps log on a contact.

Each is a ``SalesActivity`` row and a timeline event (``call``, ``sales_email``, ``meeting``,
``note``). A call, mail or meeting logged while the contact has an open handoff is a touch: the
first one records the handoff's ``first_touch_at`` (speed to lead) and its SLA met or breached.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.handoff.models import (
    TOUCH_KINDS,
    ActivityKind,
    Handoff,
    HandoffStatus,
    SalesActivity,
)
from sokyaku.handoff.services import sla

logger = logging.getLogger(__name__)

EVENT_TYPES: dict[str, str] = {
    ActivityKind.CALL: EventType.CALL,
    ActivityKind.MAIL: EventType.SALES_EMAIL,
    ActivityKind.MEETING: EventType.MEETING,
    ActivityKind.NOTE: EventType.NOTE,
}
SUBJECT_MAX = 200
BODY_MAX = 10000
# Clocks of browsers and servers differ a little; later than this is a typing error.
_FUTURE_SLACK = timedelta(minutes=5)


def _storable(at: datetime) -> bool:
    try:
        at.astimezone(UTC)  # 0001-01-01 at +09:00 has no UTC time
    except OverflowError:
        return False
    return True


def activity_log(
    *,
    contact: Contact,
    actor: User | None,
    kind: str,
    subject: str = "",
    body: str = "",
    occurred_at: datetime | None = None,
) -> SalesActivity:
    """Log a call, mail, meeting or note on ``contact`` (``occurred_at`` defaults to now).

    Writes the ``SalesActivity`` and its timeline event; a touch (call, mail, meeting) at or after
    the open handoff's creation records its first touch and SLA state. Raises
    ``ValidationError`` for an unknown kind, an empty note, texts that are too long, a time in
    the future or without a time zone, or a merged-away or erased contact.
    """
    subject = (subject or "").strip()
    body = (body or "").strip()
    errors: dict[str, str] = {}
    if kind not in ActivityKind.values:
        errors["kind"] = f"one of {', '.join(ActivityKind.values)}"
    if len(subject) > SUBJECT_MAX:
        errors["subject"] = f"at most {SUBJECT_MAX} characters"
    if len(body) > BODY_MAX:
        errors["body"] = f"at most {BODY_MAX} characters"
    if kind == ActivityKind.NOTE and not (subject or body):
        errors["body"] = "A note needs some text."
    now = clock.now()
    at = occurred_at or now
    if timezone.is_naive(at):
        errors["occurred_at"] = "needs a time zone"
    elif not _storable(at):
        errors["occurred_at"] = "out of range"
    elif at > now + _FUTURE_SLACK:
        errors["occurred_at"] = "Log what happened: the time is in the future."
    if contact.merged_into_id is not None:
        errors["contact"] = "merged into another contact"
    elif Contact.objects.filter(pk=contact.pk, erased_at__isnull=False).exists():
        errors["contact"] = "This person was erased at their request; nothing more is logged."
    if errors:
        raise ValidationError(next(iter(errors.values())), field_errors=errors)
    with transaction.atomic():
        handoff = (
            Handoff.objects.select_for_update()
            .filter(contact_id=contact.pk, status=HandoffStatus.OPEN)
            .first()
        )
        activity = SalesActivity.objects.create(
            contact=contact,
            user=actor,
            handoff=handoff,
            kind=kind,
            subject=subject,
            body=body,
            occurred_at=at,
            created_at=now,
        )
        author = actor.get_username() if actor is not None else ""
        activity_services.event_ingest(
            event=event_build(
                type=EVENT_TYPES[kind],
                occurred_at=at,
                source=EventSource.UI if actor is not None else EventSource.API,
                contact_id=contact.pk,
                properties={
                    "activity": activity.pk,
                    "subject": subject,
                    "text": body or subject,
                    "author": author,
                    "handoff": handoff.pk if handoff is not None else None,
                },
            )
        )
        touched = (
            handoff is not None
            and kind in TOUCH_KINDS
            and at >= handoff.created_at
            and sla.touch_record(handoff=handoff, at=at)
        )
    logger.info(
        "handoff.activity_logged",
        extra={"activity": activity.pk, "contact": contact.pk, "kind": kind, "touch": touched},
    )
    return activity
