"""A deal's page (fields, lines, stage history, BANT, win/lose, move), creating and editing a
deal with its lines, and making a customer's referral link from the contact page.

A rep reaches only the deals they may see (``selectors.deal_get``): another rep's deal id
answers 404, for the page and for every action on it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from sokyaku.contacts import selectors as contact_selectors
from sokyaku.contacts.models import Contact
from sokyaku.core import selectors as core_selectors
from sokyaku.core.errors import Conflict, NotFound, ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.deals import selectors, services
from sokyaku.deals.forms import DealForm, LineFormSet, LoseForm, WinForm
from sokyaku.deals.models import Deal
from sokyaku.deals.views.board import owner_choices

VIEW = "deals.view_deal"
ADD = "deals.add_deal"
CHANGE = "deals.change_deal"


def _detail(
    request: HttpRequest,
    deal: Deal,
    *,
    lose_form: LoseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    lines = list(deal.lines.all())
    context = {
        "deal": deal,
        "lines": lines,
        "lines_total": sum(line.total for line in lines),
        "history": selectors.deal_history(deal=deal),
        "stages": selectors.stage_list(pipeline=deal.pipeline),
        "is_stagnating": selectors.deal_is_stagnating(deal),
        "weighted": selectors.weighted_amount(deal),
        "win_form": WinForm(initial={"version": deal.version}),
        "lose_form": lose_form or LoseForm(initial={"version": deal.version}),
        "may_change": request.user.has_perm(CHANGE),
    }
    return render(request, "deals/detail.html", context, status=status)


@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def deal_detail(request: HttpRequest, deal_id: int) -> HttpResponse:
    return _detail(request, selectors.deal_get(user=request.user, id=deal_id))


def _product_choices() -> list[tuple[int, str]]:
    return [
        (p.pk, f"{p.name} (¥{p.unit_price:,})") for p in selectors.product_list(active_only=True)
    ]


def _owner(request: HttpRequest, owner_id: int | None) -> User | None:
    if owner_id is None:
        return None
    return core_selectors.user_list().filter(pk=owner_id).first()


def _contact(request: HttpRequest, form: DealForm) -> Contact | None:
    """The contact the form names, if the user may see it (else a field error)."""
    contact_id = form.cleaned_data.get("contact")
    if not contact_id:
        return None
    try:
        return contact_selectors.contact_get(user=request.user, id=contact_id)
    except NotFound:
        form.add_error("contact", _("No contact with this ID that you can see."))
        return None


def _apply_errors(form: DealForm, formset: Any, exc: ValidationError) -> None:
    kept = [f for f, _line in formset.lines()]
    placed = formset.add_service_errors(exc, kept)
    rest = {k: v for k, v in exc.field_errors.items() if not k.startswith("lines.")}
    if rest or not placed:
        form.add_service_errors(ValidationError(exc.message, field_errors=rest))


def _status(form: DealForm, formset: Any) -> int:
    """422 for a form shown again with errors, so scripts and tests can tell."""
    return 422 if form.errors or any(formset.errors) or formset.non_form_errors() else 200


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(ADD, raise_exception=True)
@domain_errors
def deal_create(request: HttpRequest) -> HttpResponse:
    owners = owner_choices(request.user)
    pipelines = selectors.pipeline_list() or [selectors.pipeline_default()]
    products = _product_choices()
    prefill: Contact | None = None
    raw_contact = request.GET.get("contact", "")
    if raw_contact.isdigit():
        prefill = contact_selectors.contact_get(user=request.user, id=int(raw_contact))
    initial: dict[str, Any] = {
        "owner": request.user.pk if any(pk == request.user.pk for pk, _n in owners) else None,
        "stage": next((s.pk for s in pipelines[0].stages.all() if s.kind == "open"), None),
    }
    if prefill is not None:
        initial["contact"] = prefill.pk
        initial["name"] = prefill.company.name if prefill.company else prefill.display_name
        if prefill.owner_id and any(pk == prefill.owner_id for pk, _n in owners):
            initial["owner"] = prefill.owner_id
    post = request.POST if request.method == "POST" else None
    form = DealForm(post, owners=owners, pipelines=pipelines, initial=initial)
    formset = LineFormSet(post, prefix="lines", form_kwargs={"products": products})
    if post is not None and form.is_valid() and formset.is_valid():
        contact = _contact(request, form)
        if not form.errors:
            data = form.cleaned_data
            stage = selectors.stage_get(id=data["stage"])
            try:
                deal = services.deal_create(
                    actor=actor(request),
                    name=data["name"],
                    contact=contact,
                    owner=_owner(request, data["owner"]),
                    amount=data["amount"] or None,
                    expected_close=data["expected_close"] or None,
                    pipeline=stage.pipeline,
                    stage=stage,
                    lines=[line for _f, line in formset.lines()],
                    forecast_category=data["forecast_category"] or None,
                )
            except ValidationError as exc:
                _apply_errors(form, formset, exc)
            else:
                messages.success(request, _("Deal created."))
                return redirect("deals:detail", deal.pk)
    context = {"form": form, "formset": formset, "deal": None, "contact": prefill}
    return render(request, "deals/form.html", context, status=_status(form, formset))


def _edit_initial(deal: Deal) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    lines = list(deal.lines.all())
    total = sum(line.total for line in lines)
    initial = {
        "name": deal.name,
        "contact": deal.contact_id,
        "owner": deal.owner_id,
        # With lines that add up to the amount, an empty amount keeps following the lines.
        "amount": "" if lines and deal.amount == total else deal.amount,
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else "",
        "forecast_category": deal.forecast_category,
        "version": deal.version,
    }
    line_initial = [
        {
            "product": line.product_id,
            "name": line.name,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
        }
        for line in lines
    ]
    return initial, line_initial


@require_http_methods(["GET", "POST"])
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def deal_edit(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, id=deal_id)
    owners = owner_choices(request.user)
    if deal.owner_id and all(pk != deal.owner_id for pk, _n in owners) and deal.owner:
        owners.append((deal.owner_id, deal.owner.get_username()))
    initial, line_initial = _edit_initial(deal)
    post = request.POST if request.method == "POST" else None
    form = DealForm(post, owners=owners, editing=True, initial=initial)
    formset = LineFormSet(
        post,
        prefix="lines",
        initial=line_initial,
        form_kwargs={"products": _product_choices()},
    )
    if post is not None and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        fields: dict[str, Any] = {
            "name": data["name"],
            "owner": _owner(request, data["owner"]),
            "expected_close": data["expected_close"] or None,
        }
        if data["forecast_category"]:
            fields["forecast_category"] = data["forecast_category"]
        lines = [line for _f, line in formset.lines()]
        fields["lines"] = lines
        if data["amount"] or not lines:
            fields["amount"] = data["amount"] or None
        if data.get("contact") != deal.contact_id:
            fields["contact"] = _contact(request, form)
        if not form.errors:
            try:
                deal = services.deal_update(
                    deal=deal, actor=actor(request), version=data["version"], **fields
                )
            except Conflict:
                form.add_error(
                    None,
                    _(
                        "Someone else changed this deal while you were editing it. Nothing was "
                        "saved: open the deal again to see their change."
                    ),
                )
            except ValidationError as exc:
                _apply_errors(form, formset, exc)
            else:
                messages.success(request, _("Deal saved."))
                return redirect("deals:detail", deal.pk)
    context = {"form": form, "formset": formset, "deal": deal, "contact": deal.contact}
    return render(request, "deals/form.html", context, status=_status(form, formset))


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def deal_win(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, id=deal_id)
    form = WinForm(request.POST)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    try:
        services.deal_win(
            deal=deal, actor=actor(request), version=data.get("version"), note=data.get("note", "")
        )
    except Conflict:
        messages.warning(
            request, _("Someone else changed this deal meanwhile; here it is as it is now.")
        )
    except ValidationError as exc:
        messages.error(request, next(iter(exc.field_errors.values()), exc.message))
    else:
        messages.success(request, _("Deal won. The contact is now a customer."))
    return redirect("deals:detail", deal.pk)


@require_POST
@login_required
@permission_required(CHANGE, raise_exception=True)
@domain_errors
def deal_lose(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = selectors.deal_get(user=request.user, id=deal_id)
    form = LoseForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.deal_lose(
                deal=deal,
                actor=actor(request),
                reason=data["reason"],
                note=data["note"],
                version=data["version"],
            )
        except Conflict:
            messages.warning(
                request, _("Someone else changed this deal meanwhile; here it is as it is now.")
            )
            return redirect("deals:detail", deal.pk)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Deal marked as lost."))
            return redirect("deals:detail", deal.pk)
    return _detail(request, deal, lose_form=form, status=422)


@require_POST
@login_required
@permission_required("deals.add_referralcode", raise_exception=True)
@domain_errors
def referral_code_create(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Give a customer their referral code and link (shown on the contact page)."""
    contact = contact_selectors.contact_get(user=request.user, id=contact_id)
    services.referral_code_get_or_create(contact=contact)
    messages.success(request, _("Referral link created."))
    return redirect("contacts:detail", contact.pk)
