"""The KPI table of DESIGN.md for any period and filters (``kpis``), with its labels and the
B2B and B2C selections of it.

Additive KPIs are sums of days (``scope.counts``: rollups, or raw rows when owner, team or
segment narrow the contacts). Ratios divide two of them and are ``None`` when the divisor is
zero — never an error. Three KPIs are states, read at an instant (``states``):

- hot-lead ratio: hot contacts ÷ open leads (lead, MQL, SQL, opportunity, recycled) at the end
  of the period;
- nurturing rate: open leads that were cold at the start of the period and reached warm or hot
  during it ÷ open leads cold at the start;
- repeat rate: contacts with two or more purchases ÷ contacts with one or more, purchases up to
  the end of the period (``deals.selectors_aftersale.repeat_rate``, over the ``purchase``
  events).

Costs are the channels' monthly costs prorated to the period (``costs``). The KPIs that
divide by or into a cost (CPL, CAC, ROI) are ``None`` when no cost is recorded for the period
(an unknown cost is not a free lead), and under an owner, team or segment filter: a cost belongs
to a channel or campaign, not to a person, and a rep's leads did not cost the channel's whole
budget.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

from django.db.models import Count
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sokyaku.analytics.metrics import Metric
from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.selectors import states
from sokyaku.analytics.selectors.costs import cost_by_channel, ratio_yen, yen
from sokyaku.analytics.selectors.scope import counts, scope_contacts, scope_q, totals
from sokyaku.deals import selectors_aftersale as aftersale
from sokyaku.scoring.models import Temperature


@dataclass(frozen=True)
class KpiSet:
    """One period's KPIs. Counts and yen are ``int``; ratios ``float`` (0.05 = 5 %) or ``None``
    when undefined. ``no_data``: nothing happened in the period (no counted row, no cost)."""

    leads: int = 0
    cost: int = 0
    cpl: int | None = None
    mqls: int = 0
    sqls: int = 0
    opportunities: int = 0
    customers: int = 0
    hot_lead_ratio: float | None = None
    opportunity_rate: float | None = None
    nurturing_rate: float | None = None
    lead_to_customer_rate: float | None = None
    sent: int = 0
    delivered: int = 0
    open_rate: float | None = None
    ctr: float | None = None
    conversion_rate: float | None = None
    cac: int | None = None
    roi: float | None = None
    revenue: int = 0
    won: int = 0
    win_rate: float | None = None
    orders: int = 0
    order_revenue: int = 0
    repeat_rate: float | None = None
    # The parts of the ratios, for tooltips and drill-downs.
    hot_leads: int = 0
    open_leads: int = 0
    handoffs: int = 0
    handoffs_converted: int = 0
    leads_converted: int = 0
    nurture_base: int = 0
    nurtured: int = 0
    opened: int = 0
    clicked: int = 0
    converted: int = 0
    buyers: int = 0
    repeat_buyers: int = 0
    no_data: bool = True

    def as_dict(self) -> dict[str, int | float | None]:
        """Every KPI (and part) by name (``no_data`` is not a KPI and is left out)."""
        values = asdict(self)
        return {name: values[name] for name in KPI_NAMES}


KPI_NAMES = tuple(name for name in KpiSet.__dataclass_fields__ if name != "no_data")

KPI_LABELS: dict[str, Promise] = {
    "leads": _("Leads"),
    "cost": _("Cost"),
    "cpl": _("Cost per lead (CPL)"),
    "mqls": _("MQLs"),
    "sqls": _("SQLs"),
    "opportunities": _("Opportunities"),
    "customers": _("New customers"),
    "hot_lead_ratio": _("Hot-lead ratio"),
    "opportunity_rate": _("Handoff-to-opportunity rate"),
    "nurturing_rate": _("Nurturing rate"),
    "lead_to_customer_rate": _("Lead-to-customer rate"),
    "sent": _("Mails sent"),
    "delivered": _("Mails delivered"),
    "open_rate": _("Open rate"),
    "ctr": _("Click-through rate (CTR)"),
    "conversion_rate": _("Conversion rate"),
    "cac": _("Customer acquisition cost (CAC)"),
    "roi": _("Return on investment (ROI)"),
    "revenue": _("Won revenue"),
    "won": _("Won deals"),
    "win_rate": _("Win rate"),
    "orders": _("Orders"),
    "order_revenue": _("Order revenue"),
    "repeat_rate": _("Repeat rate"),
    "hot_leads": _("Hot leads"),
    "open_leads": _("Open leads"),
    "handoffs": _("Handoffs"),
    "handoffs_converted": _("Handoffs that became opportunities"),
    "leads_converted": _("Leads that became customers"),
    "nurture_base": _("Cold leads at the start"),
    "nurtured": _("Cold leads warmed up"),
    "opened": _("Mails opened"),
    "clicked": _("Mails clicked"),
    "converted": _("Mail conversions"),
    "buyers": _("Buyers"),
    "repeat_buyers": _("Repeat buyers"),
}

# Cost sits beside revenue in both views: a return is read against what it cost.
B2B_KPIS = (
    "leads",
    "cost",
    "cpl",
    "mqls",
    "sqls",
    "hot_lead_ratio",
    "opportunity_rate",
    "nurturing_rate",
    "lead_to_customer_rate",
    "win_rate",
    "revenue",
    "cac",
    "roi",
)
B2C_KPIS = (
    "leads",
    "cost",
    "cpl",
    "sent",
    "open_rate",
    "ctr",
    "conversion_rate",
    "orders",
    "order_revenue",
    "repeat_rate",
    "cac",
    "roi",
)
# Ratios (shown as percentages) and yen amounts, for formatting.
RATIO_KPIS = frozenset(
    {
        "hot_lead_ratio",
        "opportunity_rate",
        "nurturing_rate",
        "lead_to_customer_rate",
        "open_rate",
        "ctr",
        "conversion_rate",
        "roi",
        "win_rate",
        "repeat_rate",
    }
)
YEN_KPIS = frozenset({"cost", "cpl", "cac", "revenue", "order_revenue"})


def ratio(part: int | Fraction, whole: int | Fraction) -> float | None:
    """``part ÷ whole``, ``None`` when ``whole`` is zero."""
    return float(Fraction(part) / Fraction(whole)) if whole else None


def kpis(period: Period, filters: Filters) -> KpiSet:
    """The KPIs of ``period`` under ``filters`` (see the module docstring). Half a dozen
    queries, each an aggregate: no per-contact work in Python."""
    n = totals(counts(period, filters))
    exact_cost = sum(
        cost_by_channel(
            period, channel_id=filters.channel_id, campaign_id=filters.campaign_id
        ).values(),
        Fraction(0),
    )
    # A cost to divide: recorded (not zero) and not narrowed to some of the channel's contacts.
    costed = not filters.narrows_contacts and exact_cost > 0
    start, end = period.bounds()
    scope = scope_contacts(filters)

    # Hot-lead ratio at the end of the period.
    hot = scope.filter(states.stage_q(end, states.OPEN_STAGES)).aggregate(
        open=Count("pk"), hot=Count("pk", filter=states.band_q(end, [Temperature.HOT]))
    )
    # Nurturing: open leads cold at the start that warmed up during the period.
    nurture = (
        scope.filter(states.stage_q(start, states.OPEN_STAGES))
        .exclude(states.band_q(start, states.WARM_OR_HOT))
        .aggregate(base=Count("pk"), warmed=Count("pk", filter=states.warmed_q(start, end)))
    )
    # Repeat rate over purchases up to the end of the period. (A merge moves the events to the
    # contact that stays, so no join to live contacts is needed without a filter.)
    repeat = aftersale.repeat_rate(end=end, where=scope_q(filters, prefix="contact__", live=False))

    leads = n[Metric.LEADS]
    delivered = n[Metric.DELIVERED]
    revenue = n[Metric.REVENUE]
    cost = yen(exact_cost)
    return KpiSet(
        leads=leads,
        cost=cost,
        cpl=ratio_yen(exact_cost, leads) if costed else None,
        mqls=n[Metric.MQLS],
        sqls=n[Metric.SQLS],
        opportunities=n[Metric.OPPORTUNITIES],
        customers=n[Metric.CUSTOMERS],
        hot_lead_ratio=ratio(hot["hot"], hot["open"]),
        opportunity_rate=ratio(n[Metric.HANDOFFS_CONVERTED], n[Metric.HANDOFFS]),
        nurturing_rate=ratio(nurture["warmed"], nurture["base"]),
        lead_to_customer_rate=ratio(n[Metric.LEADS_CONVERTED], leads),
        sent=n[Metric.SENT],
        delivered=delivered,
        open_rate=ratio(n[Metric.OPENED], delivered),
        ctr=ratio(n[Metric.CLICKED], delivered),
        conversion_rate=ratio(n[Metric.CONVERTED], delivered),
        cac=ratio_yen(exact_cost, n[Metric.CUSTOMERS]) if costed else None,
        roi=ratio(revenue - exact_cost, exact_cost) if costed else None,
        revenue=revenue,
        won=n[Metric.WON],
        win_rate=ratio(n[Metric.WON], leads),
        orders=n[Metric.ORDERS],
        order_revenue=n[Metric.ORDER_REVENUE],
        repeat_rate=ratio(repeat.repeat_customers, repeat.customers),
        hot_leads=hot["hot"],
        open_leads=hot["open"],
        handoffs=n[Metric.HANDOFFS],
        handoffs_converted=n[Metric.HANDOFFS_CONVERTED],
        leads_converted=n[Metric.LEADS_CONVERTED],
        nurture_base=nurture["base"],
        nurtured=nurture["warmed"],
        opened=n[Metric.OPENED],
        clicked=n[Metric.CLICKED],
        converted=n[Metric.CONVERTED],
        buyers=repeat.customers,
        repeat_buyers=repeat.repeat_customers,
        no_data=not any(n.values()) and exact_cost == 0,
    )
