"""Home, health check, and the data-access log page (who exported or listed personal data)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from sokyaku.core import selectors
from sokyaku.core.models import AccessKind, DataAccessLog

ACCESS_LOG_PAGE_SIZE = 50

# What each logged ``resource`` is, in the reader's language; an unknown one shows as stored.
RESOURCE_LABELS = {
    "contacts.list": _("Contact list"),
    "contacts.api_list": _("Contact list (API)"),
    "contacts.export": _("Contact export"),
    "contacts.import_errors": _("Import error report"),
    "segments.members": _("Segment members"),
    "segments.audience_export": _("Audience export"),
    "capture.submissions": _("Form submissions"),
}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Marketing starts on the dashboard, everyone else on the contacts list."""
    if request.user.has_perm("analytics.view_reports"):
        return redirect("analytics:dashboard")
    return redirect("contacts:list")


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and ``sokyaku demo``."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "database": connection.vendor})


def _int(raw: str) -> int | None:
    return int(raw) if raw.isdigit() and len(raw) <= 18 else None


@require_GET
@login_required
@permission_required("core.view_dataaccesslog", raise_exception=True)
def access_log(request: HttpRequest) -> HttpResponse:
    """Every export and bulk view of personal data, newest first, filterable by user and kind."""
    user_id = _int(request.GET.get("user", ""))
    kind = request.GET.get("kind", "")
    if kind not in AccessKind.values:
        kind = ""
    entries = DataAccessLog.objects.select_related("user", "api_key").order_by("-at", "-id")
    if user_id is not None:
        entries = entries.filter(user_id=user_id)
    if kind:
        entries = entries.filter(kind=kind)
    page = Paginator(entries, ACCESS_LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    rows: list[dict[str, Any]] = [
        {
            "entry": entry,
            "what": RESOURCE_LABELS.get(entry.resource, entry.resource),
            "filters": sorted((str(k), _shown(v)) for k, v in (entry.filters or {}).items()),
        }
        for entry in page.object_list
    ]
    users: list[User] = list(selectors.user_list(active_only=False))
    context = {
        "page": page,
        "rows": rows,
        "users": users,
        "kinds": AccessKind.choices,
        "user_filter": user_id,
        "kind_filter": kind,
    }
    return render(request, "core/access_log.html", context)


def _shown(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)
