"""The Outbox page: every message the engine handled (or will), filterable by status, and one
message as it was sent — headers, the HTML in a sandboxed iframe, the text part. In the embedded
default (no SMTP server) this is where the mail "arrives"."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sokyaku.core.http import domain_errors
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
    page = Paginator(selectors.message_list(status=status, query=query), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
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
    return render(
        request,
        "messaging/outbox/detail.html",
        {
            "message": message,
            "headers": list(message.headers.items()),
            "links": message.links.all(),
        },
    )
