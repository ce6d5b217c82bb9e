"""BANT records and the SQL criteria that turn one into an SQL.

A rep records what they learned (Budget, Authority, Need, Timeline) with ``bant_record``; each
entry is a new ``BantRecord`` (the latest one counts). When the entry meets the ``SqlCriteria``
(by default: all four known and a timeline within 6 months) and the contact is not yet SQL or
later, the contact moves to SQL (source user, reason "BANT"). Records are per contact for now;
deals (next issue) will carry their own.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from sokyaku.activity import events as event_factories
from sokyaku.activity import listeners
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.lifecycle.models import (
    Authority,
    BantRecord,
    BudgetBand,
    ChangeSource,
    ContactStage,
    SqlCriteria,
    Stage,
    TimelineBand,
)
from sokyaku.lifecycle.services.moves import stage_change

logger = logging.getLogger(__name__)

# The upper bound of a timeline band, in months (None: beyond any window).
TIMELINE_BAND_MONTHS: dict[str, int | None] = {
    TimelineBand.M1: 1,
    TimelineBand.M3: 3,
    TimelineBand.M6: 6,
    TimelineBand.M12: 12,
    TimelineBand.LATER: None,
}
# Stages from which a qualifying BANT entry makes the contact an SQL. SQL and later stay.
BEFORE_SQL = frozenset(
    {Stage.SUBSCRIBER, Stage.LEAD, Stage.MQL, Stage.RECYCLED, Stage.DISQUALIFIED, ""}
)
NEED_MAX = 2000
TAG_MAX = 50
TAGS_MAX = 20
MONTHS_MAX = 60
_BUDGET_MAX = 10**15  # ¥1,000 trillion: beyond that it is a typo


def _budget(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(
            "The budget must be a number.", field_errors={"budget_amount_jpy": "not a number"}
        )
    if isinstance(value, int):
        amount = value
    elif isinstance(value, float) and value.is_integer():
        amount = int(value)
    else:
        text = re.sub(r"[\s,，¥￥円]", "", str(value))
        if not re.fullmatch(r"-?\d+", text):
            raise ValidationError(
                "The budget must be a number of yen.",
                field_errors={"budget_amount_jpy": "not a number"},
            )
        amount = int(text)
    if amount < 0:
        raise ValidationError(
            "The budget cannot be negative.", field_errors={"budget_amount_jpy": "negative"}
        )
    if amount > _BUDGET_MAX:
        raise ValidationError(
            "The budget is implausibly large.", field_errors={"budget_amount_jpy": "too large"}
        )
    return amount


def _choice(value: str, choices: Iterable[str], field: str, label: str) -> str:
    value = (value or "").strip()
    if value not in set(choices):
        raise ValidationError(f"Unknown {label}: {value}", field_errors={field: "unknown value"})
    return value


def _timeline(value: date | str | None, today: date) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        try:
            value = date.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ValidationError(
                "The timeline must be a date (YYYY-MM-DD).",
                field_errors={"timeline_date": "not a date"},
            ) from exc
    if value < today:
        raise ValidationError(
            "The timeline is in the past.", field_errors={"timeline_date": "in the past"}
        )
    return value


def _tags(tags: Iterable[str]) -> list[str]:
    if isinstance(tags, str):
        tags = tags.replace("、", ",").split(",")
    clean: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValidationError("Tags are words.", field_errors={"need_tags": "not text"})
        tag = tag.strip()
        if len(tag) > TAG_MAX:
            raise ValidationError(
                f"A tag is longer than {TAG_MAX} characters.",
                field_errors={"need_tags": f"at most {TAG_MAX} characters each"},
            )
        if tag and tag not in clean:
            clean.append(tag)
    if len(clean) > TAGS_MAX:
        raise ValidationError(
            f"At most {TAGS_MAX} tags.", field_errors={"need_tags": f"at most {TAGS_MAX} tags"}
        )
    return clean


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (clamped to the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def sql_criteria_get() -> SqlCriteria:
    """The SQL criteria (the one row; defaults, unsaved, when nobody changed them yet)."""
    return SqlCriteria.objects.order_by("pk").first() or SqlCriteria()


def sql_criteria_update(
    *,
    require_budget: bool,
    require_authority: bool,
    require_decision_maker: bool,
    require_need: bool,
    require_timeline: bool,
    timeline_within_months: int,
    actor: User | None = None,
) -> SqlCriteria:
    """Save the SQL criteria (they apply to BANT entries recorded from now on).

    Raises ``ValidationError`` for a timeline window outside 1–60 months.
    """
    if isinstance(timeline_within_months, bool) or not (
        isinstance(timeline_within_months, int) and 1 <= timeline_within_months <= MONTHS_MAX
    ):
        raise ValidationError(
            f"The timeline window is 1 to {MONTHS_MAX} months.",
            field_errors={"timeline_within_months": f"1 to {MONTHS_MAX}"},
        )
    with transaction.atomic():
        criteria = SqlCriteria.objects.select_for_update().order_by("pk").first() or SqlCriteria()
        criteria.require_budget = require_budget
        # The decision maker is a stricter kind of "authority known".
        criteria.require_authority = require_authority or require_decision_maker
        criteria.require_decision_maker = require_decision_maker
        criteria.require_need = require_need
        criteria.require_timeline = require_timeline
        criteria.timeline_within_months = timeline_within_months
        criteria.updated_at = clock.now()
        criteria.save()
    logger.info("lifecycle.sql_criteria_updated", extra={"actor": actor.pk if actor else None})
    return criteria


def sql_criteria_unmet(
    *, record: BantRecord, criteria: SqlCriteria, today: date | None = None
) -> list[str]:
    """Which criteria ``record`` does not meet ("budget", "authority", "need", "timeline");
    empty when it qualifies."""
    today = today or clock.local_now().date()
    unmet: list[str] = []
    if criteria.require_budget and record.budget_amount_jpy is None and not record.budget_band:
        unmet.append("budget")
    if criteria.require_decision_maker:
        if record.authority != Authority.DECISION_MAKER:
            unmet.append("authority")
    elif criteria.require_authority and not record.authority:
        unmet.append("authority")
    if criteria.require_need and not (record.need.strip() or record.need_tags):
        unmet.append("need")
    if criteria.require_timeline and not _timeline_within(record, criteria, today):
        unmet.append("timeline")
    return unmet


def _timeline_within(record: BantRecord, criteria: SqlCriteria, today: date) -> bool:
    limit = add_months(today, criteria.timeline_within_months)
    if record.timeline_date is not None:
        return record.timeline_date <= limit
    if record.timeline_band:
        months = TIMELINE_BAND_MONTHS.get(record.timeline_band)
        # A band counts by its upper bound: "within 6 months" meets a 6-month window.
        return months is not None and months <= criteria.timeline_within_months
    return False


def bant_record(
    *,
    contact: Contact,
    budget_amount_jpy: int | str | None = None,
    budget_band: str = "",
    authority: str = "",
    need: str = "",
    need_tags: Iterable[str] = (),
    timeline_date: date | str | None = None,
    timeline_band: str = "",
    actor: User | None,
    source: str = ChangeSource.USER,
) -> BantRecord:
    """Record a rep's BANT entry for ``contact`` and, when it meets the SQL criteria and the
    contact is before SQL, move the contact to SQL (``stage_change`` source user/api, reason
    "BANT").

    Writes a ``BantRecord`` and a ``bant_recorded`` event. Raises ``ValidationError`` with field
    errors for a budget that is not a number or negative, a timeline date in the past, an
    unknown band or authority, or over-long need/tags; nothing is stored then.
    """
    today = clock.local_now().date()
    amount = _budget(budget_amount_jpy)
    fields = {
        "budget_band": _choice(budget_band, BudgetBand.values, "budget_band", "budget band"),
        "authority": _choice(authority, Authority.values, "authority", "authority"),
        "timeline_band": _choice(
            timeline_band, TimelineBand.values, "timeline_band", "timeline band"
        ),
    }
    day = _timeline(timeline_date, today)
    need = (need or "").strip()
    if len(need) > NEED_MAX:
        raise ValidationError(
            f"The need is longer than {NEED_MAX} characters.",
            field_errors={"need": f"at most {NEED_MAX} characters"},
        )
    tags = _tags(need_tags)
    if contact.merged_into_id:
        raise ValidationError(
            "This contact was merged into another one.", field_errors={"contact": "merged"}
        )
    now = clock.now()
    with transaction.atomic():
        record = BantRecord.objects.create(
            contact=contact,
            budget_amount_jpy=amount,
            need=need,
            need_tags=tags,
            timeline_date=day,
            recorded_at=now,
            recorded_by=actor,
            **fields,
        )
        activity_services.event_ingest(
            event=event_factories.event_build(
                type=EventType.BANT_RECORDED,
                occurred_at=now,
                source=EventSource.API if source == ChangeSource.API else EventSource.UI,
                properties={"bant_id": record.pk},
                contact_id=contact.pk,
            )
        )
        stage = (
            ContactStage.objects.filter(contact_id=contact.pk)
            .values_list("stage", flat=True)
            .first()
        ) or ""
        if stage in BEFORE_SQL and not sql_criteria_unmet(
            record=record, criteria=sql_criteria_get(), today=today
        ):
            stage_change(
                contact=contact, to_stage=Stage.SQL, source=source, actor=actor, reason="BANT"
            )
    logger.info("lifecycle.bant_recorded", extra={"contact": contact.pk, "bant": record.pk})
    return record


def bant_bulk_create(*, records: Sequence[BantRecord], quiet: bool = False) -> int:
    """Store already-checked BANT entries set-based (the demo's history): one ``bulk_create``
    and a batch of ``bant_recorded`` events at each entry's ``recorded_at``. Does not move
    stages (the caller writes those moves). ``quiet=True`` skips event listeners.
    """
    if not records:
        return 0
    with transaction.atomic():
        rows = BantRecord.objects.bulk_create(records, batch_size=1000)
        events = [
            event_factories.event_build(
                type=EventType.BANT_RECORDED,
                occurred_at=row.recorded_at,
                source=EventSource.UI,
                properties={"bant_id": row.pk},
                contact_id=row.contact_id,
            )
            for row in rows
        ]
        if quiet:
            with listeners.paused():
                activity_services.event_ingest_batch(events=events)
        else:
            activity_services.event_ingest_batch(events=events)
    return len(rows)
