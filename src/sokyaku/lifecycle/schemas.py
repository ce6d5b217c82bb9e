"""Request and response shapes of the lifecycle API."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema
from pydantic import ConfigDict, StrictInt, StrictStr

from sokyaku.lifecycle.models import Authority, BudgetBand, Stage, TimelineBand


class StageChangeOut(Schema):
    from_: str = Field(alias="from", description='The stage before ("" for the first stage).')
    to: str
    changed_at: datetime
    source: str = Field(description="rule, user, api or system.")
    actor: str | None = Field(description="Username of the person who moved it, if a person did.")
    rule: str | None = Field(description="Name of the MQL rule that moved it, if one did.")
    reason: str

    model_config = ConfigDict(populate_by_name=True)


class LifecycleOut(Schema):
    stage: str
    entered_at: datetime | None
    history: list[StageChangeOut]


class LifecycleIn(Schema):
    """Move the contact to another stage (any stage, backwards too)."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage
    reason: StrictStr = Field(
        "", max_length=300, description="Required for recycled and disqualified."
    )


class BantIn(Schema):
    """A rep's BANT entry; a new entry supersedes the previous one."""

    model_config = ConfigDict(extra="forbid")

    budget_amount_jpy: StrictInt | None = Field(None, ge=0, le=10**15)
    budget_band: BudgetBand = BudgetBand.UNKNOWN
    authority: Authority = Authority.UNKNOWN
    need: StrictStr = Field("", max_length=2000)
    need_tags: list[StrictStr] = Field(default_factory=list, max_length=20)
    timeline_date: date | None = None
    timeline_band: TimelineBand = TimelineBand.UNKNOWN


class BantOut(Schema):
    id: int
    budget_amount_jpy: int | None
    budget_band: str
    authority: str
    need: str
    need_tags: list[str]
    timeline_date: date | None
    timeline_band: str
    recorded_at: datetime
    recorded_by: str | None
    stage: str = Field(description="The contact's stage after this entry (sql when it qualified).")


class BantLatestOut(Schema):
    bant: BantOut | None
