"""Import and export UI of contacts.

Import: upload a file → choose what each column holds (with a live preview of the first rows)
and the options → the worker runs it while the page shows its progress (htmx polling) → counts
and the error report. Every import page needs ``contacts.add_importjob`` (admins and marketers).

Export: the contacts the list's current search and filters select, as CSV or XLSX. Bulk export
needs ``contacts.export_contacts`` (marketers and admins; sales reps work one contact at a time),
and so does the error report of an import (it holds the refused rows' personal data). Every
export is written to the data-access log.

Views are thin: they parse the request, call the permission-checked selectors and the services
of ``contacts.imports`` and ``contacts.export``, and render.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.campaigns import selectors as campaign_selectors
from sokyaku.consent import selectors as consent_selectors
from sokyaku.consent.models import LegalBasis
from sokyaku.contacts import export, normalize, selectors
from sokyaku.contacts.forms import ContactFilterForm
from sokyaku.contacts.import_forms import MappingForm, UploadForm
from sokyaku.contacts.imports import report, run
from sokyaku.contacts.imports import selectors as import_selectors
from sokyaku.contacts.models import ImportJob
from sokyaku.contacts.prefectures import prefecture_name
from sokyaku.core import selectors as core_selectors
from sokyaku.core.errors import ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.core.models import AccessKind
from sokyaku.core.services import data_access_log

_IMPORT = import_selectors.IMPORT_PERMISSION
_EXPORT = "contacts.export_contacts"
RECENT_JOBS = 20
ERRORS_SHOWN = 200
_EXAMPLES = 3


# --- Import ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_IMPORT, raise_exception=True)
@domain_errors
def import_index(request: HtmxHttpRequest) -> HttpResponse:
    """Upload a file; the imports made so far."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = run.import_create(
                data=upload.read(), filename=upload.name or "", user=actor(request)
            )
        except ValidationError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("contacts:import_mapping", job_id=job.pk)
    jobs = import_selectors.import_job_list(user=request.user)[:RECENT_JOBS]
    return render(request, "contacts/imports/index.html", {"form": form, "jobs": jobs})


def _mapping_form(request: HtmxHttpRequest, job: ImportJob, headers: list[str]) -> MappingForm:
    initial = {
        "source": job.source,
        "legal_basis": job.legal_basis,
        "tags": ", ".join(job.tags or []),
        "channel": job.channel_id,
        "campaign": job.campaign_id,
    }
    return MappingForm(
        request.POST if request.method == "POST" else None,
        headers=headers,
        mapping=job.mapping or {},
        policies=job.policies or {},
        definitions=selectors.field_definition_list(user=request.user),
        channels=campaign_selectors.channel_list(user=None, active_only=True),
        campaigns=campaign_selectors.campaign_list(user=None),
        initial=initial,
    )


def _examples(table: Any, headers: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {h: [] for h in headers}
    for row in table.rows:
        for header, value in zip(headers, row.cells, strict=True):
            if value and len(found[header]) < _EXAMPLES:
                found[header].append(value)
    return found


def _preview_context(
    job: ImportJob, mapping: dict[str, str], options: run.ImportOptions
) -> dict[str, Any]:
    """The preview of the first rows with ``mapping`` (or why there is none)."""
    try:
        rows = run.import_preview(job=job, mapping=mapping, options=options)
        plan = run.import_plan(job=job, mapping=mapping, options=options)
    except ValidationError as exc:
        return {"preview": [], "preview_error": exc.message}
    labels = report.field_labels()
    custom_labels = {d.key: d.label for d in selectors.field_definition_list(user=None)}
    return {
        "plan": plan,
        "preview": [
            {
                "row": row,
                "shown": _shown(row.values, custom_labels),
                "problems": report.problems(row.errors, labels=labels),
            }
            for row in rows
        ],
        "preview_error": "",
    }


def _prefecture(value: object) -> str:
    """A prefecture code as its name; a prefecture as written in the file as it is."""
    return prefecture_name(value) if isinstance(value, int) else str(value or "")


def _phone_shown(values: Mapping[str, Any]) -> str:
    """A preview's phone number as the contact page shows it: with its extension, or as written
    with 電話番号を確認 when it cannot be read."""
    if not values.get("phone"):
        written = str(values.get("phone_written") or "")
        return f"{written}（{_('Phone number to check')}）" if written else ""
    shown = normalize.phone_display(values["phone"])
    extension = values.get("phone_extension")
    return f"{shown} {_('ext. %(extension)s') % {'extension': extension}}" if extension else shown


def _shown(values: dict[str, Any], labels: Mapping[str, str]) -> dict[str, Any]:
    """A preview row's values as the contact pages show them (``labels``: custom fields')."""

    def joined(*names: str) -> str:
        return " ".join(str(values[n]) for n in names if values.get(n))

    return {
        "name": joined("family_name", "given_name"),
        "kana": joined("family_name_kana", "given_name_kana"),
        "email": values.get("email", ""),
        "phone": _phone_shown(values),
        "company": values.get("company_name", ""),
        "department": values.get("department", ""),
        "title": values.get("title", ""),
        "postal_code": values.get("postal_code", ""),
        "prefecture": _prefecture(values.get("prefecture")),
        "address": values.get("address", ""),
        "tags": values.get("tags", []),
        "custom": {
            **{labels.get(k, k): v for k, v in (values.get("custom_fields") or {}).items()},
            **(values.get("custom_new") or {}),
        },
        "note": values.get("note", ""),
    }


def _form_preview(job: ImportJob, form: MappingForm) -> dict[str, Any]:
    if not form.is_valid():
        return {"preview": [], "preview_error": _("Please correct the errors below.")}
    return _preview_context(job, form.mapping(), form.options())


def _job_options(job: ImportJob) -> run.ImportOptions:
    return run.ImportOptions(
        source=job.source,
        legal_basis=job.legal_basis,
        tags=list(job.tags or []),
        channel_id=job.channel_id,
        campaign_id=job.campaign_id,
        policies=job.policies or {},
    )


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_IMPORT, raise_exception=True)
@domain_errors
def import_mapping(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """Choose the field of each column and the options, then start the import."""
    job = import_selectors.import_job_get(user=request.user, id=job_id)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("contacts:import_detail", job_id=job.pk)
    table = run.job_table(job, limit=run.PREVIEW_ROWS)
    form = _mapping_form(request, job, table.headers)
    if request.method == "POST" and form.is_valid():
        try:
            run.import_configure(job=job, mapping=form.mapping(), options=form.options())
            run.import_start(job=job)
        except ValidationError as exc:
            for name, message in exc.field_errors.items():
                if name in form.fields:
                    form.add_error(name, message)
            form.add_error(None, exc.message)
        else:
            return redirect("contacts:import_detail", job_id=job.pk)
    examples = _examples(table, table.headers)
    context = {
        "job": job,
        "form": form,
        "columns": [
            (header, field, policy, examples[header])
            for header, field, policy in form.column_fields()
        ],
        "earlier": import_selectors.import_earlier(user=request.user, job=job),
        "topics": [t for t in consent_selectors.topic_list() if t.is_active],
        **(
            _form_preview(job, form)
            if form.is_bound
            else _preview_context(job, job.mapping or {}, _job_options(job))
        ),
    }
    return render(request, "contacts/imports/mapping.html", context)


@require_POST
@login_required
@permission_required(_IMPORT, raise_exception=True)
@domain_errors
def import_preview(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The preview fragment for the mapping being edited (htmx, on every change)."""
    job = import_selectors.import_job_get(user=request.user, id=job_id)
    if job.status != ImportJob.Status.UPLOADED:
        return redirect("contacts:import_detail", job_id=job.pk)
    table = run.job_table(job, limit=0)
    form = _mapping_form(request, job, table.headers)
    return render(
        request,
        "contacts/imports/_preview.html",
        {"job": job, **_form_preview(job, form)},
    )


def _detail_context(job: ImportJob) -> dict[str, Any]:
    total = job.total_rows or 0
    return {
        "job": job,
        "percent": int(job.processed_rows * 100 / total) if total else 100,
        "running": job.status in (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING),
        "legal_basis": LegalBasis(job.legal_basis).label if job.legal_basis else "",
        "source_detail": run.consent_source_detail(job),
    }


@require_GET
@login_required
@permission_required(_IMPORT, raise_exception=True)
@domain_errors
def import_detail(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """Progress while the import runs; counts and the refused rows once it is done."""
    job = import_selectors.import_job_get(user=request.user, id=job_id)
    if job.status == ImportJob.Status.UPLOADED:
        return redirect("contacts:import_mapping", job_id=job.pk)
    labels = report.field_labels()
    columns = list((job.mapping or {}).keys())
    shown = import_selectors.import_row_errors(user=request.user, job=job)[:ERRORS_SHOWN]
    errors = [
        {
            "error": error,
            "problems": report.problems(error.errors, labels=labels),
            "values": [error.values.get(column, "") for column in columns],
        }
        for error in shown
    ]
    context = {
        **_detail_context(job),
        "errors": errors,
        "errors_more": max(0, job.error_count - ERRORS_SHOWN),
        "columns": columns,  # the imported columns, shown beside each refused row
    }
    return render(request, "contacts/imports/detail.html", context)


@require_GET
@login_required
@permission_required(_IMPORT, raise_exception=True)
@domain_errors
def import_progress(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The progress fragment, polled by the job page while the import runs. Once it has
    ended, an htmx poll reloads the whole page (which then shows the result)."""
    job = import_selectors.import_job_get(user=request.user, id=job_id)
    context = _detail_context(job)
    response = render(request, "contacts/imports/_progress.html", context)
    if request.htmx and not context["running"]:
        response["HX-Refresh"] = "true"
    return response


@require_GET
@login_required
@permission_required((_IMPORT, _EXPORT), raise_exception=True)
@domain_errors
def import_error_report(request: HtmxHttpRequest, job_id: int) -> HttpResponse:
    """The refused rows as a CSV (or ``?format=xlsx``) to fix and import again."""
    job = import_selectors.import_job_get(user=request.user, id=job_id)
    file_format = request.GET.get("format", export.CSV)
    if file_format not in export.FORMATS:
        file_format = export.CSV
    errors = import_selectors.import_row_errors(user=request.user, job=job).iterator()
    rows = list(report.error_report_rows(job, errors))
    data = export.rows_to_bytes(rows, file_format=file_format)
    data_access_log(
        kind=AccessKind.EXPORT,
        resource="contacts.import_errors",
        fields=rows[0] if rows else [],
        rows=max(0, len(rows) - 1),
        user=actor(request),
        filters={"import": job.pk, "format": file_format},
    )
    response = HttpResponse(data, content_type=export.CONTENT_TYPES[file_format])
    stem = job.filename.rsplit(".", 1)[0] or "import"
    response["Content-Disposition"] = _attachment(f"{stem}-errors.{file_format}")
    return response


def _attachment(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "ignore").decode() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


# --- Export ---------------------------------------------------------------------------------


@require_GET
@login_required
@permission_required(("contacts.view_contact", _EXPORT), raise_exception=True)
def contact_export(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """The contacts of the list's current search and filters, as ``?format=csv`` or ``xlsx``."""
    tags = selectors.tag_list(user=request.user).values_list("name", flat=True)
    form = ContactFilterForm(
        request.GET, tags=list(tags), owners=core_selectors.user_list(active_only=False)
    )
    filters = form.filters()
    contacts = selectors.contact_list(user=request.user, **filters)
    file_format = request.GET.get("format", export.CSV)
    if file_format not in export.FORMATS:
        file_format = export.CSV
    response = StreamingHttpResponse(
        export.contact_export_file(
            contacts=contacts,
            file_format=file_format,
            definitions=selectors.field_definition_list(user=request.user),
            user=actor(request),
            filters={**filters, "format": file_format},
        ),
        content_type=export.CONTENT_TYPES[file_format],
    )
    response["Content-Disposition"] = _attachment(export.export_filename(file_format))
    return response
