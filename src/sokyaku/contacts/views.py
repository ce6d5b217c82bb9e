"""Contacts UI: the list (live search, filters, paging), the contact page with its timeline,
notes, the edit form, and merge / undo merge.

Views are thin: they parse the request, call permission-checked selectors and the services, and
render. Reading needs ``contacts.view_contact`` (checked by the selectors, which also leave out
the contacts a sales rep may not see: another rep's contact is a 404); every write needs
``contacts.change_contact``. Every page of the list that shows people is written to the
data-access log. htmx requests get page fragments, everything else full pages, so
each page works without JavaScript too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.activity import selectors as activity_selectors
from sokyaku.contacts import pending, selectors, services
from sokyaku.contacts import timeline as timeline_display
from sokyaku.contacts.forms import (
    ContactFilterForm,
    ContactForm,
    MergeForm,
    NoteForm,
    error_message,
)
from sokyaku.contacts.models import Contact, FieldDefinition, FieldType, MergeRecord, Tag
from sokyaku.core import selectors as core_selectors
from sokyaku.core.errors import Conflict, SokyakuError, ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.core.models import AccessKind
from sokyaku.core.services import data_access_log
from sokyaku.lifecycle import selectors as lifecycle_selectors
from sokyaku.lifecycle.models import Stage
from sokyaku.messaging.models import SystemMail
from sokyaku.scoring import selectors as scoring_selectors

PAGE_SIZE = 50
# The personal data a page of the list shows (for the data-access log).
LIST_FIELDS = (
    "name",
    "name_kana",
    "tags",
    "company",
    "department",
    "title",
    "score",
    "stage",
    "email",
    "prefecture",
    "owner",
    "created_at",
)
TIMELINE_PAGE_SIZE = 20
MERGE_CANDIDATES = 20
RECENT_MERGES = 10

_CHANGE = "contacts.change_contact"


def _fragment(request: HtmxHttpRequest) -> bool:
    """Answer with a fragment: an htmx request that is not restoring browser history."""
    return bool(request.htmx) and not request.htmx.history_restore_request


# --- List -----------------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def contact_list(request: HtmxHttpRequest) -> HttpResponse:
    tags = selectors.tag_list(user=request.user).values_list("name", flat=True)
    form = ContactFilterForm(
        request.GET, tags=list(tags), owners=core_selectors.user_list(active_only=False)
    )
    contacts = selectors.contact_list(user=request.user, **form.filters()).prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    _scores_attach(shown)
    if shown:
        data_access_log(
            kind=AccessKind.BULK_VIEW,
            resource="contacts.list",
            fields=LIST_FIELDS,
            rows=len(shown),
            user=actor(request),
            filters={**form.filters(), "page": page.number},
        )
    context = {"form": form, "page": page, "is_filtered": form.is_filtered}
    template = "contacts/_results.html" if _fragment(request) else "contacts/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _scores_attach(contacts: list[Contact]) -> None:
    """Score and lifecycle stage for each listed contact, in a few queries for the page."""
    ids = [c.pk for c in contacts]
    scores = scoring_selectors.scores_for(contact_ids=ids)
    stages = lifecycle_selectors.stage_of(contact_ids=ids)
    labels = dict(Stage.choices)
    for contact in contacts:
        contact.score_view = scores[contact.pk]  # type: ignore[attr-defined]
        contact.stage_label = labels.get(stages[contact.pk], stages[contact.pk])  # type: ignore[attr-defined]


# --- Detail and timeline --------------------------------------------------------------------


def _before(request: HtmxHttpRequest) -> tuple[datetime | None, int | None]:
    """The keyset cursor of a timeline page (``?before=<iso time>&before_id=<id>``)."""
    raw, raw_id = request.GET.get("before", ""), request.GET.get("before_id", "")
    try:
        before = datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None, None
    if before is not None and timezone.is_naive(before):
        return None, None
    # Ids are 64-bit; a longer "number" is not a cursor we handed out.
    return before, int(raw_id) if raw_id.isdigit() and len(raw_id) <= 18 else None


def _timeline_context(contact: Contact, request: HtmxHttpRequest) -> dict[str, Any]:
    before, before_id = _before(request)
    # One row more than shown tells whether there is a next page.
    events = activity_selectors.timeline(
        contact_id=contact.pk, before=before, before_id=before_id, limit=TIMELINE_PAGE_SIZE + 1
    )
    shown = events[:TIMELINE_PAGE_SIZE]
    more = None
    if len(events) > TIMELINE_PAGE_SIZE:
        last = shown[-1]
        more = {"before": last.occurred_at.isoformat(), "before_id": last.pk}
    return {
        "contact": contact,
        "entries": timeline_display.entries(shown, mail_kinds=dict(SystemMail.choices)),
        "more": more,
        "paged": before is not None,
    }


def _custom_fields(contact: Contact, definitions: list[FieldDefinition]) -> list[tuple[str, Any]]:
    """(label, shown value) of every custom field the contact has a value for."""
    values = contact.custom_fields or {}
    labels = {d.key: d for d in definitions}
    rows: list[tuple[str, Any]] = []
    for key, value in values.items():
        if value in (None, ""):
            continue
        definition = labels.get(key)
        if definition is not None and definition.type == FieldType.BOOLEAN:
            value = _("Yes") if value else _("No")
        rows.append((definition.label if definition else key, value))
    return rows


def _detail_context(contact: Contact, request: HtmxHttpRequest) -> dict[str, Any]:
    definitions = list(selectors.field_definition_list(user=request.user))
    merges = (
        selectors.contact_merges(user=request.user, contact=contact)
        .filter(winner_id=contact.pk)
        .select_related("merged_by")
        .order_by("-merged_at")[:RECENT_MERGES]
    )
    return {
        **_timeline_context(contact, request),
        "tags": [t.name for t in contact.tags.order_by("name")],
        "custom_fields": _custom_fields(contact, definitions),
        "merges": list(merges),
        "note_form": NoteForm(),
        "pending_changes": [
            {"change": change, "rows": pending.pending_change_rows(change=change, contact=contact)}
            for change in pending.pending_changes_open(contact=contact)
        ],
    }


@require_GET
@login_required
@domain_errors
def contact_detail(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, id=contact_id)
    if contact.pk != contact_id:
        # A merged-away id: the person lives on in the winner.
        return redirect("contacts:detail", contact_id=contact.pk)
    return render(request, "contacts/detail.html", _detail_context(contact, request))


@require_GET
@login_required
@domain_errors
def contact_timeline(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    """The next timeline page, as a fragment (the "more" button)."""
    contact = selectors.contact_get(user=request.user, id=contact_id)
    if not _fragment(request):
        url = reverse("contacts:detail", kwargs={"contact_id": contact.pk})
        return redirect(f"{url}?{request.GET.urlencode()}#timeline")
    return render(request, "contacts/_timeline_items.html", _timeline_context(contact, request))


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def contact_note_add(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, id=contact_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.contact_note_add(
                contact=contact, text=form.cleaned_data["text"], author=actor(request)
            )
        except ValidationError as exc:
            form.add_error("text", error_message(exc.message))
        else:
            form = NoteForm()
    if _fragment(request):
        context = {**_timeline_context(contact, request), "note_form": form}
        return render(request, "contacts/_activity.html", context)
    if form.errors:
        messages.error(request, " ".join(str(e) for e in form.errors.get("text", [])))
    else:
        messages.success(request, _("Note added."))
    return redirect("contacts:detail", contact_id=contact.pk)


# --- Edit -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def contact_edit(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, id=contact_id)
    if contact.pk != contact_id:
        return redirect("contacts:edit", contact_id=contact.pk)
    form = ContactForm(
        request.POST if request.method == "POST" else None,
        contact=contact,
        tags=[t.name for t in contact.tags.order_by("name")],
        owners=core_selectors.user_list(),
        definitions=selectors.field_definition_list(user=request.user),
    )
    conflict = False
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, data=form.to_input(), actor=actor(request))
        except SokyakuError as exc:
            form.add_service_errors(exc)
            conflict = isinstance(exc, Conflict)
            # The service may have touched the object before refusing; show what is stored.
            contact = selectors.contact_get(user=request.user, id=contact_id)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("contacts:detail", contact_id=contact.pk)
    context = {"contact": contact, "form": form, "conflict": conflict}
    return render(request, "contacts/edit.html", context)


# --- Merge ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def contact_merge(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    """Pick the duplicate (search or id), confirm, merge it into this contact."""
    contact = selectors.contact_get(user=request.user, id=contact_id)
    if contact.pk != contact_id:
        return redirect("contacts:merge", contact_id=contact.pk)
    if request.method == "POST":
        form = MergeForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose the contact to merge."))
            return redirect("contacts:merge", contact_id=contact.pk)
        other = selectors.contact_get(user=request.user, id=form.cleaned_data["other"])
        loser_name = str(other)
        try:
            services.contact_merge(winner=contact, loser=other, actor=actor(request))
        except SokyakuError as exc:
            messages.error(request, error_message(exc.message))
            return redirect("contacts:merge", contact_id=contact.pk)
        messages.success(
            request, _("%(loser)s was merged into this contact.") % {"loser": loser_name}
        )
        return redirect("contacts:detail", contact_id=contact.pk)

    pick = MergeForm(request.GET) if "other" in request.GET else None
    if pick is not None and pick.is_valid():
        other = selectors.contact_get(user=request.user, id=pick.cleaned_data["other"])
        if other.pk == contact.pk:
            messages.error(request, error_message("A contact cannot be merged with itself."))
            return redirect("contacts:merge", contact_id=contact.pk)
        context = {
            "contact": contact,
            "other": other,
            "contact_tags": [t.name for t in contact.tags.order_by("name")],
            "other_tags": [t.name for t in other.tags.order_by("name")],
        }
        return render(request, "contacts/merge_confirm.html", context)

    q = request.GET.get("q", contact.family_name or contact.email).strip()
    candidates = (
        list(
            selectors.contact_list(user=request.user, q=q).exclude(pk=contact.pk)[:MERGE_CANDIDATES]
        )
        if q
        else []
    )
    context = {"contact": contact, "q": q, "candidates": candidates, "pick": pick}
    if _fragment(request):
        return render(request, "contacts/_merge_candidates.html", context)
    return render(request, "contacts/merge.html", context)


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def contact_merge_undo(request: HtmxHttpRequest, contact_id: int, merge_id: int) -> HttpResponse:
    contact = selectors.contact_get(user=request.user, id=contact_id)
    record: MergeRecord | None = (
        selectors.contact_merges(user=request.user, contact=contact)
        .filter(pk=merge_id, winner_id=contact.pk)
        .first()
    )
    if record is None:
        messages.error(request, _("This merge no longer exists."))
        return redirect("contacts:detail", contact_id=contact.pk)
    try:
        restored = services.contact_merge_undo(record=record, actor=actor(request))
    except SokyakuError as exc:
        messages.error(request, error_message(exc.message))
    else:
        messages.success(
            request,
            _("The merge was undone: %(name)s is a separate contact again.")
            % {"name": str(restored)},
        )
    return redirect("contacts:detail", contact_id=contact.pk)
