"""Home, health check, the data-access log page (who exported or listed personal data), the
chat-identity page (where internal notices reach a staff user personally) and the API keys page
(every user makes and revokes their own keys; admins see and revoke everyone's)."""

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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.core import apiscopes, selectors, services
from sokyaku.core.errors import ValidationError
from sokyaku.core.forms import ApiKeyForm, StaffIdentityForm
from sokyaku.core.http import actor, domain_errors
from sokyaku.core.models import AccessKind, ApiKey, ApiScope, DataAccessLog

ACCESS_LOG_PAGE_SIZE = 50
API_KEYS_PAGE_SIZE = 50
# Admins: revoke anyone's key / make system keys.
REVOKE_ANY_KEY = "core.change_apikey"
ADD_SYSTEM_KEY = "core.add_apikey"

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


def _scope_labels(scopes: list[str]) -> list[str]:
    labels = dict(ApiScope.choices)
    return [str(labels[scope]) for scope in scopes if scope in labels]


@require_http_methods(["GET", "POST"])
@login_required
def apikeys(request: HttpRequest) -> HttpResponse:
    """The keys the user sees (their own; admins: everyone's) and the form for a new one. The
    new key's token is shown in the answer to the POST that made it, and never again."""
    user = actor(request)
    may_system = user.has_perm(ADD_SYSTEM_KEY)
    # A system key may carry any scope; a user's key only those the user may give it.
    offered = (
        list(ApiScope.choices)
        if may_system
        else [(scope.value, scope.label) for scope in apiscopes.scopes_allowed(user)]
    )
    new_key: services.NewApiKey | None = None
    status = 200
    form = ApiKeyForm(scopes=offered, may_system=may_system)
    if request.method == "POST":
        form = ApiKeyForm(request.POST, scopes=offered, may_system=may_system)
        if form.is_valid():
            system = bool(form.cleaned_data.get("system"))
            try:
                new_key = services.apikey_create(
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    created_by=None if system else user,
                    system=system,
                )
            except ValidationError as exc:
                form.add_service_errors(exc.field_errors or {"name": exc.message})
            else:
                form = ApiKeyForm(scopes=offered, may_system=may_system)
        if new_key is None:
            status = 422
    page = Paginator(selectors.apikey_list(user=user), API_KEYS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "key": key,
            "scopes": _scope_labels(key.scopes),
            "may_revoke": key.is_active
            and (key.created_by_id == user.pk or user.has_perm(REVOKE_ANY_KEY)),
        }
        for key in page.object_list
    ]
    context = {
        "form": form,
        "new_key": new_key,
        "new_scopes": _scope_labels(new_key.api_key.scopes) if new_key else [],
        "page": page,
        "rows": rows,
        "sees_all": user.has_perm(selectors.SEE_ALL_KEYS),
        "may_create": bool(offered),
    }
    response = render(request, "core/apikeys.html", context, status=status)
    if new_key is not None:
        # The one answer that holds the secret: no cache keeps it.
        response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
@domain_errors
def apikey_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke a key the user sees: their own, or (``core.change_apikey``) anyone's. It stops
    working with the next request."""
    user = actor(request)
    key: ApiKey = selectors.apikey_get(user=user, id=key_id)
    if key.created_by_id != user.pk and not user.has_perm(REVOKE_ANY_KEY):
        raise PermissionDenied
    services.apikey_revoke(prefix=key.prefix, actor=user)
    messages.success(
        request, _("The API key “%(name)s” was revoked: it no longer works.") % {"name": key.name}
    )
    return redirect("core:apikeys")
