"""``/api/v1/contacts/{id}/consents``: read a contact's consent ledger and append to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import ConfigDict, StrictInt, StrictStr

from sokyaku.consent import selectors, services
from sokyaku.consent.models import (
    ConsentRecord,
    ConsentSource,
    ConsentStatus,
    ConsentTopic,
    LegalBasis,
    PurposeText,
)
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.api import ContactId
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import ValidationError
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, responses_extra
from sokyaku.core.visibility import api_user

router = Router(tags=["consent"])

_READ_ERRORS = (401, 403, 404, 422)
_WRITE_ERRORS = (401, 403, 404, 413, 415, 422)


class ConsentRecordOut(Schema):
    id: int
    topic: str = Field(description='Topic key, or "*" for every topic (an opt-out of all).')
    status: str
    legal_basis: str
    source: str
    source_detail: str
    recorded_at: datetime
    text_version: int | None
    text_sha256: str
    purpose_text: str | None = Field(description="Key of the purpose-of-use text shown.")
    ip: str | None
    user_agent: str

    @staticmethod
    def resolve_topic(obj: ConsentRecord) -> str:
        return obj.topic.key if obj.topic else "*"

    @staticmethod
    def resolve_purpose_text(obj: ConsentRecord) -> str | None:
        return obj.purpose_text.key if obj.purpose_text else None


class TopicStateOut(Schema):
    topic: str
    name: str
    granted: bool
    legal_basis: str
    since: datetime | None


class ConsentsOut(Schema):
    state: list[TopicStateOut]
    records: list[ConsentRecordOut]


class ConsentIn(Schema):
    """One decision of the person, as your system recorded it."""

    model_config = ConfigDict(extra="forbid")

    topic: StrictStr = Field(
        max_length=50, description='Topic key, or "*" with status withdrawn to opt out of all.'
    )
    status: ConsentStatus = Field(description="granted or withdrawn (pending is for forms).")
    legal_basis: LegalBasis | None = Field(None, description="Required for granted.")
    purpose_text: StrictStr | None = Field(
        None, max_length=50, description="Key of the text shown."
    )
    purpose_text_version: StrictInt | None = Field(None, ge=1, le=2**31 - 1)
    source_detail: StrictStr = Field("", max_length=200, examples=["CRM 同期"])
    ip: StrictStr | None = Field(None, max_length=45)
    user_agent: StrictStr = Field("", max_length=500)


def _consents(contact_id: int) -> dict[str, Any]:
    states = selectors.consent_state(contact_id=contact_id).values()
    return {
        "state": [
            {
                "topic": s.topic.key,
                "name": s.topic.name,
                "granted": s.granted,
                "legal_basis": s.legal_basis,
                "since": s.since,
            }
            for s in states
        ],
        "records": list(selectors.consent_records(contact_id=contact_id)),
    }


@router.get(
    "/contacts/{contact_id}/consents",
    response={200: ConsentsOut, **error_responses(*_READ_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_READ, "consent.view_consentrecord"),
    operation_id="contact_consents",
    summary="A contact's consent state per topic and every consent record, newest first",
    openapi_extra=responses_extra(_READ_ERRORS),
)
def contact_consents(request: HttpRequest, contact_id: ContactId) -> dict[str, Any]:
    contact = contact_selectors.contact_get(user=api_user(request), id=contact_id)
    return _consents(contact.pk)


@router.post(
    "/contacts/{contact_id}/consents",
    response={201: ConsentRecordOut, **error_responses(*_WRITE_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_WRITE, "consent.add_consentrecord"),
    operation_id="contact_consent_record",
    summary="Record an opt-in or opt-out (appended to the ledger, never edited)",
    openapi_extra=responses_extra(_WRITE_ERRORS),
)
def contact_consent_record(
    request: HttpRequest, contact_id: ContactId, payload: ConsentIn
) -> Status:
    contact = contact_selectors.contact_get(user=api_user(request), id=contact_id)
    topic = None
    if payload.topic != "*":
        topic = ConsentTopic.objects.filter(key=payload.topic).first()
        if topic is None:
            raise ValidationError(
                f"Unknown topic {payload.topic}.", field_errors={"topic": "unknown"}
            )
    elif payload.status != ConsentStatus.WITHDRAWN:
        raise ValidationError(
            'Topic "*" (every topic) only takes an opt-out.', field_errors={"topic": "*"}
        )
    if payload.status == ConsentStatus.PENDING:
        raise ValidationError(
            "Pending consents come from double opt-in forms.", field_errors={"status": "pending"}
        )
    text = None
    if payload.purpose_text:
        texts = PurposeText.objects.filter(key=payload.purpose_text)
        if payload.purpose_text_version:
            texts = texts.filter(version=payload.purpose_text_version)
        text = texts.order_by("-version").first()
        if text is None:
            raise ValidationError(
                "Unknown purpose-of-use text.", field_errors={"purpose_text": "unknown"}
            )
    record = services.consent_record(
        contact_id=contact.pk,
        topic=topic,
        status=payload.status,
        legal_basis=payload.legal_basis or "",
        evidence=services.Evidence(
            source=ConsentSource.API,
            source_detail=payload.source_detail,
            purpose_text=text,
            ip=payload.ip,
            user_agent=payload.user_agent,
        ),
    )
    return Status(201, record)
