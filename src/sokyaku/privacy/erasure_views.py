"""The erasure pages (admins only): erase or delete one person from their contact page, delete
every person of a segment (a background job with its progress page), the erasure log and the
retention policy under settings.

Erasing needs ``privacy.erase_person``; the log ``privacy.view_erasurelog``; the retention
policy ``privacy.change_retentionpolicy`` — admins hold all three.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core.errors import ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.privacy import erasure_selectors as selectors
from sokyaku.privacy.erasure_forms import ContactErasureForm, RetentionForm, SegmentErasureForm
from sokyaku.privacy.models import ErasureVia
from sokyaku.privacy.services import deletion, retention
from sokyaku.segments import selectors as segment_selectors

_ERASE = "privacy.erase_person"
_VIEW_LOG = "privacy.view_erasurelog"
_RETENTION = "privacy.change_retentionpolicy"
LOG_PAGE_SIZE = 50


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_ERASE, raise_exception=True)
@domain_errors
def contact_erase(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Confirm and erase (delete) one person: the admin types the name the page shows."""
    contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    if contact.erased_at is not None:
        messages.info(request, _("This person was erased already."))
        return redirect("contacts:detail", contact_id=contact.pk)
    form = ContactErasureForm(request.POST or None, contact=contact)
    if request.method == "POST" and form.is_valid():
        deletion.contact_delete(
            contact=contact,
            by=actor(request),
            reason=form.cleaned_data["reason"],
            via=ErasureVia.UI,
        )
        # No name in the message: it may be kept server-side with the session.
        messages.success(
            request,
            _("The person's data was erased. Contact #%(id)d stays as an anonymous row.")
            % {"id": contact.pk},
        )
        return redirect("contacts:detail", contact_id=contact.pk)
    return render(request, "privacy/contact_erase.html", {"contact": contact, "form": form})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_ERASE, raise_exception=True)
@domain_errors
def segment_erase(request: HttpRequest, segment_id: int) -> HttpResponse:
    """Confirm and start the erasure of every person of a segment: the admin types the count."""
    segment = segment_selectors.segment_get(user=request.user, id=segment_id)
    count = len(deletion.segment_members_for_erasure(segment=segment))
    form = SegmentErasureForm(request.POST or None, count=count)
    if request.method == "POST" and form.is_valid():
        try:
            job = deletion.segment_erasure_start(
                segment=segment, by=actor(request), reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, _(exc.message))
        else:
            return redirect("erasure:job", job_id=job.pk)
    return render(
        request, "privacy/segment_erase.html", {"segment": segment, "count": count, "form": form}
    )


@require_GET
@login_required
@permission_required(_VIEW_LOG, raise_exception=True)
@domain_errors
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """A segment's erasure: its progress (the page refreshes itself while it runs)."""
    job = selectors.erasure_job_get(user=request.user, id=job_id)
    return render(request, "privacy/job.html", {"job": job})


@require_GET
@login_required
@permission_required(_VIEW_LOG, raise_exception=True)
@domain_errors
def erasure_log(request: HttpRequest) -> HttpResponse:
    """Every erasure, newest first; the segment erasures; the retention policy at a glance."""
    page = Paginator(selectors.erasure_log_list(user=request.user), LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "jobs": selectors.erasure_jobs_recent(user=request.user),
        "policy": retention.retention_policy_get(),
    }
    return render(request, "privacy/log.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_RETENTION, raise_exception=True)
@domain_errors
def retention_settings(request: HttpRequest) -> HttpResponse:
    """Turn the retention policy on or off and set its years."""
    policy = retention.retention_policy_get()
    form = RetentionForm(
        request.POST or None,
        initial={"enabled": policy.enabled, "inactive_years": policy.inactive_years},
    )
    if request.method == "POST" and form.is_valid():
        retention.retention_policy_save(
            enabled=form.cleaned_data["enabled"],
            inactive_years=form.cleaned_data["inactive_years"],
            by=actor(request),
        )
        messages.success(request, _("The retention policy was saved."))
        return redirect("erasure:retention")
    due = retention.retention_due_count(years=policy.inactive_years)
    return render(request, "privacy/retention.html", {"form": form, "policy": policy, "due": due})
