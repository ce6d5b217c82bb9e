"""Gated assets: the marketer's list, create and edit pages under ``/capture/assets/``, a
button that sets up a download form for an asset, and the public download link ``/a/<token>``.

Views are thin: they parse the request, call ``gated_selectors`` and ``services.assets``, and
render. Reading needs ``capture.view_asset``; writing ``capture.add_asset`` /
``capture.change_asset``.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.capture import gated_selectors
from sokyaku.capture.models import Asset, AssetKind, FieldType
from sokyaku.capture.services import assets as asset_services
from sokyaku.capture.services import forms as form_services
from sokyaku.capture.services.forms import FieldSpec, FormInput
from sokyaku.core.errors import SokyakuError, ValidationError
from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors

PAGE_SIZE = 50
# Characters no file system takes in a name: the title becomes the download's file name.
_UNSAFE_FILENAME_RE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


class AssetForm(forms.Form):
    title = forms.CharField(label=pgettext_lazy("document title", "Title"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=AssetKind.choices)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    file = forms.FileField(
        label=_("File"),
        required=False,
        help_text=_("A PDF or other file (at most 200 MB). Or give an external address below."),
    )
    url = forms.CharField(
        label=_("External address"),
        required=False,
        max_length=1000,
        help_text=_("For a trial sign-up or a document hosted elsewhere."),
    )
    remove_file = forms.BooleanField(label=_("Remove the uploaded file"), required=False)

    @classmethod
    def initial_of(cls, asset: Asset) -> dict[str, Any]:
        return {
            "title": asset.title,
            "kind": asset.kind,
            "description": asset.description,
            "url": asset.url,
        }

    def to_input(self) -> asset_services.AssetInput:
        data = self.cleaned_data
        return asset_services.AssetInput(
            title=data["title"],
            kind=data["kind"],
            description=data["description"],
            url=data["url"],
            file=data.get("file") or None,
            remove_file=bool(data.get("remove_file")),
        )

    def add_service_errors(self, exc: SokyakuError) -> None:
        for name, message in exc.field_errors.items():
            self.add_error(name if name in self.fields else None, gettext(message))
        if not exc.field_errors:
            self.add_error(None, gettext(exc.message))


@require_GET
@login_required
@domain_errors
def asset_list(request: HtmxHttpRequest) -> HttpResponse:
    page = Paginator(gated_selectors.asset_list(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "capture/assets/list.html", {"page": page})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required("capture.add_asset", raise_exception=True)
@domain_errors
def asset_create(request: HtmxHttpRequest) -> HttpResponse:
    form = AssetForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            asset = asset_services.asset_create(data=form.to_input(), actor=actor(request))
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, gettext("Asset saved. Now set up a form for it."))
            return redirect("capture:asset_edit", asset_id=asset.pk)
    return render(request, "capture/assets/edit.html", {"asset_form": form, "asset": None})


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def asset_edit(request: HtmxHttpRequest, asset_id: int) -> HttpResponse:
    asset = gated_selectors.asset_get(user=request.user, id=asset_id)
    if request.method == "POST":
        if not request.user.has_perm("capture.change_asset"):
            return HttpResponse(status=403)
        form = AssetForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                asset_services.asset_update(asset=asset, data=form.to_input(), actor=actor(request))
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, gettext("Asset saved."))
                return redirect("capture:asset_edit", asset_id=asset.pk)
    else:
        form = AssetForm(initial=AssetForm.initial_of(asset))
    context = {
        "asset_form": form,
        "asset": asset,
        "forms": gated_selectors.kind_forms(kind=asset_services.KIND, option="asset", id=asset.pk),
    }
    return render(request, "capture/assets/edit.html", context)


@require_POST
@login_required
@permission_required("capture.add_form", raise_exception=True)
@domain_errors
def asset_form_create(request: HtmxHttpRequest, asset_id: int) -> HttpResponse:
    """Set up a download form for this asset (name, email, company), then edit it."""
    asset = gated_selectors.asset_get(user=request.user, id=asset_id)
    form = form_services.form_create(
        data=FormInput(
            name=gettext("Download: %(title)s") % {"title": asset.title},
            kind=asset_services.KIND,
            kind_options={"asset": asset.pk},
            title=asset.title,
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


# --- Public link ----------------------------------------------------------------------------


def _refused(request: HttpRequest, result: asset_services.Download) -> HttpResponse:
    language = result.submission.form.language if result.submission else None
    with translation.override(language or settings.LANGUAGE_CODE):
        if result.status == asset_services.MISSING:
            title = gettext("Not found")
            text = gettext("This document is no longer available. Please contact us.")
            status = 404
        elif result.status == asset_services.EXPIRED:
            title = gettext("Link expired")
            text = gettext(
                "This download link has expired. Please fill in the form again to get a new one."
            )
            status = 410
        else:
            title = gettext("Link not valid")
            text = gettext("This download link is not valid. Please check that it is complete.")
            status = 400
        context = {"title": title, "text": text, "language": translation.get_language()}
        return render(request, "capture/public/message.html", context, status=status)


@require_GET
def asset_download(request: HttpRequest, token: str) -> HttpResponseBase:
    """``/a/<token>``: a valid link serves the file (or redirects to the external address) and
    records the download; an expired (410) or forged (400) link says so and records nothing."""
    result = asset_services.asset_download(token=token)
    if result.status != asset_services.VALID or result.asset is None:
        return _refused(request, result)
    asset = result.asset
    if asset.url and not asset.file:
        return HttpResponseRedirect(asset.url)
    name = (asset.file.name or "").rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    title = _UNSAFE_FILENAME_RE.sub("_", asset.title).strip(" .") or "download"
    filename = title if title.endswith(suffix) else title + suffix
    response = FileResponse(asset.file.open("rb"), as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response
