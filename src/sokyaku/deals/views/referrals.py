"""The referral programme for marketing: who referred whom, when, and the reward's status,
which changes by hand here (``services.referral_reward_set``). The list names contacts in
bulk, so it is for users who see every contact, and each view of it is logged."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from sokyaku.core import services as core_services
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.deals import selectors_aftersale, services
from sokyaku.deals.forms import RewardForm
from sokyaku.deals.models import RewardStatus

VIEW = ("deals.view_referral", "contacts.view_all_contacts")
CHANGE = "deals.change_referral"
PAGE_SIZE = 50


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def referral_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in RewardStatus.values:
        status = ""
    rows = selectors_aftersale.referral_list(user=request.user, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    core_services.data_access_log(
        kind="bulk_view",
        resource="deals.referrals",
        fields=["referrer", "referred", "attributed_at", "reward_status"],
        rows=len(page.object_list),
        user=actor(request),
        filters={"status": status, "page": page.number},
    )
    context = {
        "page": page,
        "status": status,
        "statuses": RewardStatus.choices,
        "may_change": request.user.has_perm(CHANGE),
    }
    return render(request, "deals/referrals.html", context)


@require_POST
@login_required
@permission_required((*VIEW, CHANGE), raise_exception=True)
@domain_errors
def referral_reward(request: HttpRequest, referral_id: int) -> HttpResponse:
    referral = selectors_aftersale.referral_get(user=request.user, id=referral_id)
    form = RewardForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reward status."))
    else:
        try:
            services.referral_reward_set(
                referral=referral, status=form.cleaned_data["status"], actor=actor(request)
            )
        except (Conflict, ValidationError):
            messages.error(
                request,
                _("This reward cannot change that way (a paid reward stays paid)."),
            )
        else:
            messages.success(request, _("Reward status saved."))
    back = reverse("deals:referrals")
    # Back to the page and filter the form was on (only ever this list).
    next_url = request.POST.get("next", "")
    return redirect(next_url if next_url.startswith(f"{back}?") else back)
