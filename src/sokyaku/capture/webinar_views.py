"""Webinars: the marketer's list, create and edit pages under ``/capture/webinars/``, the
webinar page (registrants, capacity used, attendance upload with its result), and a button that
sets up a registration form. Times are entered and shown in Asia/Tokyo.

Views are thin: they parse the request, call ``gated_selectors`` and ``services.webinars``,
and render. Reading needs ``capture.view_webinar``; writing ``capture.add_webinar`` /
``capture.change_webinar``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.capture import gated_selectors
from sokyaku.capture.models import FieldType, Webinar, WebinarLocation
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services import webinars as webinar_services
from sokyaku.capture.services.forms import FieldSpec, FormInput
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core import clock
from sokyaku.core.errors import SokyakuError, ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors

PAGE_SIZE = 50
MAX_REPORT_BYTES = 20 * 1024 * 1024
_LOCAL = "%Y-%m-%dT%H:%M"


def _local_input() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=_LOCAL)


class WebinarForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("event title", "Title"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    starts_at = forms.DateTimeField(
        label=_("Starts (Japan time)"), widget=_local_input(), input_formats=[_LOCAL]
    )
    ends_at = forms.DateTimeField(
        label=_("Ends (Japan time)"), widget=_local_input(), input_formats=[_LOCAL]
    )
    capacity = forms.IntegerField(
        label=_("Capacity"), min_value=0, initial=0, help_text=_("0 means no limit.")
    )
    location_kind = forms.ChoiceField(label=_("Location"), choices=WebinarLocation.choices)
    join_url = forms.CharField(label=_("Join URL"), required=False, max_length=1000)
    venue = forms.CharField(
        label=_("Venue"), required=False, max_length=300, help_text=_("Address for a venue.")
    )

    @classmethod
    def initial_of(cls, webinar: Webinar) -> dict[str, Any]:
        return {
            "title": webinar.title,
            "description": webinar.description,
            "starts_at": webinar.starts_at.astimezone(clock.TOKYO),
            "ends_at": webinar.ends_at.astimezone(clock.TOKYO),
            "capacity": webinar.capacity,
            "location_kind": webinar.location_kind,
            "join_url": webinar.join_url,
            "venue": webinar.venue,
        }

    def to_input(self) -> webinar_services.WebinarInput:
        data = self.cleaned_data
        return webinar_services.WebinarInput(
            title=data["title"],
            description=data["description"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            capacity=data["capacity"],
            location_kind=data["location_kind"],
            join_url=data["join_url"],
            venue=data["venue"],
        )

    def add_service_errors(self, exc: SokyakuError) -> None:
        for name, message in exc.field_errors.items():
            self.add_error(name if name in self.fields else None, gettext(message))
        if not exc.field_errors:
            self.add_error(None, gettext(exc.message))


class AttendanceForm(forms.Form):
    file = forms.FileField(
        label=_("Attendance report"),
        help_text=_("The participant report from Zoom or the attendance list from Teams (CSV)."),
    )


@require_GET
@login_required
@domain_errors
def webinar_list(request: HtmxHttpRequest) -> HttpResponse:
    page = Paginator(gated_selectors.webinar_list(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "capture/webinars/list.html", {"page": page})


def _tokyo() -> Any:
    return timezone.override(clock.TOKYO)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("capture.add_webinar", raise_exception=True)
@domain_errors
def webinar_create(request: HtmxHttpRequest) -> HttpResponse:
    with _tokyo():
        form = WebinarForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                webinar = webinar_services.webinar_create(
                    data=form.to_input(), actor=actor(request)
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, gettext("Webinar saved. Now set up a registration form."))
                return redirect("capture:webinar_detail", webinar_id=webinar.pk)
        return render(
            request, "capture/webinars/edit.html", {"webinar_form": form, "webinar": None}
        )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("capture.change_webinar", raise_exception=True)
@domain_errors
def webinar_edit(request: HtmxHttpRequest, webinar_id: int) -> HttpResponse:
    webinar = gated_selectors.webinar_get(user=request.user, id=webinar_id)
    with _tokyo():
        if request.method == "POST":
            form = WebinarForm(request.POST)
            if form.is_valid():
                try:
                    webinar_services.webinar_update(
                        webinar=webinar, data=form.to_input(), actor=actor(request)
                    )
                except ValidationError as exc:
                    form.add_service_errors(exc)
                else:
                    messages.success(request, gettext("Webinar saved."))
                    return redirect("capture:webinar_detail", webinar_id=webinar.pk)
        else:
            form = WebinarForm(initial=WebinarForm.initial_of(webinar))
        context = {"webinar_form": form, "webinar": webinar}
        return render(request, "capture/webinars/edit.html", context)


def _detail(
    request: HtmxHttpRequest,
    webinar: Webinar,
    *,
    upload: AttendanceForm | None = None,
    result: webinar_services.AttendanceResult | None = None,
    status: int = 200,
) -> HttpResponse:
    # A sales rep sees the registrations of the contacts they may see only.
    registrations = list(
        gated_selectors.registration_list(user=request.user, webinar=webinar).filter(
            contact_selectors.contact_visible_q(request.user, "contact")
        )
    )
    context = {
        "webinar": webinar,
        "registrations": registrations,
        "used": len(registrations),
        "attended": sum(1 for r in registrations if r.attended),
        "no_shows": sum(1 for r in registrations if r.attended is False),
        "forms": gated_selectors.kind_forms(
            kind=webinar_services.KIND, option="webinar", id=webinar.pk
        ),
        "upload": upload or AttendanceForm(),
        "result": result,
        "problems": [
            {"line": p.line, "message": gettext(p.message), "text": p.text}
            for p in (result.problems if result else [])
        ],
    }
    with _tokyo():
        return render(request, "capture/webinars/detail.html", context, status=status)


@require_GET
@login_required
@domain_errors
def webinar_detail(request: HtmxHttpRequest, webinar_id: int) -> HttpResponse:
    return _detail(request, gated_selectors.webinar_get(user=request.user, id=webinar_id))


@require_POST
@login_required
@permission_required("capture.change_webinar", raise_exception=True)
@domain_errors
def webinar_attendance(request: HtmxHttpRequest, webinar_id: int) -> HttpResponse:
    """Upload a Zoom or Teams attendance report; the page shows what it did."""
    webinar = gated_selectors.webinar_get(user=request.user, id=webinar_id)
    upload = AttendanceForm(request.POST, request.FILES)
    if not upload.is_valid():
        return _detail(request, webinar, upload=upload, status=422)
    report = upload.cleaned_data["file"]
    if report.size > MAX_REPORT_BYTES:
        upload.add_error("file", gettext("The file is too large."))
        return _detail(request, webinar, upload=upload, status=422)
    try:
        result = webinar_services.attendance_import(
            webinar=webinar, data=report.read(), actor=actor(request)
        )
    except ValidationError as exc:
        upload.add_error("file", gettext(exc.message))
        return _detail(request, webinar, upload=upload, status=422)
    return _detail(request, webinar, result=result)


@require_POST
@login_required
@permission_required("capture.add_form", raise_exception=True)
@domain_errors
def webinar_form_create(request: HtmxHttpRequest, webinar_id: int) -> HttpResponse:
    """Set up a registration form for this webinar (name, email, company), then edit it."""
    webinar = gated_selectors.webinar_get(user=request.user, id=webinar_id)
    form = form_services.form_create(
        data=FormInput(
            name=gettext("Registration: %(title)s") % {"title": webinar.title},
            kind=webinar_services.KIND,
            kind_options={"webinar": webinar.pk},
            title=webinar.title,
            fields=[
                FieldSpec(type=FieldType.NAME, label=pgettext("form field", "Name"), required=True),
                FieldSpec(
                    type=FieldType.EMAIL, label=pgettext("form field", "Email"), required=True
                ),
                FieldSpec(type=FieldType.COMPANY, label=pgettext("form field", "Company")),
            ],
        ),
        actor=actor(request),
    )
    messages.success(request, gettext("Form created. Add a purpose-of-use text, then publish it."))
    return redirect("capture:form_edit", form_id=form.pk)
