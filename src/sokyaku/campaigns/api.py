"""``/api/v1/costs``: monthly costs per channel and campaign (the input of CPL and ROI).

``GET`` lists costs with filters; ``POST`` stores one cost or a list of up to ``MAX_ITEMS``,
all or nothing (an existing month/channel/campaign gets the new amount). Thin: channel and
campaign names are resolved, and every bad item reported, by ``campaigns.services``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import ConfigDict, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from sokyaku.campaigns import costs, selectors, services
from sokyaku.campaigns.models import ChannelCost
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import (
    error_item,
    error_responses,
    json_body,
    paged,
    responses_extra,
)

router = Router(tags=["costs"])

MAX_ITEMS = 1000
_MONTH = r"^\d{4}-\d{2}$"


class CostIn(Schema):
    """One month's cost of a channel, or of one campaign of it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    month: str = Field(pattern=_MONTH, examples=["2026-04"], description="YYYY-MM.")
    channel: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        examples=["paid-social"],
        description="The channel's key or name. May be left out when `campaign` is given.",
    )
    campaign: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        examples=["social_whitepaper"],
        description="A campaign's utm_campaign (or name); null for the channel as a whole.",
    )
    amount_jpy: int = Field(ge=0, le=costs.MAX_AMOUNT, examples=[600000])


class CostOut(Schema):
    month: str
    channel: str = Field(description="The channel's key.")
    channel_name: str
    campaign: str | None = Field(description="The campaign's utm_campaign, or null.")
    amount_jpy: int

    @staticmethod
    def resolve_month(obj: ChannelCost) -> str:
        return costs.month_label(obj.month)

    @staticmethod
    def resolve_channel(obj: ChannelCost) -> str:
        return obj.channel.key

    @staticmethod
    def resolve_channel_name(obj: ChannelCost) -> str:
        return obj.channel.name

    @staticmethod
    def resolve_campaign(obj: ChannelCost) -> str | None:
        return obj.campaign.utm_campaign if obj.campaign else None


class CostPage(Schema):
    items: list[CostOut]
    count: int
    page: int
    pages: int


class CostsSavedOut(Schema):
    stored: int = Field(description="Costs created or changed.")
    created: int
    updated: int
    unchanged: int


class CostListParams(Schema):
    month_from: str | None = Field(None, pattern=_MONTH, description="YYYY-MM, inclusive.")
    month_to: str | None = Field(None, pattern=_MONTH, description="YYYY-MM, inclusive.")
    channel: str = Field("", max_length=100, description="A channel key.")
    campaign: str = Field(
        "", max_length=200, description="A utm_campaign; `-` for channel-level costs only."
    )
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=1000)


_COST_SCHEMA = TypeAdapter(CostIn).json_schema()
_BODY_SCHEMA = {
    "oneOf": [
        _COST_SCHEMA,
        {"type": "array", "items": _COST_SCHEMA, "minItems": 1, "maxItems": MAX_ITEMS},
    ]
}
_BODY_EXAMPLES = {
    "one": {
        "summary": "Paid social, April 2026",
        "value": {"month": "2026-04", "channel": "paid-social", "amount_jpy": 600000},
    },
    "many": {
        "summary": "A month of several channels and a campaign",
        "value": [
            {"month": "2026-04", "channel": "seo-blog", "amount_jpy": 1000000},
            {"month": "2026-04", "channel": "webinar", "amount_jpy": 300000},
            {"month": "2026-04", "campaign": "social_whitepaper", "amount_jpy": 250000},
        ],
    },
}
_LIST_ERRORS = (401, 403, 422)
# The services' field names and their names on the wire.
_WIRE_FIELDS = {"amount": "amount_jpy"}
_POST_ERRORS = (401, 403, 413, 415, 422)


def _month(value: str | None, name: str) -> Any:
    if value is None:
        return None
    try:
        return costs.month_parse(value)
    except costs.ParseError as exc:
        raise NinjaValidationError(
            [error_item(["query", name], "Enter a month as YYYY-MM.")]
        ) from exc


@router.get(
    "",
    response={200: CostPage, **error_responses(*_LIST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.COSTS_READ, "campaigns.view_channelcost"),
    operation_id="cost_list",
    summary="List monthly costs, newest month first",
    description=(
        "Filter by months (`month_from`, `month_to`, YYYY-MM, inclusive), `channel` key and "
        "`campaign` (a utm_campaign; `-` for channel-level costs only). Paged with `page` and "
        "`page_size`. Needs the `costs:read` scope."
    ),
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def cost_list(request: HttpRequest, params: Query[CostListParams]) -> dict[str, Any]:
    qs = selectors.cost_list(
        user=None,
        month_from=_month(params.month_from, "month_from"),
        month_to=_month(params.month_to, "month_to"),
        channel_key=params.channel,
        campaign=params.campaign,
    )
    return paged(qs, page=params.page, page_size=params.page_size)


def _loc(single: bool, index: int, path: list[Any]) -> list[Any]:
    return ["body", *([] if single else [index]), *path]


def _parse(request: HttpRequest) -> tuple[list[CostIn], bool]:
    body = json_body(request)
    single = isinstance(body, dict)
    items = [body] if single else body
    if not isinstance(items, list) or not items:
        raise NinjaValidationError(
            [error_item(["body"], "Send one cost object or a non-empty list of costs.")]
        )
    if len(items) > MAX_ITEMS:
        raise NinjaValidationError(
            [error_item(["body"], f"At most {MAX_ITEMS} costs per request.", "too_long")]
        )
    parsed: list[CostIn] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            parsed.append(CostIn.model_validate(item))
        except PydanticValidationError as exc:
            errors += [
                error_item(_loc(single, index, list(e["loc"])), e["msg"], e["type"])
                for e in exc.errors(include_url=False, include_context=False)
            ]
    if errors:
        raise NinjaValidationError(errors[:100])
    return parsed, single


@router.post(
    "",
    response={200: CostsSavedOut, **error_responses(*_POST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.COSTS_WRITE, "campaigns.change_channelcost"),
    operation_id="costs_upsert",
    summary="Record one monthly cost or many",
    description=(
        f"Send one cost or a list of up to {MAX_ITEMS}. A month/channel/campaign that has a "
        "cost gets the new amount; stored whole or not at all (any bad item answers 422 with "
        "its index in `loc`). Needs the `costs:write` scope."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA, "examples": _BODY_EXAMPLES}},
        },
        **responses_extra(_POST_ERRORS),
    },
)
def costs_upsert(request: HttpRequest) -> CostsSavedOut:
    items, single = _parse(request)
    try:
        rows = services.cost_items_resolve(
            [
                costs.CostItem(
                    month=item.month,
                    channel=item.channel or "",
                    campaign=item.campaign or "",
                    amount=item.amount_jpy,
                )
                for item in items
            ]
        )
    except services.CostInputError as exc:
        raise NinjaValidationError(
            [
                error_item(_loc(single, p.index, [_WIRE_FIELDS.get(p.field, p.field)]), p.message)
                for p in exc.problems[:100]
            ]
        ) from exc
    saved = services.channel_costs_upsert(rows=rows)
    return CostsSavedOut(
        stored=saved.stored, created=saved.created, updated=saved.updated, unchanged=saved.unchanged
    )
