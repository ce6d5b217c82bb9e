"""The quotas page: what each rep is expected to win in a month, one amount per rep.

Admins (``deals.change_quota``) set the quota of every member of a team; a team's manager sets
those of the members of the teams they manage. Anyone else gets 403. The month is chosen with
``?month=YYYY-MM`` (default: this month, Asia/Tokyo).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from sokyaku.core import clock
from sokyaku.core.errors import PermissionDenied, ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.deals import selectors, services
from sokyaku.deals.views.forecast import month_parse

FIELD = "amount-{}"


def _shift(month: Any, count: int) -> Any:
    index = month.year * 12 + month.month - 1 + count
    return month.replace(year=index // 12, month=index % 12 + 1, day=1)


@require_http_methods(["GET", "POST"])
@login_required
@domain_errors
def quotas(request: HttpRequest) -> HttpResponse:
    user = actor(request)
    settable = selectors.quota_settable_ids(actor=user)
    if settable is not None and not settable:
        raise PermissionDenied(_("Quotas are set by admins and by the managers of teams."))
    this_month = clock.local_now().date().replace(day=1)
    raw_month = request.POST.get("month") or request.GET.get("month", "")
    month = month_parse(raw_month) or this_month
    people = selectors.quota_people(settable=settable)
    ids = [p.pk for p in people]
    stored = selectors.quota_amounts(first=month, months=1, owner_ids=ids)
    before = selectors.quota_amounts(first=_shift(month, -1), months=1, owner_ids=ids)
    values = {pk: str(stored[(pk, month)]) if (pk, month) in stored else "" for pk in ids}
    errors: dict[int, str] = {}
    status = 200
    if request.method == "POST":
        sent = {pk: request.POST.get(FIELD.format(pk), "").strip() for pk in ids}
        values.update(sent)
        try:
            services.quotas_save(actor=user, month=month, amounts=sent)
        except ValidationError as exc:
            for key, message in exc.field_errors.items():
                pk = key.removeprefix("amounts.")
                if pk.isdigit():
                    errors[int(pk)] = message
            status = 422
        else:
            messages.success(request, _("The quotas were saved."))
            return redirect(f"{reverse('deals:quotas')}?month={month:%Y-%m}")
    rows = [
        {
            "person": person,
            "field": FIELD.format(person.pk),
            "value": values.get(person.pk, ""),
            "previous": before.get((person.pk, _shift(month, -1))),
            "error": errors.get(person.pk, ""),
        }
        for person in people
    ]
    context = {
        "rows": rows,
        "month": month,
        "prev_month": _shift(month, -1),
        "next_month": _shift(month, 1),
        "is_current": month == this_month,
        "total": sum(stored.values()),
        "team_manager": settable is not None,
    }
    return render(request, "deals/quotas.html", context, status=status)
