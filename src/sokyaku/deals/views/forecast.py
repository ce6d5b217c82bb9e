"""The forecast: the weighted pipeline per month of expected close for six months from a
chosen month, per owner, with the amounts won beside, as a table and a small bar chart.
A rep sees the forecast of the deals they see."""

from __future__ import annotations

import re
from datetime import date

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sokyaku.core import clock
from sokyaku.core import selectors as core_selectors
from sokyaku.core.http import domain_errors
from sokyaku.core.templatetags.sokyaku_ui import user_name
from sokyaku.deals import selectors

MONTHS = 6
_MONTH_RE = re.compile(r"^(\d{4})-(\d{1,2})$")


def month_parse(value: str) -> date | None:
    """``2026-04`` → 2026-04-01; ``None`` for anything else."""
    match = _MONTH_RE.match(value.strip())
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not (1 <= month <= 12 and 2000 <= year <= 2100):
        return None
    return date(year, month, 1)


def _shift(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@require_GET
@login_required
@permission_required("deals.view_deal", raise_exception=True)
@domain_errors
def forecast(request: HttpRequest) -> HttpResponse:
    this_month = clock.local_now().date().replace(day=1)
    start = month_parse(request.GET.get("from", "")) or this_month
    result = selectors.forecast(user=request.user, start=start, months=MONTHS)
    owner_ids = [r.owner_id for r in result.rows if r.owner_id is not None]
    users = core_selectors.user_list(active_only=False).filter(pk__in=owner_ids)
    names = {u.pk: user_name(u) for u in users}
    rows = [
        {
            "name": names.get(r.owner_id, r.owner_name) if r.owner_id is not None else "",
            "cells": list(zip(r.weighted, r.won, strict=True)),
            "row": r,
        }
        for r in result.rows
    ]
    top = max([*result.weighted, *result.won, 0])
    context = {
        "forecast": result,
        "rows": rows,
        "totals": list(zip(result.weighted, result.won, strict=True)),
        "chart": list(zip(result.months, result.weighted, result.won, strict=True)),
        "top": top,
        "colspan": len(result.months) * 2 + 4,
        "start": start,
        "prev_month": _shift(start, -MONTHS),
        "next_month": _shift(start, MONTHS),
        "is_current": start == this_month,
        "may_set_quotas": selectors.quota_settable_ids(actor=request.user) != frozenset(),
    }
    return render(request, "deals/forecast.html", context)
