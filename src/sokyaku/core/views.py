"""Home, health check, the data-access log page (who exported or listed personal data) and the
chat-identity page (where internal notices reach a staff user personally)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from sokyaku.core import selectors, services
from sokyaku.core.errors import ValidationError
from sokyaku.core.forms import StaffIdentityForm
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


@login_required
def staff_identity(request: HttpRequest, user_id: int | None = None) -> HttpResponse:
    """A staff user's own Slack member id and LINE user id: their own, or (with
    ``core.change_staffprofile``, i.e. admins) anyone's."""
    assert isinstance(request.user, User)
    person: User | None = request.user
    if user_id is not None and user_id != request.user.pk:
        if not request.user.has_perm("core.change_staffprofile"):
            raise PermissionDenied
        person = selectors.user_list(active_only=False).filter(pk=user_id).first()
    if person is None:
        raise Http404
    profile = selectors.staff_identity(user=person)
    status = 200
    if request.method == "POST":
        form = StaffIdentityForm(request.POST)
        if form.is_valid():
            try:
                services.staff_identity_save(
                    user=person,
                    slack_member_id=form.cleaned_data["slack_member_id"],
                    line_user_id=form.cleaned_data["line_user_id"],
                    actor=request.user,
                )
            except ValidationError as exc:
                form.add_service_errors(exc.field_errors)
            else:
                messages.success(request, _("Your notification settings were saved."))
                return redirect(request.path)
        status = 422
    else:
        form = StaffIdentityForm(
            initial={
                "slack_member_id": profile.slack_member_id if profile else "",
                "line_user_id": profile.line_user_id if profile else "",
            }
        )
    context = {"form": form, "person": person, "own": person.pk == request.user.pk}
    return render(request, "core/staff_identity.html", context, status=status)
