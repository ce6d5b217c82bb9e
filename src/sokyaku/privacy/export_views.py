"""The contact page's download of everything held on the person (``export.py``), as a JSON file
named ``sokyaku-contact-<id>-<YYYYMMDD>.json``.

It needs ``contacts.export_contacts`` — handing a person's data out of the system is an export,
which marketers and admins may do and sales reps may not — and the contact must be one the
user sees (another's is a 404, as everywhere).
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, StreamingHttpResponse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core.errors import NotFound
from sokyaku.core.http import HtmxHttpRequest, actor
from sokyaku.privacy import export

PERMISSIONS = ("contacts.view_contact", "contacts.export_contacts")


def download(chunks: Iterator[bytes], filename: str) -> StreamingHttpResponse:
    """A streamed JSON attachment that no cache keeps."""
    response = StreamingHttpResponse(chunks, content_type=export.CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    add_never_cache_headers(response)
    return response


@require_GET
@login_required
@permission_required(PERMISSIONS, raise_exception=True)
def person_export(request: HtmxHttpRequest, contact_id: int) -> StreamingHttpResponse:
    try:
        contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    chunks = export.person_export(contact=contact, user=actor(request))
    return download(chunks, export.export_filename(contact=contact))
