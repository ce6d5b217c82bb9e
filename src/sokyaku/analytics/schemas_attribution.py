"""Request and response shapes of the attribution API."""

from __future__ import annotations

from datetime import date
from typing import Literal

from ninja import Field, Schema
from pydantic import ConfigDict


class AttributionQuery(Schema):
    from_: str | None = Field(
        None,
        alias="from",
        description="First day, YYYY-MM-DD (Asia/Tokyo; default: the first of `to`'s month). "
        "Neither `from` nor `to`: this month.",
        examples=["2026-05-01"],
    )
    to: str | None = Field(
        None,
        description="Last day, YYYY-MM-DD, included (default: today).",
        examples=["2026-05-31"],
    )
    by: Literal["channel", "campaign"] = Field(
        "channel", description="Credit channels, or campaigns (by `utm_campaign`)."
    )
    orders: bool = Field(
        False, description="Count B2C orders placed in the period as conversions too."
    )

    model_config = ConfigDict(populate_by_name=True)


class AttributionRowOut(Schema):
    id: int = Field(description="The channel's or campaign's id; 0 for the row of no channel.")
    key: str = Field(description='Channel key or utm_campaign ("" for none, and for the total).')
    name: str
    deals: int = Field(
        description="Conversions (won deals, and orders when asked) with a touch in this row; "
        "a deal touched by several rows counts in each."
    )
    first_touch: int = Field(description="Yen credited under the first-touch model.")
    last_touch: int = Field(description="Yen credited to the last touch before the win.")
    linear: int = Field(description="Yen credited with equal shares over the path.")
    u_shaped: int = Field(description="40 % first, 40 % lead creation, 20 % the others.")
    w_shaped: int = Field(
        description="30 % first, 30 % lead creation, 30 % opportunity creation, 10 % the others."
    )


class AttributionOut(Schema):
    from_: date = Field(alias="from")
    to: date
    by: str
    orders: bool = Field(description="Whether orders were counted.")
    models: list[str] = Field(description="The model keys, in the order of the row fields.")
    no_data: bool = Field(description="True when nothing was won in the period.")
    rows: list[AttributionRowOut] = Field(
        description="Ordered by linear credit; the row of no channel / campaign last. Each "
        "model's column adds up to the total to the yen."
    )
    total: AttributionRowOut = Field(
        description="Every conversion: `deals` is their number, each model the won revenue."
    )

    model_config = ConfigDict(populate_by_name=True)
