"""``POST /api/v1/contacts/{id}/erasure``: erase (delete) a person through the API.

Needs the ``contacts:erase`` scope and, for a user's key, the permission to erase people
(admins). The same erasure as the contact page's (``privacy.services.erasure``); erasing a
person erased already answers with the earlier erasure.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, P, PathEx, Router, Schema
from pydantic import ConfigDict

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, responses_extra
from sokyaku.core.visibility import api_user
from sokyaku.privacy.models import ErasureLog, ErasureVia
from sokyaku.privacy.services import deletion

router = Router(tags=["contacts"])

ContactId = PathEx[int, P(ge=1, le=2**63 - 1, description="The contact's id.")]
_ERRORS = (401, 403, 404, 413, 415, 422)


class ErasureIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(
        "",
        max_length=300,
        description="Why, for the erasure log. Never the person's name or address.",
    )


class ErasureOut(Schema):
    id: int = Field(description="The erasure log entry.")
    contact_id: int = Field(description="The anonymous contact row that stays.")
    erased_at: datetime
    email_hash: str = Field(description="HMAC-SHA256 of the normalised email (keyed).")
    counts: dict[str, int] = Field(description="Rows changed or deleted, per table.")


@router.post(
    "/{contact_id}/erasure",
    response={200: ErasureOut, **error_responses(*_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_ERASE, "privacy.erase_person"),
    operation_id="contact_erase",
    summary="Erase (delete) a person",
    description=(
        "Erases the person from every table and stored file, in one transaction: the contact "
        "stays as an anonymous row that reports keep counting, the consent records keep their "
        "proof under a keyed hash, and the keyed hashes of the email and mobile number keep "
        "the person from marketing mail until they opt in again. Rows merged into the contact "
        "are erased with it. Erasing a person erased already answers with that erasure. "
        "Needs the `contacts:erase` scope. See docs/privacy.md."
    ),
    openapi_extra=responses_extra(_ERRORS),
)
def contact_erase(
    request: HttpRequest, contact_id: ContactId, payload: ErasureIn | None = None
) -> ErasureLog:
    user = api_user(request)
    contact = contact_selectors.contact_get(user=user, id=contact_id)
    return deletion.contact_delete(
        contact=contact,
        by=user,
        reason=payload.reason if payload is not None else "",
        via=ErasureVia.API,
    )
