"""What a report is asked for: a period of Tokyo days and the filters narrowing it.

``period_parse`` and ``filters_resolve`` turn query parameters (UI and API alike) into these,
refusing what cannot be answered: an end before the start, a date that is not one, a channel,
campaign, segment, owner or team that does not exist (a deleted channel is named as such).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from sokyaku.analytics.metrics import day_bounds
from sokyaku.campaigns.models import Campaign, Channel
from sokyaku.contacts.models import Contact
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.core.models import Team, TeamMember
from sokyaku.core.visibility import ManagedScope
from sokyaku.segments.models import Segment, SegmentMembership

# The longest period one request may cover (ten years of days).
MAX_DAYS = 3660


@dataclass(frozen=True)
class Period:
    """Tokyo days ``first`` … ``last``, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The instants [start, end) the period covers."""
        return day_bounds(self.first, self.last)

    def previous(self) -> Period:
        """The period just before this one: the previous calendar months when the period is
        whole months (a month against the month before), else the same number of days."""
        months = self.whole_months()
        if months:
            first = _add_months(self.first, -months)
            return Period(first=first, last=self.first - timedelta(days=1))
        last = self.first - timedelta(days=1)
        return Period(first=last - timedelta(days=self.days - 1), last=last)

    def whole_months(self) -> int:
        """How many calendar months the period is (0: not whole months)."""
        after = self.last + timedelta(days=1)
        if self.first.day != 1 or after.day != 1:
            return 0
        return (after.year - self.first.year) * 12 + after.month - self.first.month

    def is_past(self) -> bool:
        """Whether the period ended before today (Tokyo)."""
        return self.last < clock.local_now().date()

    def is_running(self) -> bool:
        """Whether today (Tokyo) is inside the period: its last days have not happened yet
        and today's numbers are still coming in."""
        today = clock.local_now().date()
        return self.first <= today <= self.last

    def so_far(self) -> Period:
        """The days of the period up to today (the whole period when it is not running)."""
        if not self.is_running():
            return self
        return Period(first=self.first, last=clock.local_now().date())

    def comparison(self) -> Period:
        """What the period is compared with, like with like: the previous period; while the
        period runs, only as many of its days as have begun in this one — this month up to
        today against the previous month up to the same day (capped at its last day)."""
        before = self.previous()
        if not self.is_running():
            return before
        elapsed = (clock.local_now().date() - self.first).days
        return Period(
            first=before.first, last=min(before.first + timedelta(days=elapsed), before.last)
        )


def _add_months(day: date, count: int) -> date:
    index = day.year * 12 + day.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def this_month() -> Period:
    today = clock.local_now().date()
    first = today.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return Period(first=first, last=next_first - timedelta(days=1))


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            _("Enter a date as YYYY-MM-DD."),
            field_errors={field: _("Enter a date as YYYY-MM-DD.")},
        ) from None


def period_parse(start: str | None, end: str | None) -> Period:
    """The period from ``from`` / ``to`` parameters (YYYY-MM-DD, both included).

    Both empty: this month. Only one given: that day to today, or the month up to that day.
    Raises ``ValidationError`` (field errors ``from`` / ``to``) for a malformed date, an end
    before the start, or a period longer than ``MAX_DAYS``.
    """
    if not start and not end:
        return this_month()
    today = clock.local_now().date()
    first = _date(start, "from") if start else None
    last = _date(end, "to") if end else None
    if first is None:
        assert last is not None
        first = last.replace(day=1)
    if last is None:
        last = max(today, first)
    if last < first:
        message = _("The end date (%(to)s) is before the start date (%(from)s).") % {
            "to": last.isoformat(),
            "from": first.isoformat(),
        }
        raise ValidationError(message, field_errors={"to": message})
    if (last - first).days + 1 > MAX_DAYS:
        message = _("A period can cover at most %(days)d days.") % {"days": MAX_DAYS}
        raise ValidationError(message, field_errors={"to": message})
    return Period(first=first, last=last)


@dataclass(frozen=True)
class Filters:
    """Narrowing of a report. Channel and campaign are the contact's source (first touch) and
    are answered from the rollups; owner, team and segment narrow the contacts and are answered
    from the raw tables."""

    channel_id: int | None = None
    campaign_id: int | None = None
    segment_id: int | None = None
    owner_id: int | None = None
    team_id: int | None = None

    @property
    def narrows_contacts(self) -> bool:
        return any(v is not None for v in (self.segment_id, self.owner_id, self.team_id))

    @property
    def is_empty(self) -> bool:
        return not self.narrows_contacts and self.channel_id is None and self.campaign_id is None

    def contacts(self) -> QuerySet[Contact] | None:
        """The contacts owner, team and segment leave (``None``: no such filter)."""
        if not self.narrows_contacts:
            return None
        rows = Contact.objects.all()
        if self.owner_id is not None:
            rows = rows.filter(owner_id=self.owner_id)
        if self.team_id is not None:
            team = TeamMember.objects.filter(team_id=self.team_id).values("user_id")
            rows = rows.filter(owner_id__in=team)
        if self.segment_id is not None:
            segment = SegmentMembership.objects.filter(segment_id=self.segment_id)
            rows = rows.filter(pk__in=segment.values("contact_id"))
        return rows

    def as_params(self) -> dict[str, int]:
        """The filters as query parameters (for links and drill-downs)."""
        names = ("channel", "campaign", "segment", "owner", "team")
        values = (self.channel_id, self.campaign_id, self.segment_id, self.owner_id, self.team_id)
        return {name: value for name, value in zip(names, values, strict=True) if value is not None}


def _id(value: object, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise ValidationError(
            _("Not a valid id."), field_errors={field: _("Not a valid id.")}
        ) from None
    if number <= 0:
        raise ValidationError(_("Not a valid id."), field_errors={field: _("Not a valid id.")})
    return number


def _unknown(field: str, pk: int) -> str:
    if field == "channel":
        return _(
            "Channel %(id)d does not exist (it may have been deleted). Choose another channel."
        ) % {"id": pk}
    messages = {
        "campaign": _("Campaign %(id)d does not exist."),
        "segment": _("Segment %(id)d does not exist."),
        "owner": _("User %(id)d does not exist."),
        "team": _("Team %(id)d does not exist."),
    }
    return messages[field] % {"id": pk}


def filters_resolve(
    *,
    channel: object = None,
    campaign: object = None,
    segment: object = None,
    owner: object = None,
    team: object = None,
    scope: ManagedScope | None = None,
) -> Filters:
    """Filters from query parameters (ids). Raises ``ValidationError`` naming the parameter when
    an id is malformed or names nothing — a channel deleted since gets its own message. With a
    ``scope`` (a report narrowed to a user and the teams they manage), an owner or team outside
    it names nothing either, with the same message."""
    filters = Filters(
        channel_id=_id(channel, "channel"),
        campaign_id=_id(campaign, "campaign"),
        segment_id=_id(segment, "segment"),
        owner_id=_id(owner, "owner"),
        team_id=_id(team, "team"),
    )
    missing: dict[str, str] = {}
    checks = (
        ("channel", filters.channel_id, Channel.objects.all()),
        ("campaign", filters.campaign_id, Campaign.objects.all()),
        ("segment", filters.segment_id, Segment.objects.all()),
        ("owner", filters.owner_id, get_user_model().objects.all()),
        ("team", filters.team_id, Team.objects.all()),
    )
    outside = {
        "owner": scope.user_ids if scope is not None else None,
        "team": scope.team_ids if scope is not None else None,
    }
    for field, pk, rows in checks:
        within = outside.get(field)
        if pk is not None and (
            (within is not None and pk not in within) or not rows.filter(pk=pk).exists()
        ):
            missing[field] = _unknown(field, pk)
    if missing:
        raise ValidationError(next(iter(missing.values())), field_errors=missing)
    return filters
