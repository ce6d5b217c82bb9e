"""The Outbox page: every message the engine handled (or will), filterable by status, and one
message as it was sent — headers, the HTML in a sandboxed iframe, the text part. In the embedded
default (no SMTP server) this is where the mail "arrives". Failed messages can be sent again
(the ones ticked, or all failed since a day, of one sender profile), by those who may change
messages (marketers, admins)."""

from __future__ import annotations

from datetime import date, datetime, time

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sokyaku.consent import selectors as consent_selectors
from sokyaku.contacts.selectors import contact_is_visible, contact_visible_q
from sokyaku.core.clock import TOKYO
from sokyaku.core.errors import NotFound
from sokyaku.core.http import actor, domain_errors
from sokyaku.core.visibility import sees_all
from sokyaku.messaging import selectors
from sokyaku.messaging.models import MessageStatus
from sokyaku.messaging.services.pausing import marketing_paused
from sokyaku.messaging.services.resend import messages_resend

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
    can_resend = request.user.has_perm("messaging.change_message")
    return render(
        request,
        "messaging/outbox/list.html",
        {
            "page": page,
            "status": status,
            "query": query,
            "statuses": statuses,
            "can_resend": can_resend,
            "marketing_paused": marketing_paused(),
            "senders": selectors.sender_profile_list(user=None) if can_resend else [],
        },
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


def _day_start(raw: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(raw), time(0, 0), tzinfo=TOKYO)
    except ValueError:
        return None


@require_POST
@login_required
@permission_required("messaging.change_message", raise_exception=True)
@domain_errors
def outbox_resend(request: HttpRequest) -> HttpResponse:
    """Send failed messages again: the ticked ones (``ids``), or all failed since a day
    (``failed_since``, Tokyo) of an optional sender profile."""
    back = redirect(reverse("messaging:outbox") + "?status=failed")
    ids = [int(raw) for raw in request.POST.getlist("ids") if raw.isdigit() and len(raw) < 19]
    since = _day_start(request.POST.get("failed_since", ""))
    sender_raw = request.POST.get("sender", "")
    sender = (
        selectors.sender_profile_get(user=request.user, id=int(sender_raw))
        if sender_raw.isdigit() and len(sender_raw) < 19
        else None
    )
    if not ids and since is None:
        messages.error(request, _("Tick the messages to send again, or give a day."))
        return back
    count = messages_resend(
        ids=ids or None,
        failed_since=since if not ids else None,
        sender=sender if not ids else None,
        actor=actor(request),
    )
    messages.success(
        request, _("%(count)s failed messages were queued to be sent again.") % {"count": count}
    )
    return back
