"""The Outbox page: every message the engine handled (or will), filterable by status, and one
message as it was sent — headers, the HTML in a sandboxed iframe, the text part. In the embedded
default (no SMTP server) this is where the mail "arrives"."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sokyaku.consent import selectors as consent_selectors
from sokyaku.contacts.selectors import contact_is_visible, contact_visible_q
from sokyaku.core.errors import NotFound
from sokyaku.core.http import domain_errors
from sokyaku.core.visibility import sees_all
from sokyaku.messaging import selectors
from sokyaku.messaging.models import MessageStatus

PAGE_SIZE = 50


@require_GET
@login_required
@permission_required("messaging.view_message", raise_exception=True)
@domain_errors
def outbox_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in MessageStatus.values:
        status = ""
    query = request.GET.get("q", "").strip()[:200]
    # A sales rep sees the mail of the contacts they may see only.
    rows = selectors.message_list(status=status, query=query)
    if not sees_all(request.user):
        rows = rows.filter(contact_visible_q(request.user, "contact"))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.message_status_counts()
    statuses = [(value, label, counts[value]) for value, label in MessageStatus.choices]
    return render(
        request,
        "messaging/outbox/list.html",
        {"page": page, "status": status, "query": query, "statuses": statuses},
    )


@require_GET
@login_required
@permission_required("messaging.view_message", raise_exception=True)
@domain_errors
def outbox_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get(message_id=message_id)
    if not sees_all(request.user) and (
        message.contact is None
        or not contact_is_visible(user=request.user, contact=message.contact)
    ):
        raise NotFound("No such message.")  # another rep's contact: as if it did not exist
    return render(
        request,
        "messaging/outbox/detail.html",
        {
            "message": message,
            "headers": list(message.headers.items()),
            "links": message.links.all(),
            # The topic by its name, not its key.
            "topic": consent_selectors.topic_list().filter(key=message.topic_key).first()
            if message.topic_key
            else None,
        },
    )
