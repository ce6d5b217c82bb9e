"""Qualifying a handoff: the rep accepts it with BANT (lifecycle's form) and the deal's first
facts; ``services.handoff_qualify`` does it all in one transaction (accept → SQL → opportunity
with a deal). Its field errors come back prefixed ``bant.`` / ``deal.`` and are shown next to
the field they name; nothing is stored then.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.deals import selectors, services
from sokyaku.deals.forms import QualifyDealForm
from sokyaku.deals.models import StageKind
from sokyaku.deals.services.qualify import deal_name_default
from sokyaku.handoff import selectors as handoff_selectors
from sokyaku.handoff.models import Handoff, HandoffStatus
from sokyaku.lifecycle.forms import BantForm

BANT_PREFIX = "bant"
DEAL_PREFIX = "deal"


def _bant_input(form: BantForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "budget_amount_jpy": data["budget_amount_jpy"] or None,
        "budget_band": data["budget_band"],
        "authority": data["authority"],
        "need": data["need"],
        "need_tags": [t for t in data["need_tags"].replace("、", ",").split(",") if t.strip()],
        "timeline_date": data["timeline_date"] or None,
        "timeline_band": data["timeline_band"],
    }


def _bant_errors(form: BantForm, exc: ValidationError) -> bool:
    placed = False
    for key, message in exc.field_errors.items():
        if key.startswith(f"{BANT_PREFIX}."):
            name = key.removeprefix(f"{BANT_PREFIX}.")
            form.add_error(name if name in form.fields else None, message)
            placed = True
    return placed


def _closed(request: HttpRequest, handoff: Handoff) -> HttpResponse:
    deal = handoff.deals.order_by("-id").first()
    if deal is not None:
        messages.info(request, _("This handoff was accepted already; here is its deal."))
        return redirect("deals:detail", deal.pk)
    messages.warning(request, _("This handoff is closed: it was accepted or rejected already."))
    return render(request, "deals/qualify.html", {"handoff": handoff, "closed": True})


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(("deals.add_deal", "handoff.change_handoff"), raise_exception=True)
@domain_errors
def qualify(request: HttpRequest, handoff_id: int) -> HttpResponse:
    handoff = handoff_selectors.handoff_get(user=request.user, id=handoff_id)
    if handoff.status != HandoffStatus.OPEN:
        return _closed(request, handoff)
    pipelines = selectors.pipeline_list() or [selectors.pipeline_default()]
    products = [
        (p.pk, f"{p.name} (¥{p.unit_price:,})") for p in selectors.product_list(active_only=True)
    ]
    first_stage = next((s.pk for s in pipelines[0].stages.all() if s.kind == StageKind.OPEN), None)
    post = request.POST if request.method == "POST" else None
    bant_form = BantForm(post, prefix=BANT_PREFIX)
    deal_form = QualifyDealForm(
        post,
        prefix=DEAL_PREFIX,
        pipelines=pipelines,
        products=products,
        initial={"name": deal_name_default(handoff), "stage": first_stage},
    )
    if post is not None and bant_form.is_valid() and deal_form.is_valid():
        try:
            deal = services.handoff_qualify(
                handoff=handoff,
                actor=actor(request),
                bant=_bant_input(bant_form),
                deal=deal_form.to_input(),
            )
        except Conflict:
            return _closed(request, handoff)
        except ValidationError as exc:
            if not _bant_errors(bant_form, exc):
                deal_form.add_service_errors(exc, prefix=f"{DEAL_PREFIX}.")
        else:
            messages.success(
                request, _("Handoff accepted: the lead is qualified and the deal is open.")
            )
            return redirect("deals:detail", deal.pk)
    invalid = bool(bant_form.errors or deal_form.errors)
    context = {"handoff": handoff, "bant_form": bant_form, "deal_form": deal_form}
    return render(request, "deals/qualify.html", context, status=422 if invalid else 200)
