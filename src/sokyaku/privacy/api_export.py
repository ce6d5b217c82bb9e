"""``GET /api/v1/contacts/{id}/export``: everything held on one person (``export.py``).

Its own scope, ``contacts:export``: reading contacts (``contacts:read``) is what integrations
do all day; handing out a whole person — their mails, notes, deals, consent proofs — is a
data-subject request, given to a key on purpose. The key's user also needs the UI's
permission for it (``contacts.export_contacts``) and must see the contact (else 404).
"""

from __future__ import annotations

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Router

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.api import ContactId
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import error_responses, responses_extra
from sokyaku.core.visibility import api_key, api_user
from sokyaku.privacy import export
from sokyaku.privacy.export_schema import PersonExport
from sokyaku.privacy.export_views import download

router = Router(tags=["privacy"])

_ERRORS = (401, 403, 404, 422)


@router.get(
    "/contacts/{contact_id}/export",
    response={200: PersonExport, **error_responses(*_ERRORS)},
    auth=ApiKeyAuth(ApiScope.CONTACTS_EXPORT, "contacts.view_contact", "contacts.export_contacts"),
    operation_id="contact_export",
    summary="Everything held on one person, as one JSON document",
    description=(
        "The person's record, merged duplicates, company, consent ledger with the purpose "
        "texts shown, events, form submissions, mails and chat messages as sent, internal "
        "notices (what they said, not to whom), handoffs, sales activities, deals, orders, "
        "referrals, score with its breakdown, lifecycle history and BANT, sequences, segments "
        "and pending changes. `format_version` 1; times in Asia/Tokyo (unlike the rest of the "
        "API). Streamed, so a long history does not time out. An id that was merged into "
        "another contact answers with that contact. Written to the data-access log. Needs the "
        "`contacts:export` scope."
    ),
    openapi_extra=responses_extra(_ERRORS),
)
def contact_export(request: HttpRequest, contact_id: ContactId) -> StreamingHttpResponse:
    contact = contact_selectors.contact_get(user=api_user(request), id=contact_id)
    chunks = export.person_export(contact=contact, user=api_user(request), api_key=api_key(request))
    return download(chunks, export.export_filename(contact=contact))
