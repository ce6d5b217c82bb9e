"""``/api/v1/handoffs``: the handoffs (open, accepted, rejected) with assignee, trigger and SLA
deadline; reassign, reject; sales activities on a contact.

A request acts as the key's creator (``core.visibility.api_user``): a rep's key lists and reaches
only the handoffs that rep sees (another rep's handoff answers 404), and writes need the rep's
permission to work handoffs. Accepting a handoff with BANT is ``POST /handoffs/{id}/accept`` in
the deals API.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from ninja import P, PathEx, Query, Router, Status

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.api import ContactId
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import NotFound, PermissionDenied, ValidationError
from sokyaku.core.models import AccessKind, ApiScope
from sokyaku.core.schemas import error_responses, paged, responses_extra
from sokyaku.core.services import data_access_log
from sokyaku.core.visibility import api_key, api_user
from sokyaku.handoff import alerts, selectors, services
from sokyaku.handoff.models import Handoff, SalesActivity
from sokyaku.handoff.routing import user_label
from sokyaku.handoff.schemas import (
    ActivityIn,
    ActivityOut,
    HandoffDetailOut,
    HandoffOut,
    HandoffPage,
    ListParams,
    ReassignIn,
    RejectIn,
)
from sokyaku.sequences.models import Sequence

router = Router(tags=["handoffs"])

HandoffId = PathEx[int, P(ge=1, le=2**63 - 1, description="The handoff's id.")]
_LIST_ERRORS = (401, 403, 422)
_GET_ERRORS = (401, 403, 404, 422)
_REASSIGN_ERRORS = (401, 403, 404, 413, 415, 422)
_REJECT_ERRORS = (401, 403, 404, 409, 413, 415, 422)
_ACTIVITY_ERRORS = (401, 403, 404, 413, 415, 422)


def _require(user: User | AnonymousUser | None, perm: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("The key's user may not change handoffs.")


def _renamed(exc: ValidationError, names: dict[str, str]) -> ValidationError:
    """The service's field names as the request body spells them."""
    return ValidationError(
        exc.message, field_errors={names.get(k, k): v for k, v in exc.field_errors.items()}
    )


def _user(user: User | None) -> dict[str, Any] | None:
    return {"id": user.pk, "name": user_label(user)} if user is not None else None


def _out(handoff: Handoff) -> dict[str, Any]:
    contact = handoff.contact
    return {
        "id": handoff.pk,
        "status": handoff.status,
        "assignee": _user(handoff.assignee),
        "team": handoff.team.name if handoff.team else None,
        "trigger": {
            "id": handoff.trigger_id,
            "kind": handoff.trigger_kind,
            "action": handoff.action_label,
        },
        "contact": {
            "id": contact.pk,
            "name": alerts.lead_name(contact),
            "company": contact.company.name if contact.company else None,
        },
        "interest": handoff.interest,
        "acted_at": handoff.acted_at,
        "created_at": handoff.created_at,
        "sla_due_at": handoff.sla_due_at,
        "sla_state": handoff.sla_state,
        "first_touch_at": handoff.first_touch_at,
        "routing_note": handoff.routing_note,
        "outcome": handoff.outcome,
        "reject_reason": handoff.reject_reason,
        "reject_note": handoff.reject_note,
        "closed_at": handoff.closed_at,
    }


def _detail(handoff: Handoff) -> dict[str, Any]:
    alert = selectors.alert_compose(handoff=handoff)
    return {
        **_out(handoff),
        "next_action": handoff.next_action,
        "alert": {"subject": alert.subject, "text": alert.text, "url": alert.url},
        "moments": [
            {"action": m.action_label, "interest": m.interest, "acted_at": m.acted_at}
            for m in handoff.moments.all()
        ],
        "recent": [{"at": at, "what": what} for at, what in alert.moments],
        "assignments": [
            {
                "from_user": _user(a.from_user),
                "to_user": _user(a.to_user),
                "by": _user(a.by),
                "reason": a.reason,
                "at": a.at,
            }
            for a in handoff.assignments.all()
        ],
    }


@router.get(
    "/handoffs",
    response={200: HandoffPage, **error_responses(*_LIST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.HANDOFFS_READ, "handoff.view_handoff"),
    operation_id="handoff_list",
    summary="Handoffs, newest first: assignee, trigger, contact, created, SLA deadline and state",
    description=(
        "Filter with `status` (open, accepted, rejected), `assignee` (a user id) or `queue=true` "
        "(unassigned). Paged with `page` and `page_size`. A rep's key sees that rep's handoffs "
        "(and their team's when shared). Needs the `handoffs:read` scope."
    ),
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def handoff_list(request: HttpRequest, params: Query[ListParams]) -> dict[str, Any]:
    user = api_user(request)
    rows = selectors.handoff_list(
        user=user,
        status=params.status,
        assignee_id=params.assignee,
        queue=params.queue,
    )
    page = paged(rows, page=params.page, page_size=params.page_size)
    if page["items"]:
        data_access_log(
            kind=AccessKind.BULK_VIEW,
            resource="handoffs.api_list",
            fields=list(HandoffOut.model_fields),
            rows=len(page["items"]),
            user=user,
            api_key=api_key(request),
            filters={
                "status": params.status or "",
                "assignee": params.assignee,
                "queue": params.queue,
                "page": params.page,
                "page_size": params.page_size,
            },
        )
    page["items"] = [_out(h) for h in page["items"]]
    return page


@router.get(
    "/handoffs/{handoff_id}",
    response={200: HandoffDetailOut, **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.HANDOFFS_READ, "handoff.view_handoff"),
    operation_id="handoff_get",
    summary="A handoff with its alert text, later hot actions, recent key events, reassignments",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def handoff_get(request: HttpRequest, handoff_id: HandoffId) -> dict[str, Any]:
    return _detail(selectors.handoff_get(user=api_user(request), id=handoff_id))


@router.post(
    "/handoffs/{handoff_id}/reassign",
    response={200: HandoffDetailOut, **error_responses(*_REASSIGN_ERRORS)},
    auth=ApiKeyAuth(ApiScope.HANDOFFS_WRITE, "handoff.change_handoff"),
    operation_id="handoff_reassign",
    summary="Give an open handoff to another rep, with a reason (the new rep is alerted)",
    description="422 for an unknown or inactive user, the same rep, or a closed handoff.",
    openapi_extra=responses_extra(_REASSIGN_ERRORS),
)
def handoff_reassign(
    request: HttpRequest, handoff_id: HandoffId, payload: ReassignIn
) -> dict[str, Any]:
    user = api_user(request)
    _require(user, "handoff.change_handoff")
    handoff = selectors.handoff_get(user=user, id=handoff_id)
    to_user = User.objects.filter(pk=payload.assignee_id).first()
    if to_user is None:
        raise ValidationError("Unknown user.", field_errors={"assignee_id": "unknown user"})
    try:
        services.handoff_reassign(
            handoff=handoff, to_user=to_user, reason=payload.reason, actor=user
        )
    except ValidationError as exc:
        raise _renamed(exc, {"assignee": "assignee_id"}) from exc
    return _detail(selectors.handoff_get(user=None, id=handoff.pk))


@router.post(
    "/handoffs/{handoff_id}/reject",
    response={200: HandoffDetailOut, **error_responses(*_REJECT_ERRORS)},
    auth=ApiKeyAuth(ApiScope.HANDOFFS_WRITE, "handoff.change_handoff"),
    operation_id="handoff_reject",
    summary="Reject an open handoff with a reason: recycle to nurture (optionally into a "
    "sequence) or disqualify",
    description="409 when the handoff is not open any more, or the sequence refuses the contact.",
    openapi_extra=responses_extra(_REJECT_ERRORS),
)
def handoff_reject(
    request: HttpRequest, handoff_id: HandoffId, payload: RejectIn
) -> dict[str, Any]:
    user = api_user(request)
    _require(user, "handoff.change_handoff")
    handoff = selectors.handoff_get(user=user, id=handoff_id)
    sequence = None
    if payload.sequence_id is not None:
        sequence = Sequence.objects.filter(pk=payload.sequence_id).first()
        if sequence is None:
            raise ValidationError(
                "Unknown sequence.", field_errors={"sequence_id": "unknown sequence"}
            )
    try:
        services.handoff_reject(
            handoff=handoff,
            actor=user,
            reason=payload.reason,
            note=payload.note,
            outcome=payload.outcome,
            sequence=sequence,
        )
    except ValidationError as exc:
        raise _renamed(exc, {"sequence": "sequence_id"}) from exc
    return _detail(selectors.handoff_get(user=None, id=handoff.pk))


def _activity(activity: SalesActivity) -> dict[str, Any]:
    return {
        "id": activity.pk,
        "kind": activity.kind,
        "subject": activity.subject,
        "body": activity.body,
        "occurred_at": activity.occurred_at,
        "user": _user(activity.user),
        "handoff_id": activity.handoff_id,
    }


@router.get(
    "/contacts/{contact_id}/activities",
    response={200: list[ActivityOut], **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.HANDOFFS_READ, "handoff.view_salesactivity"),
    operation_id="contact_activity_list",
    summary="The calls, mails, meetings and notes reps logged on a contact, newest first",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def contact_activity_list(request: HttpRequest, contact_id: ContactId) -> list[dict[str, Any]]:
    rows = selectors.activity_list(user=api_user(request), contact_id=contact_id)
    return [_activity(a) for a in rows[:500]]


@router.post(
    "/contacts/{contact_id}/activities",
    response={201: ActivityOut, **error_responses(*_ACTIVITY_ERRORS)},
    auth=ApiKeyAuth(ApiScope.HANDOFFS_WRITE, "handoff.add_salesactivity"),
    operation_id="contact_activity_log",
    summary="Log a call, mail, meeting or note; the first touch of an open handoff is its "
    "speed to lead",
    openapi_extra=responses_extra(_ACTIVITY_ERRORS),
)
def contact_activity_log(
    request: HttpRequest, contact_id: ContactId, payload: ActivityIn
) -> Status:
    user = api_user(request)
    _require(user, "handoff.add_salesactivity")
    # The contact must be one the key's user sees (its owner, or one of its handoffs).
    selectors.activity_list(user=user, contact_id=contact_id)
    contact = contact_selectors.contact_get(user=None, id=contact_id)
    if contact.pk != contact_id:
        raise NotFound(f"No contact with id {contact_id}.")
    activity = services.activity_log(
        contact=contact,
        actor=user,
        kind=payload.kind,
        subject=payload.subject,
        body=payload.body,
        occurred_at=payload.occurred_at,
    )
    return Status(201, _activity(activity))
