"""Lead capture UI: forms (list, create, settings, field builder, publish, submissions, embed
code) and landing pages (list, create, settings, blocks, publish).

Views are thin: they parse the request, call the permission-checked selectors and the
services, and render. Reading needs the ``view`` permissions of the capture models (checked by
the selectors); every write needs ``capture.change_form`` / ``capture.change_landingpage``
(``add`` to create). A sales rep sees the submissions of the contacts they may see only; every
page of submissions is written to the data-access log.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.capture import display, kinds, selectors
from sokyaku.capture.forms import (
    BlockForm,
    FieldForm,
    FormCreateForm,
    FormSettingsForm,
    PageCreateForm,
    PageSettingsForm,
)
from sokyaku.capture.models import FieldType, Form, LandingPage
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services import pages as page_services
from sokyaku.capture.services.forms import FieldSpec, FormInput
from sokyaku.capture.services.pages import PageInput
from sokyaku.contacts import selectors as contact_selectors
from sokyaku.core.errors import SokyakuError, ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.core.models import AccessKind
from sokyaku.core.services import data_access_log

PAGE_SIZE = 50

_CHANGE_FORM = "capture.change_form"
_ADD_FORM = "capture.add_form"
_CHANGE_PAGE = "capture.change_landingpage"
_ADD_PAGE = "capture.add_landingpage"


def _starter_fields() -> list[FieldSpec]:
    """What a new form starts with: what most lead forms ask (HubSpot and Marketo do the same),
    labelled in the language of whoever creates it."""
    return [
        FieldSpec(type=FieldType.NAME, label=pgettext("form field", "Name"), required=True),
        FieldSpec(type=FieldType.EMAIL, label=pgettext("form field", "Email"), required=True),
        FieldSpec(type=FieldType.COMPANY, label=pgettext("form field", "Company")),
    ]


def _problems_text(exc: SokyakuError) -> list[str]:
    return [gettext(m) for m in exc.field_errors.values()] or [gettext(exc.message)]


# --- Forms ----------------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def form_list(request: HtmxHttpRequest) -> HttpResponse:
    page = Paginator(selectors.form_list(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    labels = {k.key: k.label for k in kinds.form_kinds()}
    rows = [{"form": f, "kind": labels.get(f.kind, f.kind)} for f in page.object_list]
    return render(request, "capture/form_list.html", {"page": page, "rows": rows})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_ADD_FORM, raise_exception=True)
@domain_errors
def form_create(request: HtmxHttpRequest) -> HttpResponse:
    create = FormCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and create.is_valid():
        try:
            form = form_services.form_create(
                data=FormInput(
                    name=create.cleaned_data["name"],
                    kind=create.cleaned_data["kind"],
                    kind_options=create.kind_options(),
                    title=create.cleaned_data["name"],
                    fields=_starter_fields(),
                ),
                actor=actor(request),
            )
        except ValidationError as exc:
            create.kind_option_errors(exc)
            for key, message in exc.field_errors.items():
                create.add_error("name" if key != "kind" else "kind", gettext(message))
            if not exc.field_errors and not create.errors:
                create.add_error("name", gettext(exc.message))
        else:
            messages.success(request, _("Form created. Add fields, then publish it."))
            return redirect("capture:form_fields", form_id=form.pk)
    return render(request, "capture/form_create.html", {"create": create})


def _form_context(request: HtmxHttpRequest, form: Form) -> dict[str, Any]:
    text = selectors.purpose_text_current(key=form.purpose_key)
    kind = kinds.form_kind_get(form.kind)
    return {
        "form": form,
        "kind_label": kind.label if kind else form.kind,
        "purpose_text": text,
        "problems": [gettext(m) for m in form_services.form_problems(form=form).values()],
        "public_url": settings.SITE_URL + reverse("public:form", kwargs={"slug": form.slug}),
        "embed_code": display.embed_code(form=form),
    }


@require_GET
@login_required
@domain_errors
def form_detail(request: HtmxHttpRequest, form_id: int) -> HttpResponse:
    form = selectors.form_get(user=request.user, id=form_id)
    submissions = selectors.submission_list(user=request.user, form=form).filter(
        contact_selectors.contact_visible_q(request.user, "contact")
    )
    page = Paginator(submissions, PAGE_SIZE).get_page(request.GET.get("page"))
    labels = {f.key: f.label for f in form.fields.all()}
    shown = list(page.object_list)
    if shown:
        data_access_log(
            kind=AccessKind.BULK_VIEW,
            resource="capture.submissions",
            fields=["contact", *labels, "utm", "page_url", "submitted_at"],
            rows=len(shown),
            user=actor(request),
            filters={"form": form.pk, "page": page.number},
        )
    context = {**_form_context(request, form), "page": page, "labels": labels}
    return render(request, "capture/form_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_CHANGE_FORM, raise_exception=True)
@domain_errors
def form_edit(request: HtmxHttpRequest, form_id: int) -> HttpResponse:
    form = selectors.form_get(user=request.user, id=form_id)
    settings_form = FormSettingsForm(
        request.POST if request.method == "POST" else None,
        form=form,
        texts=selectors.purpose_text_keys(),
        topics=selectors.consent_topics(),
    )
    if request.method == "POST" and settings_form.is_valid():
        try:
            form_services.form_update(
                form=form, data=settings_form.to_input(), actor=actor(request)
            )
        except SokyakuError as exc:
            settings_form.add_service_errors(exc)
        else:
            messages.success(request, _("Form saved."))
            return redirect("capture:form_detail", form_id=form.pk)
    context = {**_form_context(request, form), "settings_form": settings_form}
    return render(request, "capture/form_edit.html", context)


def _builder(request: HtmxHttpRequest, form: Form, **extra: Any) -> HttpResponse:
    definitions = list(contact_selectors.field_definition_list(user=None))
    rows = []
    for form_field in form.fields.all():
        editing = extra.get("editing")
        if editing is not None and editing[0] == form_field.pk:
            edit = editing[1]
        else:
            edit = FieldForm(
                definitions=definitions,
                initial=FieldForm.initial_of(FieldSpec.of(form_field)),
                prefix=f"f{form_field.pk}",
            )
        rows.append({"field": form_field, "edit": edit})
    add = extra.get("add") or FieldForm(
        definitions=definitions, initial={"type": FieldType.TEXT}, prefix="new"
    )
    context = {**_form_context(request, form), "rows": rows, "add": add}
    status = 422 if extra.get("invalid") else 200
    return render(request, "capture/form_fields.html", context, status=status)


@require_GET
@login_required
@domain_errors
def form_fields(request: HtmxHttpRequest, form_id: int) -> HttpResponse:
    return _builder(request, selectors.form_get(user=request.user, id=form_id))


@require_POST
@login_required
@permission_required(_CHANGE_FORM, raise_exception=True)
@domain_errors
def form_field_add(request: HtmxHttpRequest, form_id: int) -> HttpResponse:
    form = selectors.form_get(user=request.user, id=form_id)
    definitions = list(contact_selectors.field_definition_list(user=None))
    add = FieldForm(request.POST, definitions=definitions, prefix="new")
    if add.is_valid():
        try:
            form_services.form_field_add(form=form, spec=add.to_spec(), actor=actor(request))
        except SokyakuError as exc:
            add.add_service_errors(exc)
        else:
            messages.success(request, _("Field added."))
            return redirect("capture:form_fields", form_id=form.pk)
    form = selectors.form_get(user=request.user, id=form_id)
    return _builder(request, form, add=add, invalid=True)


@require_POST
@login_required
@permission_required(_CHANGE_FORM, raise_exception=True)
@domain_errors
def form_field_change(request: HtmxHttpRequest, form_id: int, field_id: int) -> HttpResponse:
    form = selectors.form_get(user=request.user, id=form_id)
    definitions = list(contact_selectors.field_definition_list(user=None))
    edit = FieldForm(request.POST, definitions=definitions, prefix=f"f{field_id}")
    if edit.is_valid():
        try:
            form_services.form_field_change(
                form=form, field_id=field_id, spec=edit.to_spec(), actor=actor(request)
            )
        except SokyakuError as exc:
            edit.add_service_errors(exc)
        else:
            messages.success(request, _("Field saved."))
            return redirect("capture:form_fields", form_id=form.pk)
    form = selectors.form_get(user=request.user, id=form_id)
    return _builder(request, form, editing=(field_id, edit), invalid=True)


@require_POST
@login_required
@permission_required(_CHANGE_FORM, raise_exception=True)
@domain_errors
def form_field_remove(request: HtmxHttpRequest, form_id: int, field_id: int) -> HttpResponse:
    form = selectors.form_get(user=request.user, id=form_id)
    try:
        form_services.form_field_remove(form=form, field_id=field_id, actor=actor(request))
    except SokyakuError as exc:
        for message in _problems_text(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("Field removed."))
    return redirect("capture:form_fields", form_id=form.pk)


@require_POST
@login_required
@permission_required(_CHANGE_FORM, raise_exception=True)
@domain_errors
def form_field_move(request: HtmxHttpRequest, form_id: int, field_id: int) -> HttpResponse:
    form = selectors.form_get(user=request.user, id=form_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    try:
        form_services.form_field_move(
            form=form, field_id=field_id, offset=offset, actor=actor(request)
        )
    except SokyakuError as exc:
        for message in _problems_text(exc):
            messages.error(request, message)
    return redirect("capture:form_fields", form_id=form.pk)


@require_POST
@login_required
@permission_required(_CHANGE_FORM, raise_exception=True)
@domain_errors
def form_publish(request: HtmxHttpRequest, form_id: int) -> HttpResponse:
    form = selectors.form_get(user=request.user, id=form_id)
    try:
        form_services.form_publish(form=form, actor=actor(request))
    except SokyakuError as exc:
        for message in _problems_text(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("The form is published."))
    return redirect("capture:form_detail", form_id=form.pk)


@require_POST
@login_required
@permission_required(_CHANGE_FORM, raise_exception=True)
@domain_errors
def form_unpublish(request: HtmxHttpRequest, form_id: int) -> HttpResponse:
    form = selectors.form_get(user=request.user, id=form_id)
    form_services.form_unpublish(form=form, actor=actor(request))
    messages.success(request, _("The form is no longer published."))
    return redirect("capture:form_detail", form_id=form.pk)


# --- Landing pages --------------------------------------------------------------------------


@require_GET
@login_required
@domain_errors
def page_list(request: HtmxHttpRequest) -> HttpResponse:
    page = Paginator(selectors.page_list(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "capture/page_list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(_ADD_PAGE, raise_exception=True)
@domain_errors
def page_create(request: HtmxHttpRequest) -> HttpResponse:
    create = PageCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and create.is_valid():
        try:
            landing = page_services.page_create(
                data=PageInput(title=create.cleaned_data["title"]), actor=actor(request)
            )
        except ValidationError as exc:
            for message in _problems_text(exc):
                create.add_error("title", message)
        else:
            messages.success(request, _("Landing page created. Add blocks, then publish it."))
            return redirect("capture:page_detail", page_id=landing.pk)
    return render(request, "capture/page_create.html", {"create": create})


def _page_editor(
    request: HtmxHttpRequest, landing: LandingPage, *, status: int = 200, **extra: Any
) -> HttpResponse:
    available = selectors.form_choices(user=request.user)
    blocks = []
    for block in landing.blocks.all():
        editing = extra.get("editing")
        edit = (
            editing[1]
            if editing is not None and editing[0] == block.pk
            else BlockForm(forms_available=available, block=block, prefix=f"b{block.pk}")
        )
        blocks.append({"block": block, "edit": edit})
    context = {
        "landing": landing,
        "settings_form": extra.get("settings_form") or PageSettingsForm(page=landing),
        "blocks": blocks,
        "add": extra.get("add") or BlockForm(forms_available=available, prefix="new"),
        "problems": [gettext(m) for m in page_services.page_problems(page=landing).values()],
        "public_url": settings.SITE_URL + reverse("public:page", kwargs={"slug": landing.slug}),
    }
    return render(request, "capture/page_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def page_detail(request: HtmxHttpRequest, page_id: int) -> HttpResponse:
    """The page editor: settings (POST saves them) and its blocks."""
    landing = selectors.page_get(user=request.user, id=page_id)
    if request.method == "GET":
        return _page_editor(request, landing)
    if not request.user.has_perm(_CHANGE_PAGE):
        raise DjangoPermissionDenied
    settings_form = PageSettingsForm(request.POST, page=landing)
    if settings_form.is_valid():
        try:
            page_services.page_update(
                page=landing, data=settings_form.to_input(), actor=actor(request)
            )
        except SokyakuError as exc:
            settings_form.add_service_errors(exc)
        else:
            messages.success(request, _("Landing page saved."))
            return redirect("capture:page_detail", page_id=landing.pk)
    return _page_editor(request, landing, settings_form=settings_form, status=422)


@require_POST
@login_required
@permission_required(_CHANGE_PAGE, raise_exception=True)
@domain_errors
def page_block_add(request: HtmxHttpRequest, page_id: int) -> HttpResponse:
    landing = selectors.page_get(user=request.user, id=page_id)
    add = BlockForm(
        request.POST, forms_available=selectors.form_choices(user=request.user), prefix="new"
    )
    if add.is_valid():
        try:
            page_services.page_block_add(page=landing, spec=add.to_spec(), actor=actor(request))
        except SokyakuError as exc:
            add.add_service_errors(exc)
        else:
            messages.success(request, _("Block added."))
            return redirect("capture:page_detail", page_id=landing.pk)
    landing = selectors.page_get(user=request.user, id=page_id)
    return _page_editor(request, landing, add=add, status=422)


@require_POST
@login_required
@permission_required(_CHANGE_PAGE, raise_exception=True)
@domain_errors
def page_block_change(request: HtmxHttpRequest, page_id: int, block_id: int) -> HttpResponse:
    landing = selectors.page_get(user=request.user, id=page_id)
    edit = BlockForm(
        request.POST,
        forms_available=selectors.form_choices(user=request.user),
        prefix=f"b{block_id}",
    )
    if edit.is_valid():
        try:
            page_services.page_block_change(
                page=landing, block_id=block_id, spec=edit.to_spec(), actor=actor(request)
            )
        except SokyakuError as exc:
            edit.add_service_errors(exc)
        else:
            messages.success(request, _("Block saved."))
            return redirect("capture:page_detail", page_id=landing.pk)
    landing = selectors.page_get(user=request.user, id=page_id)
    return _page_editor(request, landing, editing=(block_id, edit), status=422)


@require_POST
@login_required
@permission_required(_CHANGE_PAGE, raise_exception=True)
@domain_errors
def page_block_remove(request: HtmxHttpRequest, page_id: int, block_id: int) -> HttpResponse:
    landing = selectors.page_get(user=request.user, id=page_id)
    try:
        page_services.page_block_remove(page=landing, block_id=block_id, actor=actor(request))
    except SokyakuError as exc:
        for message in _problems_text(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("Block removed."))
    return redirect("capture:page_detail", page_id=landing.pk)


@require_POST
@login_required
@permission_required(_CHANGE_PAGE, raise_exception=True)
@domain_errors
def page_block_move(request: HtmxHttpRequest, page_id: int, block_id: int) -> HttpResponse:
    landing = selectors.page_get(user=request.user, id=page_id)
    offset = -1 if request.POST.get("direction") == "up" else 1
    try:
        page_services.page_block_move(
            page=landing, block_id=block_id, offset=offset, actor=actor(request)
        )
    except SokyakuError as exc:
        for message in _problems_text(exc):
            messages.error(request, message)
    return redirect("capture:page_detail", page_id=landing.pk)


@require_POST
@login_required
@permission_required(_CHANGE_PAGE, raise_exception=True)
@domain_errors
def page_publish(request: HtmxHttpRequest, page_id: int) -> HttpResponse:
    landing = selectors.page_get(user=request.user, id=page_id)
    try:
        page_services.page_publish(page=landing, actor=actor(request))
    except SokyakuError as exc:
        for message in _problems_text(exc):
            messages.error(request, message)
    else:
        messages.success(request, _("The landing page is published."))
    return redirect("capture:page_detail", page_id=landing.pk)


@require_POST
@login_required
@permission_required(_CHANGE_PAGE, raise_exception=True)
@domain_errors
def page_unpublish(request: HtmxHttpRequest, page_id: int) -> HttpResponse:
    landing = selectors.page_get(user=request.user, id=page_id)
    page_services.page_unpublish(page=landing, actor=actor(request))
    messages.success(request, _("The landing page is no longer published."))
    return redirect("capture:page_detail", page_id=landing.pk)
