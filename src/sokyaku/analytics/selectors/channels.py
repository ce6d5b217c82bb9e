"""The channel evaluation table: per channel leads, cost, CPL, MQLs, SQLs, opportunities, won
deals, win rate, revenue, ROI and the cost per won deal, ranked.

Leads and the stage and deal counts are attributed to the contact's first-touch channel (as
``analytics.metrics`` defines them); costs are the channel's monthly costs prorated to the
period. A row appears for every channel with something in the period — a lead, a cost, a won
deal — including contacts without a channel ("no channel") and channels deleted since (their
history stays, under "deleted channel #id").

Ranking is by the win-adjusted cost: what one won deal cost (cost ÷ won deals), lowest first.
A cheap lead is no bargain when none of them buys — the seeds' example ranks the SEO blog
(¥40,000 per won deal) and the webinar (¥37,500) above paid social (¥100,000), though paid
social's CPL equals the blog's. Channels with won deals but no recorded cost come next (their
cost per deal is unknown, not zero), then channels without won deals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from fractions import Fraction

from django.utils.translation import gettext as _

from sokyaku.analytics.metrics import Metric
from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.selectors.costs import cost_by_channel, ratio_yen, yen
from sokyaku.analytics.selectors.kpis import ratio
from sokyaku.analytics.selectors.scope import counts
from sokyaku.campaigns.models import Channel

_COUNTED = (
    Metric.LEADS,
    Metric.MQLS,
    Metric.SQLS,
    Metric.OPPORTUNITIES,
    Metric.WON,
    Metric.REVENUE,
)


@dataclass(frozen=True)
class ChannelRow:
    """One channel's figures. ``channel_id`` 0 is "no channel" (and the total row); ``cac``
    is the cost per won deal (the win-adjusted cost); ``rank`` 1 is the best, 0 the total."""

    channel_id: int
    channel: str
    key: str
    leads: int = 0
    cost: int = 0
    cpl: int | None = None
    mqls: int = 0
    sqls: int = 0
    opportunities: int = 0
    won: int = 0
    win_rate: float | None = None
    revenue: int = 0
    roi: float | None = None
    cac: int | None = None
    rank: int = 0
    is_deleted: bool = False


@dataclass(frozen=True)
class ChannelTable:
    rows: list[ChannelRow] = field(default_factory=list)
    total: ChannelRow | None = None
    no_data: bool = True


def _row(
    *,
    channel_id: int,
    name: str,
    key: str,
    n: dict[str, int],
    cost: Fraction | None,
    costed: bool,
    is_deleted: bool = False,
) -> ChannelRow:
    leads, won, revenue = n.get(Metric.LEADS, 0), n.get(Metric.WON, 0), n.get(Metric.REVENUE, 0)
    exact = cost or Fraction(0)
    has_cost = costed and exact > 0
    return ChannelRow(
        channel_id=channel_id,
        channel=name,
        key=key,
        leads=leads,
        cost=yen(exact),
        cpl=ratio_yen(exact, leads) if has_cost else None,
        mqls=n.get(Metric.MQLS, 0),
        sqls=n.get(Metric.SQLS, 0),
        opportunities=n.get(Metric.OPPORTUNITIES, 0),
        won=won,
        win_rate=ratio(won, leads),
        revenue=revenue,
        roi=ratio(revenue - exact, exact) if has_cost else None,
        cac=ratio_yen(exact, won) if has_cost else None,
        is_deleted=is_deleted,
    )


def _order(row: ChannelRow) -> tuple[int, float, float, int, str]:
    if row.won and row.cac is not None:
        group = 0
    elif row.won:
        group = 1
    else:
        group = 2
    return (group, row.cac or 0, -(row.win_rate or 0.0), -row.leads, row.channel)


def channel_table(period: Period, filters: Filters) -> ChannelTable:
    """The channel table of ``period`` under ``filters`` (see the module docstring), rows in
    rank order. Under an owner, team or segment filter costs are shown but not divided (CPL,
    ROI and cost per won deal are ``None``): the cost is the channel's, not those contacts'."""
    per_channel: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (_day, metric, channel_id, _campaign), value in counts(
        period, filters, metrics=_COUNTED
    ).items():
        per_channel[channel_id][metric] += value
    costs = cost_by_channel(period, channel_id=filters.channel_id, campaign_id=filters.campaign_id)
    ids = {c for c, n in per_channel.items() if any(n.values())} | {
        c for c, v in costs.items() if v
    }
    known = {c.pk: c for c in Channel.objects.filter(pk__in=ids - {0})}
    costed = not filters.narrows_contacts
    rows: list[ChannelRow] = []
    for channel_id in ids:
        channel = known.get(channel_id)
        if channel_id == 0:
            name, key, deleted = _("No channel"), "", False
        elif channel is None:
            name = _("Deleted channel #%(id)d") % {"id": channel_id}
            key, deleted = "", True
        else:
            name, key, deleted = channel.name, channel.key, False
        rows.append(
            _row(
                channel_id=channel_id,
                name=name,
                key=key,
                n=per_channel.get(channel_id, {}),
                cost=costs.get(channel_id),
                costed=costed,
                is_deleted=deleted,
            )
        )
    rows.sort(key=_order)
    rows = [replace(row, rank=index) for index, row in enumerate(rows, start=1)]
    everything: dict[str, int] = defaultdict(int)
    for n in per_channel.values():
        for metric, value in n.items():
            everything[metric] += value
    total = _row(
        channel_id=0,
        name=_("Total"),
        key="",
        n=everything,
        cost=sum(costs.values(), Fraction(0)),
        costed=costed,
    )
    return ChannelTable(rows=rows, total=total, no_data=not rows)
