"""The sales inbox, a handoff's page with its actions (reject, reassign, take from the queue,
log an activity), and the contact panel's activity form.

Who sees which handoff is the selectors' business: a rep gets a 404 for another rep's handoff,
on every page and every action here. Viewing needs ``handoff.view_handoff``; rejecting and
reassigning ``handoff.change_handoff``; logging activities ``handoff.add_salesactivity``
(reps and admins; marketers read). Accepting is the deals app's qualify page (BANT → deal).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core import visibility
from sokyaku.core.errors import Conflict, NotFound, ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.core.models import AccessKind
from sokyaku.core.services import data_access_log
from sokyaku.handoff import selectors, services
from sokyaku.handoff.forms import (
    ASSIGNEE_ME,
    ASSIGNEE_QUEUE,
    ActivityForm,
    InboxFilterForm,
    ReassignForm,
    RejectForm,
)
from sokyaku.handoff.models import Handoff, HandoffStatus
from sokyaku.handoff.templatetags.handoff_ui import panel_context
from sokyaku.handoff.views import choices
from sokyaku.scoring import selectors as scoring_selectors

PAGE_SIZE = 50
DETAIL_ACTIVITIES = 20

_VIEW = "handoff.view_handoff"
_CHANGE = "handoff.change_handoff"
_LOG = "handoff.add_salesactivity"

# The personal data the inbox lists (recorded in the data access log).
INBOX_FIELDS = ("name", "company", "title", "action", "score", "assignee")


def _fragment(request: HtmxHttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


@require_GET
@login_required
@permission_required(_VIEW, raise_exception=True)
@domain_errors
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    """The handoffs the user sees, one tab per status with counts; open ones by deadline."""
    user = request.user
    sees_all = visibility.sees_all(user)
    form = InboxFilterForm(
        request.GET,
        users=choices.worker_pairs() if sees_all else (),
        triggers=choices.trigger_pairs(),
    )
    filters = form.filters()
    status = filters["status"] or HandoffStatus.OPEN
    assignee = filters["assignee"]
    assignee_id: int | None = None
    if assignee == ASSIGNEE_ME:
        assignee_id = user.pk
    elif assignee and assignee.isdigit():
        assignee_id = int(assignee)
    handoffs = selectors.handoff_list(
        user=user, assignee_id=assignee_id, queue=assignee == ASSIGNEE_QUEUE
    )
    if filters["trigger"]:
        handoffs = handoffs.filter(trigger_id=filters["trigger"])
    if filters["sla"]:
        handoffs = handoffs.filter(sla_state=filters["sla"])
    counts = dict(
        handoffs.order_by().values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    rows = handoffs.filter(status=status)
    if status == HandoffStatus.OPEN:
        rows = rows.order_by("sla_due_at", "id")
    else:
        rows = rows.order_by("-closed_at", "-id")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    listed: list[Handoff] = list(page.object_list)
    scores = scoring_selectors.scores_for(contact_ids=[h.contact_id for h in listed])
    data_access_log(
        kind=AccessKind.BULK_VIEW,
        resource="handoffs.inbox",
        fields=INBOX_FIELDS,
        rows=len(listed),
        user=actor(request),
        filters={"status": status, **{k: v for k, v in filters.items() if k != "status"}},
    )
    context = {
        "section": "handoff",
        "form": form,
        "status": status,
        "tabs": [(value, label, counts.get(value, 0)) for value, label in HandoffStatus.choices],
        "page": page,
        "rows": [(h, scores[h.contact_id]) for h in listed],
        "sees_all": sees_all,
    }
    template = "handoff/_inbox_results.html" if _fragment(request) else "handoff/inbox.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _detail_page(
    request: HttpRequest,
    handoff: Handoff,
    *,
    reject_form: RejectForm | None = None,
    reassign_form: ReassignForm | None = None,
    activity_form: ActivityForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    is_open = handoff.status == HandoffStatus.OPEN
    can_change = is_open and user.has_perm(_CHANGE)
    context: dict[str, Any] = {
        "section": "handoff",
        "handoff": handoff,
        "contact": handoff.contact,
        "alert": selectors.alert_compose(handoff=handoff),
        "moments": list(handoff.moments.all()),
        "assignments": list(handoff.assignments.all()),
        "activities": list(
            selectors.activity_list(user=user, contact_id=handoff.contact_id)[:DETAIL_ACTIVITIES]
        ),
        "is_open": is_open,
        "can_change": can_change,
        "can_log": user.has_perm(_LOG),
    }
    if can_change:
        context["reject_form"] = reject_form or RejectForm(
            sequences=[(s.pk, s.name) for s in choices.nurture_sequences()]
        )
        context["reassign_form"] = reassign_form or ReassignForm(users=choices.worker_pairs())
    if context["can_log"]:
        context["activity_form"] = activity_form or ActivityForm()
    return render(request, "handoff/detail.html", context, status=status)


@require_GET
@login_required
@permission_required(_VIEW, raise_exception=True)
@domain_errors
def detail(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = selectors.handoff_get(user=request.user, id=handoff_id)
    return _detail_page(request, handoff)


def _closed(request: HttpRequest, handoff: Handoff) -> HttpResponse:
    messages.error(request, _("This handoff is closed already."))
    return redirect("handoff:detail", handoff.pk)


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def reject(request: HttpRequest, handoff_id: int) -> HttpResponse:
    """Reject with a reason: recycle (optionally into a nurture sequence) or disqualify."""
    handoff = selectors.handoff_get(user=request.user, id=handoff_id)
    if handoff.status != HandoffStatus.OPEN:
        return _closed(request, handoff)
    sequences = choices.nurture_sequences()
    form = RejectForm(request.POST, sequences=[(s.pk, s.name) for s in sequences])
    if form.is_valid():
        data = form.cleaned_data
        sequence = next((s for s in sequences if s.pk == data["sequence"]), None)
        try:
            services.handoff_reject(
                handoff=handoff,
                actor=actor(request),
                reason=data["reason"],
                note=data["note"],
                outcome=data["outcome"],
                sequence=sequence,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except Conflict as exc:
            messages.error(request, _(exc.message))
            return redirect("handoff:detail", handoff.pk)
        else:
            messages.success(request, _("The handoff was rejected."))
            return redirect("handoff:detail", handoff.pk)
    return _detail_page(request, handoff, reject_form=form, status=422)


@require_POST
@login_required
@permission_required(_CHANGE, raise_exception=True)
@domain_errors
def reassign(request: HttpRequest, handoff_id: int) -> HttpResponse:
    """Give the handoff to someone else (with a reason), or take it from the queue."""
    handoff = selectors.handoff_get(user=request.user, id=handoff_id)
    if handoff.status != HandoffStatus.OPEN:
        return _closed(request, handoff)
    form = ReassignForm(request.POST, users=choices.worker_pairs())
    if form.is_valid():
        to_user = choices.user_find(form.cleaned_data["to_user"])
        if to_user is None:
            form.add_error("to_user", _("Choose a person."))
        else:
            try:
                services.handoff_reassign(
                    handoff=handoff,
                    to_user=to_user,
                    reason=form.cleaned_data["reason"],
                    actor=actor(request),
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            except Conflict as exc:
                messages.error(request, _(exc.message))
                return redirect("handoff:detail", handoff.pk)
            else:
                messages.success(request, _("The handoff was reassigned."))
                try:
                    selectors.handoff_get(user=request.user, id=handoff.pk)
                except NotFound:  # given to someone whose handoffs this user does not see
                    return redirect("handoff:inbox")
                return redirect("handoff:detail", handoff.pk)
    return _detail_page(request, handoff, reassign_form=form, status=422)


@require_POST
@login_required
@permission_required(_LOG, raise_exception=True)
@domain_errors
def activity(request: HttpRequest, handoff_id: int) -> HttpResponse:
    """Log a call, mail, meeting or note on the handoff's contact."""
    handoff = selectors.handoff_get(user=request.user, id=handoff_id)
    form = ActivityForm(request.POST)
    if form.is_valid():
        try:
            services.activity_log(contact=handoff.contact, actor=actor(request), **form.to_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("The activity was logged."))
            return redirect("handoff:detail", handoff.pk)
    return _detail_page(request, handoff, activity_form=form, status=422)


@require_POST
@login_required
@permission_required(_LOG, raise_exception=True)
@domain_errors
def contact_activity(request: HtmxHttpRequest, contact_id: int) -> HttpResponse:
    """The contact panel's activity form: answers htmx with the panel, others with a redirect."""
    contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    form = ActivityForm(request.POST, auto_id="handoff-activity-%s")
    if form.is_valid():
        try:
            services.activity_log(contact=contact, actor=actor(request), **form.to_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
    if not request.htmx:
        if form.errors:
            messages.error(
                request,
                _("The activity was not logged: %(errors)s")
                % {"errors": " ".join(str(e) for errs in form.errors.values() for e in errs)},
            )
        else:
            messages.success(request, _("The activity was logged."))
        return redirect("contacts:detail", contact.pk)
    context = panel_context(
        contact=contact, user=request.user, activity_form=form if form.errors else None
    )
    # htmx swaps only 2xx answers: the panel with its errors is a 200.
    return render(request, "handoff/_panel.html", context)
