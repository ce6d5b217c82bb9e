"""Deals settings (admins): pipelines and their stages (name, probability, kind, stagnation
days, order) and the product catalogue (name, SKU, category, price). Pipelines and stages need
``deals.change_pipeline``, products ``deals.add_product``/``deals.change_product``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sokyaku.core.errors import ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.deals import selectors, services
from sokyaku.deals.forms import PipelineForm, ProductForm, StageForm
from sokyaku.deals.models import Pipeline

PIPELINES = "deals.change_pipeline"
ADD_PRODUCT = "deals.add_product"
CHANGE_PRODUCT = "deals.change_product"


@require_GET
@login_required
@domain_errors
def settings(request: HttpRequest) -> HttpResponse:
    user = request.user
    may_pipelines = user.has_perm(PIPELINES)
    may_products = user.has_perm(ADD_PRODUCT) or user.has_perm(CHANGE_PRODUCT)
    if not (may_pipelines or may_products):
        raise PermissionDenied
    context = {
        "pipelines": selectors.pipeline_list() if may_pipelines else [],
        "products": selectors.product_list() if may_products else [],
        "may_pipelines": may_pipelines,
        "may_products": may_products,
        "pipeline_form": PipelineForm(),
    }
    return render(request, "deals/settings.html", context)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(PIPELINES, raise_exception=True)
@domain_errors
def pipeline_edit(request: HttpRequest, pipeline_id: int | None = None) -> HttpResponse:
    pipeline: Pipeline | None = None
    initial = {}
    if pipeline_id is not None:
        pipeline = selectors.pipeline_get(id=pipeline_id)
        initial = {"name": pipeline.name, "is_default": pipeline.is_default}
    form = PipelineForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.pipeline_save(
                pipeline=pipeline,
                name=form.cleaned_data["name"],
                is_default=form.cleaned_data["is_default"],
                actor=actor(request),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Pipeline saved."))
            return redirect("deals:pipeline_edit", saved.pk)
    context = {
        "pipeline": pipeline,
        "form": form,
        "stages": selectors.stage_list(pipeline=pipeline) if pipeline else [],
        "stage_form": StageForm(initial={"kind": "open", "probability": 50, "stagnation_days": 14}),
    }
    return render(request, "deals/pipeline_form.html", context, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(PIPELINES, raise_exception=True)
@domain_errors
def stage_edit(request: HttpRequest, pipeline_id: int, stage_id: int | None = None) -> HttpResponse:
    pipeline = selectors.pipeline_get(id=pipeline_id)
    stage = None
    initial: dict[str, object] = {"kind": "open", "probability": 50, "stagnation_days": 14}
    if stage_id is not None:
        stage = selectors.stage_get(id=stage_id)
        if stage.pipeline_id != pipeline.pk:
            raise Http404
        initial = StageForm.initial_for(stage)
    form = StageForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.stage_save(
                stage=stage,
                pipeline=pipeline,
                name=data["name"],
                probability=data["probability"],
                kind=data["kind"],
                stagnation_days=data["stagnation_days"],
                position=data["position"] - 1 if data["position"] else None,
                actor=actor(request),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Stage saved."))
            return redirect("deals:pipeline_edit", pipeline.pk)
    context = {"pipeline": pipeline, "stage": stage, "form": form}
    return render(request, "deals/stage_form.html", context, status=422 if form.errors else 200)


@require_POST
@login_required
@permission_required(PIPELINES, raise_exception=True)
@domain_errors
def stage_delete(request: HttpRequest, pipeline_id: int, stage_id: int) -> HttpResponse:
    pipeline = selectors.pipeline_get(id=pipeline_id)
    stage = selectors.stage_get(id=stage_id)
    if stage.pipeline_id != pipeline.pk:
        raise Http404
    try:
        services.stage_delete(stage=stage, actor=actor(request))
    except ValidationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Stage deleted."))
    return redirect("deals:pipeline_edit", pipeline.pk)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def product_edit(request: HttpRequest, product_id: int | None = None) -> HttpResponse:
    needed = ADD_PRODUCT if product_id is None else CHANGE_PRODUCT
    if not request.user.has_perm(needed):
        raise PermissionDenied
    product = selectors.product_get(id=product_id) if product_id is not None else None
    initial = ProductForm.initial_for(product) if product else {"is_active": True}
    form = ProductForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.product_save(
                product=product,
                name=data["name"],
                sku=data["sku"],
                category=data["category"],
                unit_price=data["unit_price"],
                is_active=data["is_active"],
                actor=actor(request),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect("deals:settings")
    context = {"product": product, "form": form}
    return render(request, "deals/product_form.html", context, status=422 if form.errors else 200)
