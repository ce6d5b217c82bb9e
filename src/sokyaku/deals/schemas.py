"""Request and response shapes of the deals API."""

from __future__ import annotations

from datetime import date, datetime

from ninja import Field, Schema
from pydantic import ConfigDict, StrictInt, StrictStr

from sokyaku.core import clock
from sokyaku.deals.models import Deal, DealStage, ForecastCategory, LostReason, Pipeline
from sokyaku.lifecycle.schemas import BantIn

MAX_ID = 2**63 - 1
AMOUNT_MAX = 10**15


class StageOut(Schema):
    id: int
    name: str
    position: int
    probability: int = Field(description="Win probability (0–100) that weights the forecast.")
    kind: str = Field(description="open, won or lost.")
    stagnation_days: int | None = Field(
        description="Days in this stage after which the owner is alerted (null: never)."
    )


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    stages: list[StageOut]

    @staticmethod
    def resolve_stages(obj: Pipeline) -> list[DealStage]:
        return list(obj.stages.all())


class DealLineOut(Schema):
    id: int
    product_id: int | None
    name: str
    quantity: int
    unit_price: int
    total: int


class DealOut(Schema):
    id: int
    name: str
    pipeline_id: int
    stage_id: int
    stage_name: str
    stage_kind: str
    probability: int
    status: str = Field(description="open, won or lost.")
    amount: int | None = Field(description="JPY.")
    weighted_amount: int = Field(description="amount × stage probability / 100 (JPY).")
    expected_close: date | None
    forecast_category: str = Field(
        description="commit, best_case, pipeline or omitted (an omitted deal counts in no "
        "forecast figure)."
    )
    contact_id: int | None
    company_id: int | None
    owner_id: int | None
    closed_at: datetime | None
    lost_reason: str
    close_note: str
    handoff_id: int | None
    bant_id: int | None
    version: int = Field(
        description="Send it back with a change; a different stored version answers 409."
    )
    stage_entered_at: datetime
    stagnating: bool = Field(description="In the stage longer than its stagnation days.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_stage_name(obj: Deal) -> str:
        return obj.stage.name

    @staticmethod
    def resolve_stage_kind(obj: Deal) -> str:
        return obj.stage.kind

    @staticmethod
    def resolve_probability(obj: Deal) -> int:
        return obj.stage.probability

    @staticmethod
    def resolve_weighted_amount(obj: Deal) -> int:
        return ((obj.amount or 0) * obj.stage.probability + 50) // 100

    @staticmethod
    def resolve_stagnating(obj: Deal) -> bool:
        days = obj.stage.stagnation_days
        return bool(
            obj.status == "open"
            and obj.stage.kind == "open"
            and days
            and (clock.now() - obj.stage_entered_at).total_seconds() >= days * 86400
        )


class DealDetailOut(DealOut):
    lines: list[DealLineOut]

    @staticmethod
    def resolve_lines(obj: Deal) -> list[object]:
        return list(obj.lines.all())


class DealPage(Schema):
    items: list[DealOut]
    count: int = Field(description="Deals matching the filters, on all pages.")
    page: int
    pages: int


class LineIn(Schema):
    model_config = ConfigDict(extra="forbid")

    product_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    name: StrictStr = Field("", max_length=150, description="Default: the product's name.")
    quantity: StrictInt = Field(1, ge=1, le=10**6)
    unit_price: StrictInt | None = Field(
        None, ge=0, le=AMOUNT_MAX, description="JPY; default: the product's unit price."
    )


class DealIn(Schema):
    """A new deal. The company defaults to the contact's, the owner to the contact's owner."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(max_length=200)
    contact_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    company_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    owner_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    amount: StrictInt | None = Field(
        None, ge=0, le=AMOUNT_MAX, description="JPY; default: the lines' total."
    )
    expected_close: date | None = None
    forecast_category: ForecastCategory = Field(
        ForecastCategory.PIPELINE, description="commit, best_case, pipeline or omitted."
    )
    pipeline_id: StrictInt | None = Field(None, ge=1, le=MAX_ID, description="Default pipeline.")
    stage_id: StrictInt | None = Field(
        None, ge=1, le=MAX_ID, description="An open stage; default: the pipeline's first."
    )
    lines: list[LineIn] = Field(default_factory=list, max_length=100)


class DealPatchIn(Schema):
    """Fields to change (only those sent); ``version`` is the one you read."""

    model_config = ConfigDict(extra="forbid")

    version: StrictInt = Field(ge=1, le=2**31)
    name: StrictStr | None = Field(None, max_length=200)
    contact_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    company_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    owner_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    amount: StrictInt | None = Field(None, ge=0, le=AMOUNT_MAX)
    expected_close: date | None = None
    forecast_category: ForecastCategory | None = None
    lines: list[LineIn] | None = Field(None, max_length=100)


class MoveIn(Schema):
    model_config = ConfigDict(extra="forbid")

    stage_id: StrictInt = Field(ge=1, le=MAX_ID)
    version: StrictInt = Field(ge=1, le=2**31, description="The deal's version you saw.")
    lost_reason: LostReason | None = Field(None, description="Required for the lost stage.")
    note: StrictStr = Field("", max_length=2000)


class WinIn(Schema):
    model_config = ConfigDict(extra="forbid")

    version: StrictInt | None = Field(None, ge=1, le=2**31)
    note: StrictStr = Field("", max_length=2000)


class LoseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: LostReason
    note: StrictStr = Field("", max_length=2000)
    version: StrictInt | None = Field(None, ge=1, le=2**31)


class DealListQuery(Schema):
    status: str | None = Field(None, pattern="^(open|won|lost)$")
    owner: int | None = Field(None, ge=1, le=MAX_ID, description="The owner's user id.")
    pipeline: int | None = Field(None, ge=1, le=MAX_ID, description="The pipeline's id.")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


class ForecastQuery(Schema):
    from_: str | None = Field(
        None,
        alias="from",
        pattern=r"^(19|2\d)\d{2}-(0[1-9]|1[0-2])$",
        description="First month, YYYY-MM (default: this month in Asia/Tokyo).",
    )
    months: int = Field(6, ge=1, le=36)

    model_config = ConfigDict(populate_by_name=True)


class ForecastRowOut(Schema):
    owner_id: int | None
    owner_name: str
    weighted: list[int]
    pipeline: list[int]
    won: list[int]
    weighted_total: int
    pipeline_total: int
    won_total: int
    committed: list[int]
    committed_total: int


class ForecastOut(Schema):
    months: list[str] = Field(description="YYYY-MM, one per column of the lists.")
    rows: list[ForecastRowOut] = Field(description="One row per owner (null: unassigned).")
    weighted: list[int] = Field(description="Open amount × probability by expected close (JPY).")
    pipeline: list[int] = Field(description="Open amount by expected close (JPY).")
    won: list[int] = Field(description="Won amount by month of closing (JPY).")
    weighted_total: int
    pipeline_total: int
    won_total: int
    committed: list[int] = Field(
        description="Open amount of the deals in the commit category, by expected close (JPY)."
    )
    committed_total: int


class QualifyDealIn(Schema):
    """The deal created on accept; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(
        None, max_length=200, description="Default: 「{company} — {action}」."
    )
    amount: StrictInt | None = Field(None, ge=0, le=AMOUNT_MAX)
    expected_close: date | None = None
    pipeline_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    stage_id: StrictInt | None = Field(None, ge=1, le=MAX_ID)
    lines: list[LineIn] = Field(default_factory=list, max_length=100)


class AcceptIn(Schema):
    """Accept a handoff: the rep's BANT entry and the deal to open."""

    model_config = ConfigDict(extra="forbid")

    bant: BantIn
    deal: QualifyDealIn | None = None
