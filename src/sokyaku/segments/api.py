"""JSON endpoints for segments: the list with member counts, and a segment's members (paged).

Read-only, scope ``contacts:read`` (members are contacts). Writes go through the UI for now.
A sales rep's key lists only the members the rep sees; every page of members is written to the
data-access log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, P, PathEx, Query, Router, Schema

from sokyaku.contacts.selectors import contact_visible_q
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.models import AccessKind, ApiScope
from sokyaku.core.schemas import error_responses, paged, responses_extra
from sokyaku.core.services import data_access_log
from sokyaku.core.visibility import api_key, api_user
from sokyaku.segments import selectors

router = Router(tags=["segments"])

MAX_ID = 2**63 - 1
SegmentId = PathEx[int, P(ge=1, le=MAX_ID, description="The segment's id.")]
_LIST_ERRORS = (401, 403, 422)
_GET_ERRORS = (401, 403, 404, 422)


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str = Field(description="`dynamic` (follows its conditions) or `static` (a list).")
    definition: dict[str, Any] = Field(description="The conditions (see docs/segments.md).")
    member_count: int
    refreshed_at: datetime | None = Field(
        description="When a dynamic segment was last fully evaluated; null for a static list."
    )
    is_archived: bool
    created_at: datetime


class SegmentPage(Schema):
    items: list[SegmentOut]
    count: int
    page: int
    pages: int


class SegmentListParams(Schema):
    archived: bool = Field(False, description="List archived segments instead.")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=200)


class MemberOut(Schema):
    id: int = Field(description="The contact's id.")
    email: str
    family_name: str
    given_name: str
    entered_at: datetime = Field(description="When the contact entered the segment.")


class MemberPage(Schema):
    items: list[MemberOut]
    count: int
    page: int
    pages: int


class MemberParams(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(100, ge=1, le=1000)


@router.get(
    "",
    response={200: SegmentPage, **error_responses(*_LIST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_READ, "segments.view_segment"),
    operation_id="segment_list",
    summary="List segments with their member counts",
    description="Segments by name, paged. Needs the `contacts:read` scope.",
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def segment_list(request: HttpRequest, params: Query[SegmentListParams]) -> dict[str, Any]:
    rows = selectors.segment_list(user=None, archived=params.archived).order_by("name", "pk")
    return paged(rows, page=params.page, page_size=params.page_size)


@router.get(
    "/{segment_id}/contacts",
    response={200: MemberPage, **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_READ, "segments.view_segment"),
    operation_id="segment_contacts",
    summary="A segment's members (contact ids and emails), newest entry first",
    description=(
        "The members as last evaluated (dynamic segments are kept current as contacts change). "
        "Paged with `page` and `page_size`. Needs the `contacts:read` scope."
    ),
    openapi_extra=responses_extra(_GET_ERRORS),
)
def segment_contacts(
    request: HttpRequest, segment_id: SegmentId, params: Query[MemberParams]
) -> dict[str, Any]:
    user = api_user(request)
    segment = selectors.segment_get(user=user, id=segment_id)
    rows = selectors.segment_members(user=user, segment=segment).filter(
        contact_visible_q(user, "contact")
    )
    page = paged(rows, page=params.page, page_size=params.page_size)
    if page["items"]:
        data_access_log(
            kind=AccessKind.BULK_VIEW,
            resource="segments.members",
            fields=list(MemberOut.model_fields),
            rows=len(page["items"]),
            user=user,
            api_key=api_key(request),
            filters={"segment": segment.pk, "page": params.page, "page_size": params.page_size},
        )
    page["items"] = [
        {
            "id": m.contact_id,
            "email": m.contact.email,
            "family_name": m.contact.family_name,
            "given_name": m.contact.given_name,
            "entered_at": m.entered_at,
        }
        for m in page["items"]
    ]
    return page
