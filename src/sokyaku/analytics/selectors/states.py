"""Where contacts stood at an instant: their lifecycle stage and their temperature.

The state KPIs (hot-lead ratio, nurturing rate) are not sums of days; they are read at an
instant. Now (or later) the current rows answer: ``ContactStage`` and ``ScoreState`` (no score
row: cold). Before now the history answers, read backwards from the present: a contact whose
stage changed at or after the instant was, at the instant, in the ``from_stage`` of its first
change since; one whose stage has not changed since is still where it is now. Temperatures the
same way, from the ``from`` of the first ``score_band_changed`` event since (a contact that
never had one is cold). That is the state after the last change before the instant — read
from the changes since, which for a recent instant (the start of this month) are a small part
of the history.

Every function returns a ``Q`` on ``Contact`` made of ``IN`` sub-queries, so the database
answers a whole KPI in one statement; "the first change since" is a window function
(``ROW_NUMBER`` per contact, oldest first) over an index range (events by type and time),
never a loop over contacts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import F, Q, Value, Window
from django.db.models.functions import RowNumber

from sokyaku.activity.models import Event, EventType
from sokyaku.core import clock
from sokyaku.lifecycle.models import ContactStage, Stage, StageChange
from sokyaku.scoring.models import ScoreState, Temperature

# A lead still in play: qualified or not, not yet bought, not ruled out.
OPEN_STAGES = (Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.RECYCLED)
WARM_OR_HOT = (Temperature.WARM, Temperature.HOT)


def _to_q(field: str, bands: Iterable[str]) -> Q:
    """Band events whose ``properties[field]`` is one of ``bands``. (One equality per band:
    ``__in`` on a JSON key compares JSON documents on SQLite, not their text.)"""
    q = Q(pk__in=[])
    for band in bands:
        q |= Q(**{f"properties__{field}": band})
    return q


def is_current(at: datetime) -> bool:
    """Whether ``at`` is now or later: the current rows are the state then."""
    return at >= clock.now()


def stage_q(at: datetime, stages: Iterable[str]) -> Q:
    """Contacts whose lifecycle stage at ``at`` is one of ``stages``."""
    stages = list(stages)
    now_in = ContactStage.objects.filter(stage__in=stages)
    if is_current(at):
        return Q(pk__in=now_in.values("contact_id"))
    since = StageChange.objects.filter(changed_at__gte=at)
    first = since.annotate(
        _row=Window(
            RowNumber(),
            partition_by=[F("contact_id")],
            order_by=[F("changed_at").asc(), F("pk").asc()],
        )
    ).filter(_row=1)
    then_in = StageChange.objects.filter(pk__in=first.values("pk"), from_stage__in=stages)
    unchanged = now_in.exclude(contact_id__in=since.values("contact_id"))
    return Q(pk__in=then_in.values("contact_id")) | Q(pk__in=unchanged.values("contact_id"))


def band_q(at: datetime, bands: Iterable[str]) -> Q:
    """Contacts whose temperature at ``at`` is one of ``bands`` (warm and/or hot; cold is
    everyone else)."""
    bands = list(bands)
    now_in = ScoreState.objects.filter(temperature__in=bands)
    if is_current(at):
        return Q(pk__in=now_in.values("contact_id"))
    since = Event.objects.filter(
        type=EventType.SCORE_BAND_CHANGED, occurred_at__gte=at, contact__isnull=False
    )
    first = since.annotate(
        _row=Window(
            RowNumber(),
            # An expression, not the bare column: SQLite then reads the events through the
            # (type, time) index and sorts them, instead of walking every event of every
            # contact in the (contact, time) index.
            partition_by=[F("contact_id") + Value(0)],
            order_by=[F("occurred_at").asc(), F("pk").asc()],
        )
    ).filter(_row=1)
    then_in = Event.objects.filter(_to_q("from", bands), pk__in=first.values("pk"))
    unchanged = now_in.exclude(contact_id__in=since.values("contact_id"))
    return Q(pk__in=then_in.values("contact_id")) | Q(pk__in=unchanged.values("contact_id"))


def warmed_q(start: datetime, end: datetime) -> Q:
    """Contacts that moved to warm or hot in [start, end)."""
    moved = Event.objects.filter(
        _to_q("to", WARM_OR_HOT),
        type=EventType.SCORE_BAND_CHANGED,
        occurred_at__gte=start,
        occurred_at__lt=end,
        contact__isnull=False,
    )
    return Q(pk__in=moved.values("contact_id"))
