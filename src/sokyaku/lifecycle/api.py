"""``/api/v1/contacts/{id}/lifecycle`` and ``/api/v1/contacts/{id}/bant``: a contact's stage
with its history, moving it, and BANT entries (the latest one; recording a new one)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Status

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.api import ContactId
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, responses_extra
from sokyaku.core.visibility import api_user
from sokyaku.lifecycle import selectors, services
from sokyaku.lifecycle.models import BantRecord, ChangeSource
from sokyaku.lifecycle.schemas import BantIn, BantLatestOut, BantOut, LifecycleIn, LifecycleOut

router = Router(tags=["lifecycle"])

_READ_ERRORS = (401, 403, 404, 422)
_WRITE_ERRORS = (401, 403, 404, 413, 415, 422)


def _lifecycle(contact_id: int) -> dict[str, Any]:
    row = selectors.contact_stage_get(contact_id=contact_id)
    return {
        "stage": row.stage if row else selectors.stage_get(contact_id=contact_id),
        "entered_at": row.entered_at if row else None,
        "history": [
            {
                "from": change.from_stage,
                "to": change.to_stage,
                "changed_at": change.changed_at,
                "source": change.source,
                "actor": change.actor.get_username() if change.actor else None,
                "rule": change.rule.name if change.rule else None,
                "reason": change.reason,
            }
            for change in selectors.stage_history(contact_id=contact_id)
        ],
    }


def _bant(record: BantRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "budget_amount_jpy": record.budget_amount_jpy,
        "budget_band": record.budget_band,
        "authority": record.authority,
        "need": record.need,
        "need_tags": list(record.need_tags or []),
        "timeline_date": record.timeline_date,
        "timeline_band": record.timeline_band,
        "recorded_at": record.recorded_at,
        "recorded_by": record.recorded_by.get_username() if record.recorded_by else None,
        "stage": selectors.stage_get(contact_id=record.contact_id),
    }


@router.get(
    "/contacts/{contact_id}/lifecycle",
    response={200: LifecycleOut, **error_responses(*_READ_ERRORS)},
    by_alias=True,
    auth=ApiKeyAuth(ApiScope.CONTACTS_READ, "lifecycle.view_contactstage"),
    operation_id="contact_lifecycle",
    summary="A contact's lifecycle stage, since when, and every move (oldest first)",
    openapi_extra=responses_extra(_READ_ERRORS),
)
def contact_lifecycle(request: HttpRequest, contact_id: ContactId) -> dict[str, Any]:
    contact = contact_selectors.contact_get(user=api_user(request), id=contact_id)
    return _lifecycle(contact.pk)


@router.post(
    "/contacts/{contact_id}/lifecycle",
    response={200: LifecycleOut, **error_responses(*_WRITE_ERRORS)},
    by_alias=True,
    auth=ApiKeyAuth(ApiScope.CONTACTS_WRITE, "lifecycle.change_contactstage"),
    operation_id="contact_lifecycle_move",
    summary="Move a contact to another stage (a reason is required for recycled/disqualified)",
    openapi_extra=responses_extra(_WRITE_ERRORS),
)
def contact_lifecycle_move(
    request: HttpRequest, contact_id: ContactId, payload: LifecycleIn
) -> dict[str, Any]:
    contact = contact_selectors.contact_get(user=api_user(request), id=contact_id)
    services.stage_change(
        contact=contact, to_stage=payload.stage, source=ChangeSource.API, reason=payload.reason
    )
    return _lifecycle(contact.pk)


@router.get(
    "/contacts/{contact_id}/bant",
    response={200: BantLatestOut, **error_responses(*_READ_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_READ, "lifecycle.view_bantrecord"),
    operation_id="contact_bant",
    summary="A contact's latest BANT entry (null when none was recorded)",
    openapi_extra=responses_extra(_READ_ERRORS),
)
def contact_bant(request: HttpRequest, contact_id: ContactId) -> dict[str, Any]:
    contact = contact_selectors.contact_get(user=api_user(request), id=contact_id)
    record = selectors.bant_latest(contact_id=contact.pk)
    return {"bant": _bant(record) if record else None}


@router.post(
    "/contacts/{contact_id}/bant",
    response={201: BantOut, **error_responses(*_WRITE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_WRITE, "lifecycle.add_bantrecord"),
    operation_id="contact_bant_record",
    summary="Record a BANT entry; a contact that meets the SQL criteria becomes an SQL",
    openapi_extra=responses_extra(_WRITE_ERRORS),
)
def contact_bant_record(request: HttpRequest, contact_id: ContactId, payload: BantIn) -> Status:
    contact = contact_selectors.contact_get(user=api_user(request), id=contact_id)
    record = services.bant_record(
        contact=contact,
        budget_amount_jpy=payload.budget_amount_jpy,
        budget_band=payload.budget_band,
        authority=payload.authority,
        need=payload.need,
        need_tags=payload.need_tags,
        timeline_date=payload.timeline_date,
        timeline_band=payload.timeline_band,
        actor=None,
        source=ChangeSource.API,
    )
    return Status(201, _bant(record))
