"""Predictive scoring UI: the model page, "train now", and the status fragment htmx polls."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sokyaku.core.http import HtmxHttpRequest, actor, domain_errors
from sokyaku.scoring.predictive import selectors, training
from sokyaku.scoring.predictive.features import outcome_counts


def _status_context(request: HtmxHttpRequest) -> dict[str, Any]:
    return {
        "training": selectors.model_training_get(user=request.user),
        "history": selectors.model_list(user=request.user),
    }


@require_GET
@login_required
@permission_required(selectors.VIEW, raise_exception=True)
@domain_errors
def predictive(request: HtmxHttpRequest) -> HttpResponse:
    model = selectors.model_active_get(user=request.user)
    context = {
        **_status_context(request),
        "model": model,
        "weights": selectors.model_top_features(model=model) if model else [],
        "top": selectors.prediction_top_list(user=request.user) if model else [],
        "outcomes": outcome_counts(),
        "min_per_class": training.MIN_PER_CLASS,
    }
    return render(request, "scoring/predictive/page.html", context)


def _status_response(request: HtmxHttpRequest, *, was_training: bool) -> HttpResponse:
    context = _status_context(request)
    response = render(request, "scoring/predictive/_status.html", context)
    if request.htmx and was_training and context["training"] is None:
        # Finished while the page was open: reload it to show the new model.
        response["HX-Refresh"] = "true"
    return response


@require_GET
@login_required
@permission_required(selectors.VIEW, raise_exception=True)
@domain_errors
def predictive_status(request: HtmxHttpRequest) -> HttpResponse:
    return _status_response(request, was_training=request.GET.get("was") == "training")


@require_POST
@login_required
@permission_required(selectors.TRAIN, raise_exception=True)
@domain_errors
def predictive_train(request: HtmxHttpRequest) -> HttpResponse:
    if selectors.model_training_get(user=request.user) is None:
        training.model_train_start(actor=actor(request))
    if request.htmx:
        return _status_response(request, was_training=True)
    messages.success(request, _("Training started. The page updates when it is done."))
    return redirect("scoring:predictive")
