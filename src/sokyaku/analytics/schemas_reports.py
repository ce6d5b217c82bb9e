"""Wire shapes of the report endpoints (``/api/v1/analytics/sequences|handoffs|forecast``).

Query parameters are taken as text and checked by ``analytics.period`` (the same functions the
pages use), so a bad date, an end before the start or an unknown id answer 422 with one wording
everywhere. Rates are 0…1 and ``null`` when their denominator is zero; money is whole yen.
"""

from __future__ import annotations

from datetime import date

from ninja import Field, Schema
from pydantic import ConfigDict

_FROM = "First Tokyo day, YYYY-MM-DD (default: the first of this month, or of `to`'s month)."
_TO = "Last Tokyo day, YYYY-MM-DD, included (default: today, or the end of this month)."


class PeriodQuery(Schema):
    model_config = ConfigDict(populate_by_name=True)

    from_: str | None = Field(None, alias="from", description=_FROM)
    to: str | None = Field(None, description=_TO)


class SequencesQuery(PeriodQuery):
    sequence: str | None = Field(
        None, description="A sequence id: only that sequence (its steps and variants)."
    )


class HandoffsQuery(PeriodQuery):
    owner: str | None = Field(None, description="A user id: only handoffs assigned to them.")
    team: str | None = Field(
        None, description="A team id: handoffs routed to the team or assigned to its members."
    )


class MailCountsOut(Schema):
    sent: int = Field(description="Mails sent in the period.")
    delivered: int = Field(description="Sent and not bounced.")
    opened: int = Field(description="Opened by a person (machine opens excluded).")
    clicked: int = Field(description="Clicked by a person.")
    converted: int = Field(description="Clicked, then a goal action within 7 days of sending.")
    unsubscribed: int
    bounced: int
    open_rate: float | None = Field(description="opened ÷ delivered.")
    ctr: float | None = Field(description="clicked ÷ delivered.")
    conversion_rate: float | None = Field(description="converted ÷ delivered.")


class VariantOut(MailCountsOut):
    variant: str = Field(description='The A/B label ("" when the step has no variants).')


class StepOut(MailCountsOut):
    step_id: int | None
    position: int | None = Field(description="The step's position now (null: step deleted).")
    name: str
    deleted: bool
    variants: list[VariantOut]


class SequenceRowOut(MailCountsOut):
    kind: str = Field(description="`sequence` or `broadcast`.")
    id: int
    name: str
    enrolled: int | None = Field(description="Enrolments started in the period (sequences).")
    goal_reached: int | None = Field(description="Of those, how many reached the goal.")
    goal_rate: float | None
    steps: list[StepOut] = Field(description="The mail steps (empty for a broadcast).")


class SequenceReportOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    no_data: bool
    total: MailCountsOut
    rows: list[SequenceRowOut]


class HandoffCountsOut(Schema):
    handoffs: int = Field(description="Handoffs created in the period.")
    accepted: int
    rejected: int
    open: int
    sla_met: int
    sla_breached: int
    sla_met_rate: float | None = Field(description="met ÷ (met + breached).")
    acceptance_rate: float | None = Field(description="accepted ÷ (accepted + rejected).")
    median_speed_to_lead_minutes: float | None = Field(
        description="Median of first touch − creation over the touched handoffs."
    )
    converted: int = Field(
        description="Handoffs whose contact reached opportunity since, or got a deal from it."
    )
    opportunity_rate: float | None = Field(description="商談化率: converted ÷ handoffs.")


class HandoffGroupOut(HandoffCountsOut):
    id: int | None = Field(description="The rep's user id or the trigger's id (null: none).")
    name: str


class RejectReasonOut(Schema):
    reason: str
    label: str
    count: int
    share: float | None = Field(description="Of the rejected handoffs.")


class HandoffReportOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    no_data: bool
    total: HandoffCountsOut
    by_rep: list[HandoffGroupOut]
    by_trigger: list[HandoffGroupOut]
    reject_reasons: list[RejectReasonOut]


class ForecastCellOut(Schema):
    month: str | None = Field(description="YYYY-MM (null: the whole period).")
    weighted: int = Field(
        description="The forecast as it stood when the month began: deals expected to close in "
        "it × their stage probability then (JPY)."
    )
    pipeline: int = Field(description="Open deals' amount by expected close (JPY).")
    won: int = Field(description="Amount won, by month of closing (JPY).")
    variance: int = Field(description="won − weighted.")
    attainment: float | None = Field(description="won ÷ weighted.")
    created: int = Field(description="Deals created.")
    created_amount: int = Field(description="Their amounts (JPY).")
    quota: int = Field(description="The reps' quotas (JPY; 0 without one).")
    weighted_pipeline: int = Field(
        description="Open deals now × stage probability, by expected close (JPY)."
    )
    committed: int = Field(description="Open deals in the commit category (JPY).")
    quota_attainment: float | None = Field(description="won ÷ quota (null without a quota).")


class ForecastRepOut(Schema):
    owner_id: int | None
    owner_name: str
    months: list[ForecastCellOut]
    total: ForecastCellOut


class ForecastReportOut(Schema):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    months: list[str] = Field(description="YYYY-MM: the whole months the period touches.")
    no_data: bool
    rows: list[ForecastRepOut] = Field(description="Per owner (null: no owner), by name.")
    month_totals: list[ForecastCellOut]
    total: ForecastCellOut
