"""``/api/v1/sequences``: list and read sequences, enrol and remove contacts, and the calendar
preview (the planned send time of each step for one contact, windows and holidays applied).

Contacts are read as the key's creator (``core.visibility.api_user``): a sales rep's key
enrols, removes and previews only contacts the rep sees; any other is a 404."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, P, PathEx, Query, Router, Schema, Status

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.api import ContactId
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import Conflict, NotFound, ValidationError
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, responses_extra
from sokyaku.core.visibility import api_user
from sokyaku.sequences import selectors
from sokyaku.sequences.models import Enrollment, Sequence
from sokyaku.sequences.schemas import (
    EnrollIn,
    EnrollmentOut,
    PlannedStepOut,
    SequenceDetailOut,
    SequenceOut,
)
from sokyaku.sequences.services import enrollment as enrollment_services

router = Router(tags=["sequences"])

SequenceId = PathEx[int, P(ge=1, le=2**63 - 1, description="The sequence's id.")]
_LIST_ERRORS = (401, 403)
_GET_ERRORS = (401, 403, 404, 422)
_ENROL_ERRORS = (401, 403, 404, 409, 413, 415, 422)
_REMOVE_ERRORS = (401, 403, 404, 422)


def _detail(sequence: Sequence) -> dict[str, Any]:
    return {
        "id": sequence.pk,
        "name": sequence.name,
        "status": sequence.status,
        "trigger_kind": sequence.trigger_kind,
        "description": sequence.description,
        "trigger_config": sequence.trigger_config,
        "reentry": sequence.reentry,
        "reentry_days": sequence.reentry_days,
        "exit_on": list(sequence.exit_on or []),
        "window_days": list(sequence.window_days or [1, 2, 3, 4, 5]),
        "window_start": (sequence.window_start or datetime.min.time().replace(hour=9)).isoformat(
            timespec="minutes"
        ),
        "window_end": (sequence.window_end or datetime.min.time().replace(hour=18)).isoformat(
            timespec="minutes"
        ),
        "skip_holidays": sequence.skip_holidays,
        "closures": list(sequence.closures or []),
        "topic_key": sequence.topic_key,
        "steps": [
            {"id": s.pk, "position": s.position, "kind": s.kind, "name": s.name, "config": s.config}
            for s in selectors.step_list(sequence=sequence)
        ],
    }


@router.get(
    "",
    response={200: list[SequenceOut], **error_responses(*_LIST_ERRORS)},
    auth=ApiKeyAuth(ApiScope.SEQUENCES_READ, "sequences.view_sequence"),
    operation_id="sequence_list",
    summary="Every sequence: id, name, status and trigger",
    openapi_extra=responses_extra(_LIST_ERRORS),
)
def sequence_list(request: HttpRequest) -> list[Sequence]:
    return list(Sequence.objects.order_by("name"))


@router.get(
    "/{sequence_id}",
    response={200: SequenceDetailOut, **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.SEQUENCES_READ, "sequences.view_sequence"),
    operation_id="sequence_get",
    summary="A sequence with its settings and steps",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def sequence_get(request: HttpRequest, sequence_id: SequenceId) -> dict[str, Any]:
    return _detail(selectors.sequence_get(user=None, id=sequence_id))


@router.post(
    "/{sequence_id}/enrollments",
    response={201: EnrollmentOut, **error_responses(*_ENROL_ERRORS)},
    auth=ApiKeyAuth(ApiScope.SEQUENCES_WRITE, "sequences.add_enrollment"),
    operation_id="sequence_enroll",
    summary="Enrol a contact (by id or email); 409 when already active or re-entry refuses",
    openapi_extra=responses_extra(_ENROL_ERRORS),
)
def sequence_enroll(request: HttpRequest, sequence_id: SequenceId, payload: EnrollIn) -> Status:
    sequence = selectors.sequence_get(user=None, id=sequence_id)
    user = api_user(request)
    if payload.contact_id is not None:
        contact = contact_selectors.contact_get(user=user, id=payload.contact_id)
    elif payload.email:
        found = contact_selectors.contact_find(email=str(payload.email), user=user)
        if found is None:
            raise NotFound("No contact has this email address.")
        contact = found
    else:
        raise ValidationError(
            "Give contact_id or email.", field_errors={"contact_id": "contact_id or email"}
        )
    if selectors.enrollment_active(sequence=sequence, contact_id=contact.pk) is not None:
        raise Conflict("The contact is already active in this sequence.")
    enrollment = enrollment_services.sequence_enroll(sequence=sequence, contact=contact)
    return Status(201, enrollment)


@router.delete(
    "/{sequence_id}/enrollments/{contact_id}",
    response={200: EnrollmentOut, **error_responses(*_REMOVE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.SEQUENCES_WRITE, "sequences.add_enrollment"),
    operation_id="sequence_unenroll",
    summary="Take a contact out of the sequence (exit reason: manual)",
    openapi_extra=responses_extra(_REMOVE_ERRORS),
)
def sequence_unenroll(
    request: HttpRequest, sequence_id: SequenceId, contact_id: ContactId
) -> Enrollment:
    sequence = selectors.sequence_get(user=None, id=sequence_id)
    contact = contact_selectors.contact_get(user=api_user(request), id=contact_id)
    enrollment = selectors.enrollment_get(sequence=sequence, contact_id=contact.pk)
    return enrollment_services.enrollment_exit(
        enrollment=enrollment, reason=enrollment_services.MANUAL
    )


class PreviewQuery(Schema):
    contact: int = Field(ge=1, le=2**63 - 1, description="The contact's id.")
    start: datetime | None = Field(
        default=None, description="When the contact would enrol (ISO 8601; default now)."
    )


@router.get(
    "/{sequence_id}/preview",
    response={200: list[PlannedStepOut], **error_responses(*_GET_ERRORS)},
    auth=ApiKeyAuth(ApiScope.SEQUENCES_READ, "sequences.view_sequence"),
    operation_id="sequence_preview",
    summary="The planned time of each step for a contact enrolled at `start`",
    openapi_extra=responses_extra(_GET_ERRORS),
)
def sequence_preview(
    request: HttpRequest, sequence_id: SequenceId, query: Query[PreviewQuery]
) -> list[dict[str, Any]]:
    sequence = selectors.sequence_get(user=None, id=sequence_id)
    contact = contact_selectors.contact_get(user=api_user(request), id=query.contact)
    start = query.start
    if start is not None and start.tzinfo is None:
        raise ValidationError(
            "start needs a time zone (e.g. +09:00).", field_errors={"start": "no time zone"}
        )
    planned = selectors.sequence_preview(sequence=sequence, contact=contact, start=start)
    return selectors.preview_as_dicts(planned)
