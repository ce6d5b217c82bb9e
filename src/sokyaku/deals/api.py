"""``/api/v1/deals`` and ``/api/v1/pipelines``: pipelines and stages, deals (create, move,
win, lose), the weighted forecast; accepting a handoff with BANT into a deal.

A request acts as the user who created its API key (``core.visibility.api_user``): a sales
rep's key sees and changes only that rep's deals (another rep's deal answers 404, as if it did
not exist); a key made on the command line acts for the installation.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import P, PathEx, Query, Router, Status

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.models import Company, Contact
from sokyaku.core import clock
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import NotFound, PermissionDenied, ValidationError
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, paged, responses_extra
from sokyaku.core.visibility import api_user
from sokyaku.deals import selectors, services
from sokyaku.deals.models import Deal, DealStage, Pipeline
from sokyaku.deals.schemas import (
    AcceptIn,
    DealDetailOut,
    DealIn,
    DealListQuery,
    DealPage,
    DealPatchIn,
    ForecastOut,
    ForecastQuery,
    LineIn,
    LoseIn,
    MoveIn,
    PipelineOut,
    WinIn,
)
from sokyaku.lifecycle.models import ChangeSource

router = Router(tags=["deals"])

MAX_ID = 2**63 - 1
DealId = PathEx[int, P(ge=1, le=MAX_ID, description="The deal's id.")]
HandoffId = PathEx[int, P(ge=1, le=MAX_ID, description="The handoff's id.")]


_PIPELINES_ERRORS = (401, 403)
_LIST_ERRORS = (401, 403, 422)
_CREATE_ERRORS = (401, 403, 413, 415, 422)
_GET_ERRORS = (401, 403, 404, 422)
_CHANGE_ERRORS = (401, 403, 404, 409, 413, 415, 422)
_FORECAST_ERRORS = (401, 403, 422)
_ACCEPT_ERRORS = (401, 403, 404, 409, 413, 415, 422)

_DEAL_404 = "No deal with this id that the key's user may see."
_STALE_409 = (
    "The deal changed since you read it (someone moved or edited it): `detail` names the stage "
    "it is in now. Nothing was written; read it again."
)


def _writer(request: HttpRequest, perm: str = "deals.change_deal") -> User | None:
    """The key's user, when their role may ``perm`` (a marketer's key reads deals only)."""
    user = api_user(request)
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("The key's user may not change deals.")
    return user


def _extra(statuses: tuple[int, ...], **descriptions: str) -> dict[str, Any]:
    """``responses_extra`` with this router's own wording for 404 and 409."""
    extra = responses_extra(statuses)
    for key, text in descriptions.items():
        status = int(key.removeprefix("s"))
        if status in extra["responses"]:
            extra["responses"][status]["description"] = text
    return extra


# --- references in bodies -------------------------------------------------------------------


def _contact(request: HttpRequest, contact_id: int | None, field: str) -> Contact | None:
    if contact_id is None:
        return None
    try:
        return contact_selectors.contact_get(user=api_user(request), id=contact_id)
    except NotFound:
        raise ValidationError(
            "No contact with this id.", field_errors={field: "no such contact"}
        ) from None


def _company(request: HttpRequest, company_id: int | None, field: str) -> Company | None:
    if company_id is None:
        return None
    try:
        return contact_selectors.company_get(user=api_user(request), id=company_id)
    except NotFound:
        raise ValidationError(
            "No company with this id.", field_errors={field: "no such company"}
        ) from None


def _owner(owner_id: int | None, field: str) -> User | None:
    if owner_id is None:
        return None
    owner = User.objects.filter(pk=owner_id).first()
    if owner is None:
        raise ValidationError("No user with this id.", field_errors={field: "no such user"})
    return owner


def _pipeline(pipeline_id: int | None, field: str) -> Pipeline | None:
    if pipeline_id is None:
        return None
    try:
        return selectors.pipeline_get(id=pipeline_id)
    except NotFound:
        raise ValidationError(
            "No pipeline with this id.", field_errors={field: "no such pipeline"}
        ) from None


def _stage(stage_id: int | None, field: str) -> DealStage | None:
    if stage_id is None:
        return None
    try:
        return selectors.stage_get(id=stage_id)
    except NotFound:
        raise ValidationError(
            "No stage with this id.", field_errors={field: "no such stage"}
        ) from None


def _lines(lines: list[LineIn]) -> list[dict[str, Any]]:
    return [
        {
            "product": line.product_id,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
        }
        for line in lines
    ]


def _detail(request: HttpRequest, deal: Deal) -> Deal:
    return selectors.deal_get(user=api_user(request), id=deal.pk)


# --- pipelines ------------------------------------------------------------------------------


@router.get(
    "/pipelines",
    response={200: list[PipelineOut], **error_responses(*_PIPELINES_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_READ, "deals.view_pipeline"),
    operation_id="pipeline_list",
    summary="Pipelines with their stages (probability, kind, stagnation days), default first",
    openapi_extra=_extra(_PIPELINES_ERRORS),
)
def pipeline_list(request: HttpRequest) -> list[Pipeline]:
    pipelines = selectors.pipeline_list()
    if not pipelines:
        selectors.pipeline_default()
        pipelines = selectors.pipeline_list()
    return pipelines


# --- deals ----------------------------------------------------------------------------------


@router.get(
    "/deals",
    response={200: DealPage, **error_responses(*_LIST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_READ, "deals.view_deal"),
    operation_id="deal_list",
    summary="Deals the key's user may see, newest first",
    description=(
        "Filter by `status` (open, won, lost), `owner` (user id) and `pipeline` (id). Paged "
        "with `page` and `page_size`; `count` and `pages` describe the whole result. Needs the "
        "`deals:read` scope."
    ),
    openapi_extra=_extra(_LIST_ERRORS),
)
def deal_list(request: HttpRequest, params: Query[DealListQuery]) -> dict[str, Any]:
    pipeline = None
    if params.pipeline is not None:
        pipeline = _pipeline(params.pipeline, "pipeline")
    rows = selectors.deal_list(
        user=api_user(request), pipeline=pipeline, status=params.status, owner_id=params.owner
    )
    return paged(rows, page=params.page, page_size=params.page_size)


@router.post(
    "/deals",
    response={201: DealDetailOut, **error_responses(*_CREATE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_WRITE, "deals.add_deal"),
    operation_id="deal_create",
    summary="Create a deal (its contact becomes an opportunity)",
    description=(
        "The deal starts in `stage_id` (an open stage) or the pipeline's first stage. Without "
        "`amount`, the lines' total is the amount. Needs the `deals:write` scope."
    ),
    openapi_extra=_extra(_CREATE_ERRORS),
)
def deal_create(request: HttpRequest, payload: DealIn) -> Status:
    actor = _writer(request, "deals.add_deal")
    deal = services.deal_create(
        actor=actor,
        name=payload.name,
        contact=_contact(request, payload.contact_id, "contact_id"),
        company=_company(request, payload.company_id, "company_id"),
        owner=_owner(payload.owner_id, "owner_id"),
        amount=payload.amount,
        expected_close=payload.expected_close,
        pipeline=_pipeline(payload.pipeline_id, "pipeline_id"),
        stage=_stage(payload.stage_id, "stage_id"),
        lines=_lines(payload.lines),
        source=ChangeSource.API,
        forecast_category=payload.forecast_category,
    )
    return Status(201, selectors.deal_get(user=None, id=deal.pk))


@router.get(
    "/deals/{deal_id}",
    response={200: DealDetailOut, **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_READ, "deals.view_deal"),
    operation_id="deal_get",
    summary="A deal with its lines",
    openapi_extra=_extra(_GET_ERRORS, s404=_DEAL_404),
)
def deal_get(request: HttpRequest, deal_id: DealId) -> Deal:
    return selectors.deal_get(user=api_user(request), id=deal_id)


@router.patch(
    "/deals/{deal_id}",
    response={200: DealDetailOut, **error_responses(*_CHANGE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_WRITE, "deals.change_deal"),
    operation_id="deal_update",
    summary="Edit a deal (only the fields sent); send the `version` you read",
    openapi_extra=_extra(_CHANGE_ERRORS, s404=_DEAL_404, s409=_STALE_409),
)
def deal_update(request: HttpRequest, deal_id: DealId, payload: DealPatchIn) -> Deal:
    deal = selectors.deal_get(user=api_user(request), id=deal_id)
    _writer(request)
    sent = payload.model_dump(exclude_unset=True)
    fields: dict[str, Any] = {}
    for key in ("name", "amount", "expected_close"):
        if key in sent:
            fields[key] = sent[key]
    if payload.forecast_category is not None:
        fields["forecast_category"] = payload.forecast_category
    if "contact_id" in sent:
        fields["contact"] = _contact(request, payload.contact_id, "contact_id")
    if "company_id" in sent:
        fields["company"] = _company(request, payload.company_id, "company_id")
    if "owner_id" in sent:
        fields["owner"] = _owner(payload.owner_id, "owner_id")
    if payload.lines is not None:
        fields["lines"] = _lines(payload.lines)
    services.deal_update(
        deal=deal,
        actor=api_user(request),
        version=payload.version,
        source=ChangeSource.API,
        **fields,
    )
    return _detail(request, deal)


@router.post(
    "/deals/{deal_id}/move",
    response={200: DealDetailOut, **error_responses(*_CHANGE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_WRITE, "deals.change_deal"),
    operation_id="deal_move",
    summary="Move a deal to another stage of its pipeline (as on the board)",
    description=(
        "Send the `version` you read: a deal changed since answers 409 and nothing is written. "
        "The won stage needs an amount (422 on `amount`), the lost stage a `lost_reason`. "
        "Moving a won or lost deal to an open stage reopens it. Needs the `deals:write` scope."
    ),
    openapi_extra=_extra(_CHANGE_ERRORS, s404=_DEAL_404, s409=_STALE_409),
)
def deal_move(request: HttpRequest, deal_id: DealId, payload: MoveIn) -> Deal:
    deal = selectors.deal_get(user=api_user(request), id=deal_id)
    _writer(request)
    stage = _stage(payload.stage_id, "stage_id")
    assert stage is not None
    services.deal_move(
        deal=deal,
        stage=stage,
        version=payload.version,
        actor=api_user(request),
        lost_reason=payload.lost_reason or "",
        note=payload.note,
        source=ChangeSource.API,
    )
    return _detail(request, deal)


@router.post(
    "/deals/{deal_id}/win",
    response={200: DealDetailOut, **error_responses(*_CHANGE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_WRITE, "deals.change_deal"),
    operation_id="deal_win",
    summary="Mark a deal won: its contact becomes a customer (and enters deal_won sequences)",
    description=(
        "The deal needs an amount (422 on `amount`). With `version`, a deal changed since "
        "answers 409. Winning a won deal changes nothing. Needs the `deals:write` scope."
    ),
    openapi_extra=_extra(_CHANGE_ERRORS, s404=_DEAL_404, s409=_STALE_409),
)
def deal_win(request: HttpRequest, deal_id: DealId, payload: WinIn) -> Deal:
    deal = selectors.deal_get(user=api_user(request), id=deal_id)
    _writer(request)
    services.deal_win(
        deal=deal,
        actor=api_user(request),
        version=payload.version,
        note=payload.note,
        source=ChangeSource.API,
    )
    return _detail(request, deal)


@router.post(
    "/deals/{deal_id}/lose",
    response={200: DealDetailOut, **error_responses(*_CHANGE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_WRITE, "deals.change_deal"),
    operation_id="deal_lose",
    summary="Mark a deal lost with a reason (price, competitor, no_budget, timing, …)",
    openapi_extra=_extra(_CHANGE_ERRORS, s404=_DEAL_404, s409=_STALE_409),
)
def deal_lose(request: HttpRequest, deal_id: DealId, payload: LoseIn) -> Deal:
    deal = selectors.deal_get(user=api_user(request), id=deal_id)
    _writer(request)
    services.deal_lose(
        deal=deal,
        actor=api_user(request),
        reason=payload.reason,
        note=payload.note,
        version=payload.version,
        source=ChangeSource.API,
    )
    return _detail(request, deal)


# --- forecast -------------------------------------------------------------------------------


@router.get(
    "/forecast",
    response={200: ForecastOut, **error_responses(*_FORECAST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.DEALS_READ, "deals.view_deal"),
    operation_id="deal_forecast",
    summary="Weighted pipeline per month of expected close and won amounts, per owner",
    description=(
        "`from` (YYYY-MM, default this month) and `months` (1–36, default 6). `weighted` is "
        "each open deal's amount × its stage's probability, by month of expected close; "
        "`committed` the open amount of the deals in the commit category; `won` the amount won "
        "by month of closing (Asia/Tokyo). Omitted deals count nowhere. Only the key's user's "
        "visible deals count. Needs the `deals:read` scope."
    ),
    openapi_extra=_extra(_FORECAST_ERRORS),
)
def deal_forecast(request: HttpRequest, params: Query[ForecastQuery]) -> dict[str, Any]:
    if params.from_:
        year, month = (int(part) for part in params.from_.split("-"))
        start = date(year, month, 1)
    else:
        start = clock.local_now().date()
    result = selectors.forecast(user=api_user(request), start=start, months=params.months)
    return {
        "months": [f"{m:%Y-%m}" for m in result.months],
        "rows": result.rows,
        "weighted": result.weighted,
        "pipeline": result.pipeline,
        "won": result.won,
        "weighted_total": result.weighted_total,
        "pipeline_total": result.pipeline_total,
        "won_total": result.won_total,
        "committed": result.committed,
        "committed_total": result.committed_total,
    }


# --- accepting a handoff --------------------------------------------------------------------


@router.post(
    "/handoffs/{handoff_id}/accept",
    response={201: DealDetailOut, **error_responses(*_ACCEPT_ERRORS)},
    auth=ApiKeyAuth(ApiScope.HANDOFFS_WRITE, "deals.add_deal", "handoff.change_handoff"),
    operation_id="handoff_accept",
    summary="Accept a handoff with BANT: the lead becomes an SQL and a deal is opened",
    description=(
        "One transaction: the handoff is accepted, the BANT entry recorded (the contact becomes "
        "an SQL when it meets the SQL criteria), the contact becomes an opportunity and the deal "
        "is created, owned by the handoff's assignee. Errors in the parts come back under "
        "`body.bant.*` and `body.deal.*`. Needs the `handoffs:write` scope."
    ),
    openapi_extra=_extra(
        _ACCEPT_ERRORS,
        s404="No handoff with this id that the key's user may see.",
        s409="The handoff is not open any more (accepted or rejected already).",
    ),
)
def handoff_accept(request: HttpRequest, handoff_id: HandoffId, payload: AcceptIn) -> Status:
    from sokyaku.handoff import selectors as handoff_selectors

    user = api_user(request)
    handoff = handoff_selectors.handoff_get(user=user, id=handoff_id)
    _writer(request, "deals.add_deal")
    actor = user or handoff.assignee
    if actor is None:
        raise ValidationError(
            "The handoff has no assignee: assign it to a rep first.",
            field_errors={"handoff": "unassigned"},
        )
    deal_data: dict[str, Any] = {}
    if payload.deal is not None:
        deal_data = payload.deal.model_dump(exclude_unset=True)
        deal_data["pipeline"] = _pipeline(deal_data.pop("pipeline_id", None), "deal.pipeline_id")
        deal_data["stage"] = _stage(deal_data.pop("stage_id", None), "deal.stage_id")
        deal_data["lines"] = _lines(payload.deal.lines)
    deal = services.handoff_qualify(
        handoff=handoff,
        actor=actor,
        bant=payload.bant.model_dump(),
        deal=deal_data,
        source=ChangeSource.API,
    )
    return Status(201, selectors.deal_get(user=None, id=deal.pk))
