"""Wire shapes of the analytics API: the report query (period and filters) and the KPI,
channel and funnel answers.

Query parameters are checked for shape here (a date is ``YYYY-MM-DD``, an id a positive
integer); whether a date exists, the end comes after the start, or an id names a channel that
is still there is checked by ``analytics.period`` and answered with a 422 naming the parameter.
"""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

MAX_ID = 2**63 - 1
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

_RATIO = "A ratio (0.05 = 5 %); null when its divisor is zero."
_YEN_RATIO = "Whole yen (rounded half up); null when its divisor is zero or no cost is known."


class ReportQuery(Schema):
    from_: str | None = Field(
        None,
        alias="from",
        pattern=DATE_PATTERN,
        description="First day, YYYY-MM-DD (Asia/Tokyo). With `to` omitted too: this month.",
    )
    to: str | None = Field(
        None,
        pattern=DATE_PATTERN,
        description="Last day, YYYY-MM-DD, included. Omitted: today (or the start day).",
    )
    channel: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only leads whose first touch came through this channel."
    )
    campaign: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only leads whose first touch named this campaign."
    )
    segment: int | None = Field(None, ge=1, le=MAX_ID, description="Only contacts in this segment.")
    owner: int | None = Field(None, ge=1, le=MAX_ID, description="Only contacts this user owns.")
    team: int | None = Field(
        None, ge=1, le=MAX_ID, description="Only contacts owned by members of this team."
    )

    model_config = ConfigDict(populate_by_name=True)


class FunnelQuery(ReportQuery):
    mode: Literal["cohort", "period"] = Field(
        "cohort",
        description="cohort: contacts created in the period, at every stage they reached; "
        "period: stage entries in the period.",
    )


class KpiValuesOut(Schema):
    """The KPI table of one period."""

    from_: str = Field(alias="from", description="First day of the period (YYYY-MM-DD).")
    to: str = Field(description="Last day of the period (YYYY-MM-DD), included.")
    no_data: bool = Field(description="Nothing was counted and nothing cost in the period.")
    leads: int = Field(description="Contacts created in the period.")
    cost: int = Field(description="Channel costs in the period, yen (months prorated by day).")
    cpl: int | None = Field(description=f"Cost per lead. {_YEN_RATIO}")
    mqls: int = Field(description="Contacts that became MQLs (first time) in the period.")
    sqls: int = Field(description="Contacts that became SQLs (first time) in the period.")
    opportunities: int = Field(description="Contacts that became opportunities in the period.")
    customers: int = Field(description="Contacts that became customers in the period.")
    hot_lead_ratio: float | None = Field(
        description=f"Hot contacts ÷ open leads at the end of the period. {_RATIO}"
    )
    opportunity_rate: float | None = Field(
        description=f"商談化率: handoffs that became opportunities ÷ handoffs. {_RATIO}"
    )
    nurturing_rate: float | None = Field(
        description="Open leads cold at the start that reached warm or hot during the period "
        f"÷ open leads cold at the start. {_RATIO}"
    )
    lead_to_customer_rate: float | None = Field(
        description=f"Leads of the period that became customers ÷ leads. {_RATIO}"
    )
    sent: int = Field(description="Marketing mails sent.")
    delivered: int = Field(description="Marketing mails sent and not bounced.")
    open_rate: float | None = Field(description=f"Human opens ÷ delivered. {_RATIO}")
    ctr: float | None = Field(description=f"Clicks ÷ delivered. {_RATIO}")
    conversion_rate: float | None = Field(description=f"Goal conversions ÷ delivered. {_RATIO}")
    cac: int | None = Field(description=f"Cost ÷ new customers. {_YEN_RATIO}")
    roi: float | None = Field(description="(Won revenue − cost) ÷ cost; null without a cost.")
    revenue: int = Field(description="Amount of the deals won in the period, yen.")
    won: int = Field(description="Deals won in the period.")
    win_rate: float | None = Field(description=f"成約率: won deals ÷ leads. {_RATIO}")
    orders: int = Field(description="Orders in the period.")
    order_revenue: int = Field(description="Amount of the orders, yen.")
    repeat_rate: float | None = Field(
        description="Contacts with two or more purchases ÷ contacts with one or more, "
        f"purchases up to the end of the period. {_RATIO}"
    )
    hot_leads: int = Field(description="Hot open leads at the end of the period.")
    open_leads: int = Field(description="Open leads at the end of the period.")
    handoffs: int = Field(description="Handoffs to sales created in the period.")
    handoffs_converted: int = Field(description="Of those, handoffs that became opportunities.")
    leads_converted: int = Field(description="Leads of the period that became customers.")
    nurture_base: int = Field(description="Open leads cold at the start of the period.")
    nurtured: int = Field(description="Of those, leads that reached warm or hot in the period.")
    opened: int = Field(description="Delivered mails opened by a person.")
    clicked: int = Field(description="Delivered mails clicked.")
    converted: int = Field(description="Clicked mails followed by a goal action within a week.")
    buyers: int = Field(description="Contacts with a purchase up to the end of the period.")
    repeat_buyers: int = Field(description="Contacts with two or more purchases.")

    model_config = ConfigDict(populate_by_name=True)


class KpisOut(KpiValuesOut):
    previous: KpiValuesOut = Field(
        description="The same KPIs for the period of the same length just before."
    )


class ChannelRowOut(Schema):
    channel: str = Field(
        description="The channel's name; 'no channel' for leads without one, 'deleted channel "
        "#id' for the history of a channel deleted since."
    )
    channel_id: int = Field(description="The channel's id; 0 for leads without a channel.")
    channel_key: str = Field(description="The channel's key ('' without one or when deleted).")
    leads: int
    cost: int = Field(description="Yen, months prorated by day.")
    cpl: int | None = Field(description=f"Cost per lead. {_YEN_RATIO}")
    mqls: int
    sqls: int
    opportunities: int
    won: int = Field(description="Deals won in the period.")
    win_rate: float | None = Field(description=f"Won deals ÷ leads. {_RATIO}")
    revenue: int = Field(description="Won revenue, yen.")
    roi: float | None = Field(description="(Revenue − cost) ÷ cost; null without a cost.")
    cac: int | None = Field(
        description=f"Cost per won deal (the win-adjusted cost ranked on). {_YEN_RATIO}"
    )
    rank: int = Field(
        description="1 = lowest cost per won deal; channels without won deals come last."
    )


class FunnelStageOut(Schema):
    stage: Literal["lead", "mql", "sql", "opportunity", "customer"]
    label: str
    count: int
    conversion: float | None = Field(description=f"Count ÷ the previous stage's. {_RATIO}")
    median_days: float | None = Field(
        description="Median days in the stage before the next one forward; null when nobody "
        "has moved on."
    )


class FunnelOut(Schema):
    from_: str = Field(alias="from")
    to: str
    mode: Literal["cohort", "period"]
    no_data: bool
    stages: list[FunnelStageOut]

    model_config = ConfigDict(populate_by_name=True)
