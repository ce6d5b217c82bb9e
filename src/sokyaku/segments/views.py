"""Segments UI: list, create/edit with the condition builder and its live count, a segment's
page (members, refresh, static-list add/remove, audience export), archive.

Views are thin: they parse the request, call permission-checked selectors and the services,
and render. Reading needs ``segments.view_segment``; writing needs ``segments.change_segment``
and exporting audiences also ``contacts.export_contacts`` (marketers and admins, not sales
reps). A sales rep sees only the members they may see (their own contacts, or their team's).
Every page of members and every export is written to the data-access log.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.contacts.selectors import contact_ids_by_email, contact_visible_q
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.core.models import AccessKind
from sokyaku.core.services import data_access_log
from sokyaku.core.visibility import sees_all
from sokyaku.segments import export, selectors, services
from sokyaku.segments.builder import builder_definition_from_post
from sokyaku.segments.models import Segment, SegmentKind

VIEW = selectors.VIEW
CHANGE = selectors.CHANGE
EXPORT_CONTACTS = "contacts.export_contacts"
MEMBERS_PER_PAGE = 50
# The personal data a page of members shows (for the data-access log).
MEMBER_FIELDS = ("name", "email", "company", "title", "score", "stage", "entered_at")
_EMAILS = re.compile(r"[\s,;、，]+")


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def segment_list(request: HtmxHttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "1"
    segments = selectors.segment_list(user=request.user, archived=archived)
    return render(request, "segments/list.html", {"segments": segments, "archived": archived})


def _editor_context(
    *,
    segment: Segment | None,
    values: dict[str, Any],
    definition: Any,
    error: ValidationError | None,
) -> dict[str, Any]:
    errors = dict(error.field_errors) if error else {}
    return {
        "segment": segment,
        "values": values,
        "definition": definition,
        "errors": errors,
        "error_message": error.message if error else "",
        "kinds": SegmentKind.choices,
    }


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def segment_create(request: HtmxHttpRequest) -> HttpResponse:
    return _edit(request, None)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def segment_edit(request: HtmxHttpRequest, segment_id: int) -> HttpResponse:
    return _edit(request, selectors.segment_get(user=request.user, id=segment_id))


def _edit(request: HtmxHttpRequest, segment: Segment | None) -> HttpResponse:
    if request.method == "GET":
        values = {
            "name": segment.name if segment else "",
            "description": segment.description if segment else "",
            "kind": segment.kind if segment else SegmentKind.DYNAMIC,
        }
        definition = segment.definition if segment and segment.definition else _starter()
        context = _editor_context(segment=segment, values=values, definition=definition, error=None)
        return render(request, "segments/form.html", context)
    values = {k: request.POST.get(k, "") for k in ("name", "description", "kind")}
    posted: dict[str, Any] = {}
    try:
        if values["kind"] == SegmentKind.DYNAMIC:
            posted = builder_definition_from_post(request.POST)
        if segment is None:
            segment = services.segment_create(
                name=values["name"],
                kind=values["kind"],
                definition=posted,
                description=values["description"],
                actor=actor(request),
            )
            messages.success(request, _("Segment created."))
        else:
            segment = services.segment_update(
                segment=segment,
                name=values["name"],
                kind=values["kind"],
                definition=posted,
                description=values["description"],
                actor=actor(request),
            )
            messages.success(request, _("Segment saved."))
    except ValidationError as exc:
        context = _editor_context(
            segment=segment, values=values, definition=posted or _starter(), error=exc
        )
        return render(request, "segments/form.html", context, status=422)
    return redirect("segments:detail", segment_id=segment.pk)


def _starter() -> dict[str, Any]:
    return {"op": "and", "conditions": [{"field": "title_level", "op": "gte", "value": 4}]}


@require_POST
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def segment_count(request: HtmxHttpRequest) -> HttpResponse:
    """The builder's live count: how many contacts the posted (unsaved) definition matches."""
    prefix = request.POST.get("builder_prefix", "")
    context: dict[str, Any] = {"count": None, "errors": {}, "message": ""}
    try:
        definition = builder_definition_from_post(request.POST, prefix)
        context["count"] = selectors.segment_count(definition)
    except ValidationError as exc:
        context["errors"] = exc.field_errors
        context["message"] = exc.message
    context["errors_json"] = json.dumps(context["errors"], ensure_ascii=False)
    context["at"] = clock.now()
    return render(request, "segments/_count.html", context)


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def segment_detail(request: HtmxHttpRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(user=request.user, id=segment_id)
    members = selectors.segment_members(user=request.user, segment=segment)
    paginator = Paginator(members, MEMBERS_PER_PAGE, allow_empty_first_page=True)
    if sees_all(request.user):
        paginator.count = segment.member_count  # counted when written: no COUNT(*) per page
    else:
        # A rep sees their own members only, so the stored count is not theirs.
        paginator = Paginator(
            members.filter(contact_visible_q(request.user, "contact")),
            MEMBERS_PER_PAGE,
            allow_empty_first_page=True,
        )
    page = paginator.get_page(request.GET.get("page"))
    shown = list(page.object_list)
    if shown:
        data_access_log(
            kind=AccessKind.BULK_VIEW,
            resource="segments.members",
            fields=MEMBER_FIELDS,
            rows=len(shown),
            user=actor(request),
            filters={"segment": segment.pk, "page": page.number},
        )
    return render(
        request,
        "segments/detail.html",
        {
            "segment": segment,
            "page": page,
            "can_change": request.user.has_perm(CHANGE),
            "can_export": request.user.has_perm(selectors.EXPORT)
            and request.user.has_perm(EXPORT_CONTACTS),
            "formats": export.FORMATS,
        },
    )


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def segment_refresh(request: HtmxHttpRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(user=request.user, id=segment_id)
    try:
        entered, left = services.segment_refresh(segment=segment)
    except ValidationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Refreshed: %(entered)d entered, %(left)d left.")
            % {"entered": entered, "left": left},
        )
    return redirect("segments:detail", segment_id=segment.pk)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def segment_members_add(request: HtmxHttpRequest, segment_id: int) -> HttpResponse:
    """Add by pasted emails (list page) or by ``contact_id`` (the contact page's panel)."""
    segment = selectors.segment_get(user=request.user, id=segment_id)
    ids: list[int] = []
    unknown: list[str] = []
    if request.POST.get("contact_id"):
        ids = [int(request.POST["contact_id"])] if request.POST["contact_id"].isdigit() else []
    else:
        emails = [e for e in _EMAILS.split(request.POST.get("emails", "")) if e]
        found = contact_ids_by_email(emails=emails)
        ids = list(found.values())
        unknown = [e for e in emails if e not in found]
    try:
        added = services.segment_members_add(segment=segment, contact_ids=ids, actor=actor(request))
    except ValidationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(n)d added to the list.") % {"n": added})
        if unknown:
            messages.warning(
                request,
                _("No contact with these emails: %(emails)s") % {"emails": ", ".join(unknown[:20])},
            )
    back = request.POST.get("next", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back)
    return redirect("segments:detail", segment_id=segment.pk)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def segment_members_remove(request: HtmxHttpRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(user=request.user, id=segment_id)
    ids = [int(v) for v in request.POST.getlist("contact_id") if v.isdigit()]
    try:
        removed = services.segment_members_remove(
            segment=segment, contact_ids=ids, actor=actor(request)
        )
    except ValidationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(n)d removed from the list.") % {"n": removed})
    return redirect("segments:detail", segment_id=segment.pk)


@require_POST
@login_required
@permission_required((selectors.EXPORT, EXPORT_CONTACTS), raise_exception=True)
@domain_errors
def segment_export(request: HtmxHttpRequest, segment_id: int, format: str) -> HttpResponse:
    segment = selectors.segment_get(user=request.user, id=segment_id)
    try:
        body = export.audience_export(segment=segment, format=format, actor=actor(request))
    except ValidationError as exc:
        messages.error(request, exc.message)
        return redirect("segments:detail", segment_id=segment.pk)
    data_access_log(
        kind=AccessKind.EXPORT,
        resource="segments.audience_export",
        fields=list(export.HEADERS[format]),
        rows=max(0, body.count(b"\n") - 1),  # one line per person after the header
        user=actor(request),
        filters={"segment": segment.pk, "format": format},
    )
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    filename = f"audience-{segment.pk}-{format}-{clock.local_now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def segment_archive(request: HtmxHttpRequest, segment_id: int) -> HttpResponse:
    segment = selectors.segment_get(user=request.user, id=segment_id)
    if request.POST.get("restore"):
        services.segment_restore(segment=segment, actor=actor(request))
        messages.success(request, _("Segment restored."))
        return redirect("segments:detail", segment_id=segment.pk)
    services.segment_archive(segment=segment, actor=actor(request))
    messages.success(request, _("Segment archived."))
    return redirect("segments:list")
