"""Reads of channels, channel rules, campaigns and costs, permission-checked for the user asking.

``user=None`` is the system itself (services, tasks, API keys already checked for scope).
Month figures use calendar months in Asia/Tokyo; a lead is a live contact created in the month,
counted for its first-touch channel (DESIGN.md's KPI definition). Campaigns sits below contacts:
the leads are counted on ``contacts.Contact`` read by app label, and the newest leads of a channel
are ``contacts.selectors.channel_lead_list``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, DateField, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from sokyaku.campaigns.matching import ChannelMatcher, rule_compile
from sokyaku.campaigns.models import Campaign, Channel, ChannelCost, ChannelRule
from sokyaku.core import clock
from sokyaku.core.errors import NotFound, PermissionDenied

AnyUser = User | AnonymousUser


def _contact() -> Any:
    """``contacts.Contact``, read by app label: campaigns does not import the higher app."""
    return apps.get_model("contacts", "Contact")


def _require(user: AnyUser | None, perm: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see channels and costs.")


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_add(month: date, months: int) -> date:
    """The first day of the month ``months`` after ``month``'s."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month as ``[start, end)`` in Asia/Tokyo."""
    nxt = month_add(month, 1)
    return (
        datetime(month.year, month.month, 1, tzinfo=clock.TOKYO),
        datetime(nxt.year, nxt.month, 1, tzinfo=clock.TOKYO),
    )


def this_month() -> date:
    return month_start(clock.local_now().date())


# --- Channels and rules ---------------------------------------------------------------------


def channel_list(*, user: AnyUser | None, active_only: bool = False) -> QuerySet[Channel]:
    _require(user, "campaigns.view_channel")
    qs = Channel.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("name", "id")


def channel_get(*, user: AnyUser | None, id: int) -> Channel:
    _require(user, "campaigns.view_channel")
    channel = Channel.objects.filter(pk=id).first()
    if channel is None:
        raise NotFound(f"No channel with id {id}.")
    return channel


def channel_rule_list(*, user: AnyUser | None) -> QuerySet[ChannelRule]:
    _require(user, "campaigns.view_channelrule")
    return ChannelRule.objects.select_related("channel").order_by("priority", "id")


def channel_rule_get(*, user: AnyUser | None, id: int) -> ChannelRule:
    _require(user, "campaigns.view_channelrule")
    rule = ChannelRule.objects.select_related("channel").filter(pk=id).first()
    if rule is None:
        raise NotFound(f"No channel rule with id {id}.")
    return rule


def channel_matcher() -> ChannelMatcher:
    """The active rules and the registered campaigns, ready to map touches (two queries)."""
    rules = [
        rule_compile(
            id=r.pk,
            channel_id=r.channel_id,
            source_op=r.source_op,
            source_values=r.source_values,
            medium_op=r.medium_op,
            medium_values=r.medium_values,
            referrer_op=r.referrer_op,
            referrer_values=r.referrer_values,
        )
        for r in ChannelRule.objects.filter(is_active=True).order_by("priority", "id")
    ]
    campaigns = dict(Campaign.objects.values_list("utm_campaign", "channel_id"))
    return ChannelMatcher(rules=rules, campaigns=campaigns)


def campaign_list(*, user: AnyUser | None) -> QuerySet[Campaign]:
    _require(user, "campaigns.view_campaign")
    return Campaign.objects.select_related("channel").order_by("channel__name", "name")


# --- Channel table (costs and leads) --------------------------------------------------------


def _cpl(cost: int | None, leads: int) -> int | None:
    return round(cost / leads) if cost is not None and leads else None


@dataclass(frozen=True)
class MonthFigures:
    month: date
    cost: int | None  # None: no cost entered for the month
    leads: int

    @property
    def cpl(self) -> int | None:
        return _cpl(self.cost, self.leads)


@dataclass(frozen=True)
class ChannelRow:
    channel: Channel | None  # None: leads without a first-touch channel
    this: MonthFigures
    last: MonthFigures


@dataclass
class ChannelTable:
    this_month: date
    last_month: date
    rows: list[ChannelRow] = field(default_factory=list)
    unattributed: ChannelRow | None = None
    total_this: MonthFigures | None = None
    total_last: MonthFigures | None = None


def _sum_or_none(values: list[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def channel_table(*, user: AnyUser | None, month: date | None = None) -> ChannelTable:
    """Every channel with its cost and leads in ``month`` (default: this month) and the month
    before. Three queries, whatever the number of channels."""
    _require(user, "campaigns.view_channel")
    this = month_start(month) if month else this_month()
    last = month_add(this, -1)
    channels = list(Channel.objects.order_by("-is_active", "name", "id"))
    costs: dict[int | None, Mapping[str, Any]] = {
        row["channel_id"]: row
        for row in ChannelCost.objects.filter(month__in=[this, last])
        .values("channel_id")
        .annotate(
            this=Sum("amount_jpy", filter=Q(month=this)),
            last=Sum("amount_jpy", filter=Q(month=last)),
        )
        .order_by()
    }
    start_last, start_this = month_bounds(last)[0], month_bounds(this)[0]
    end_this = month_bounds(this)[1]
    leads: dict[int | None, Mapping[str, Any]] = {
        row["first_touch_channel_id"]: row
        for row in _contact()
        .objects.filter(
            merged_into__isnull=True, created_at__gte=start_last, created_at__lt=end_this
        )
        .values("first_touch_channel_id")
        .annotate(
            this=Count("id", filter=Q(created_at__gte=start_this)),
            last=Count("id", filter=Q(created_at__lt=start_this)),
        )
        .order_by()
    }

    def figures(key: int | None) -> tuple[MonthFigures, MonthFigures]:
        cost, lead = costs.get(key, {}), leads.get(key, {})
        return (
            MonthFigures(this, cost.get("this"), lead.get("this", 0)),
            MonthFigures(last, cost.get("last"), lead.get("last", 0)),
        )

    table = ChannelTable(this_month=this, last_month=last)
    for channel in channels:
        now_figures, before = figures(channel.pk)
        table.rows.append(ChannelRow(channel=channel, this=now_figures, last=before))
    none_this, none_last = figures(None)
    if none_this.leads or none_last.leads:
        table.unattributed = ChannelRow(channel=None, this=none_this, last=none_last)
    every = [*table.rows, *([table.unattributed] if table.unattributed else [])]
    table.total_this = MonthFigures(
        this, _sum_or_none([r.this.cost for r in every]), sum(r.this.leads for r in every)
    )
    table.total_last = MonthFigures(
        last, _sum_or_none([r.last.cost for r in every]), sum(r.last.leads for r in every)
    )
    return table


def channel_months(
    *, user: AnyUser | None, channel: Channel, months: int = 12, until: date | None = None
) -> list[MonthFigures]:
    """The channel's cost and leads for each of the last ``months`` months, newest first."""
    _require(user, "campaigns.view_channel")
    end = month_start(until) if until else this_month()
    first = month_add(end, -(months - 1))
    costs = dict(
        ChannelCost.objects.filter(channel=channel, month__gte=first, month__lte=end)
        .values("month")
        .annotate(total=Sum("amount_jpy"))
        .order_by()
        .values_list("month", "total")
    )
    counts = dict(
        _contact()
        .objects.filter(
            merged_into__isnull=True,
            first_touch_channel=channel,
            created_at__gte=month_bounds(first)[0],
            created_at__lt=month_bounds(end)[1],
        )
        .annotate(month=TruncMonth("created_at", output_field=DateField(), tzinfo=clock.TOKYO))
        .values("month")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("month", "n")
    )
    result = []
    for offset in range(months):
        month = month_add(end, -offset)
        result.append(MonthFigures(month, costs.get(month), counts.get(month, 0)))
    return result


# --- Costs ----------------------------------------------------------------------------------


def cost_list(
    *,
    user: AnyUser | None,
    month_from: date | None = None,
    month_to: date | None = None,
    channel_key: str = "",
    campaign: str = "",
) -> QuerySet[ChannelCost]:
    """Costs, newest month first, then by channel; ``campaign`` is a ``utm_campaign``
    (``"-"``: only channel-level costs)."""
    _require(user, "campaigns.view_channelcost")
    qs = ChannelCost.objects.select_related("channel", "campaign")
    if month_from:
        qs = qs.filter(month__gte=month_start(month_from))
    if month_to:
        qs = qs.filter(month__lte=month_start(month_to))
    if channel_key:
        qs = qs.filter(channel__key=channel_key)
    if campaign == "-":
        qs = qs.filter(campaign__isnull=True)
    elif campaign:
        qs = qs.filter(campaign__utm_campaign=campaign)
    return qs.order_by("-month", "channel__name", "channel_id", "campaign__utm_campaign", "id")


@dataclass(frozen=True)
class CostGrid:
    """Channel-level costs of twelve months: ``cells[(channel_id, month)]`` is the amount."""

    months: list[date]
    channels: list[Channel]
    cells: dict[tuple[int, date], int]
    campaign_totals: dict[tuple[int, date], int]

    def amount(self, channel_id: int, month: date) -> int | None:
        return self.cells.get((channel_id, month))


def cost_grid(*, user: AnyUser | None, year: int) -> CostGrid:
    """The channels (active ones, and inactive ones with costs that year) by the months of
    ``year``, with their channel-level costs and the sum of their campaigns' costs."""
    _require(user, "campaigns.view_channelcost")
    months = [date(year, m, 1) for m in range(1, 13)]
    rows = ChannelCost.objects.filter(month__gte=months[0], month__lte=months[-1])
    cells: dict[tuple[int, date], int] = {}
    campaign_totals: dict[tuple[int, date], int] = {}
    for channel_id, campaign_id, month, amount in rows.values_list(
        "channel_id", "campaign_id", "month", "amount_jpy"
    ):
        if campaign_id is None:
            cells[(channel_id, month)] = amount
        else:
            key = (channel_id, month)
            campaign_totals[key] = campaign_totals.get(key, 0) + amount
    with_costs = {k[0] for k in (*cells, *campaign_totals)}
    channels = list(
        Channel.objects.filter(Q(is_active=True) | Q(pk__in=with_costs)).order_by("name", "id")
    )
    return CostGrid(months=months, channels=channels, cells=cells, campaign_totals=campaign_totals)
