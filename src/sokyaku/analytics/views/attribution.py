"""The attribution page: the period's won revenue credited to channels or campaigns under five
models side by side, with a grouped bar chart and a short explanation of each model.

Query parameters: ``from`` / ``to`` (the shared period picker), ``by=channel|campaign``,
``orders=1`` (count B2C orders as conversions too) and ``format=csv|xlsx`` for a download of the
table (aggregates only, so the download is not an access to personal data). A period that cannot
be answered is shown as a field error, without numbers. Reports are marketing's: viewing needs
``analytics.view_reports``.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from sokyaku.analytics import charts
from sokyaku.analytics.export import export_format, table_response
from sokyaku.analytics.forms import ReportForm
from sokyaku.analytics.selectors import attribution as selectors
from sokyaku.analytics.selectors.attribution import MODEL_HELP, MODEL_LABELS, MODELS, Attribution

# The rows drawn in the chart (the largest by linear credit); the table shows every row.
CHART_ROWS = 10
_TRUE = ("1", "true", "on", "yes")


def _switch(params: QueryDict, **changes: str) -> str:
    """The current query with ``changes`` applied (and without ``format``), for the switches."""
    query = params.copy()
    query.pop("format", None)
    for key, value in changes.items():
        if value:
            query[key] = value
        else:
            query.pop(key, None)
    return f"?{query.urlencode()}"


def attribution_figure(result: Attribution) -> go.Figure:
    """Credited revenue per channel or campaign, one bar per model, grouped."""
    title = _("Revenue credited by model")
    fig = go.Figure(layout={"template": charts.TEMPLATE, "meta": {"title": title}})
    rows = [r for r in result.rows if r.id][:CHART_ROWS] or result.rows[:CHART_ROWS]
    names = [r.name for r in rows]
    for model in MODELS:
        fig.add_bar(
            name=str(MODEL_LABELS[model]),
            x=names,
            y=[r.credit(model) for r in rows],
            hovertemplate="%{x}<br>¥%{y:,}<extra>%{fullData.name}</extra>",
        )
    fig.update_layout(barmode="group", bargap=0.2)
    fig.update_yaxes(tickprefix="¥", tickformat=",d", rangemode="tozero")
    return fig


def _export(result: Attribution, file_format: str) -> HttpResponse:
    first = _("Channel") if result.by == selectors.BY_CHANNEL else _("Campaign")
    key = _("Channel key") if result.by == selectors.BY_CHANNEL else "utm_campaign"
    header = [first, key, _("Won deals"), *(str(MODEL_LABELS[m]) for m in MODELS)]
    rows = [[r.name, r.key, r.deals, *r.credits] for r in result.rows]
    total = result.total
    rows.append([_("Total"), "", total.deals, *total.credits])
    name = f"attribution-{result.by}-{result.period.first:%Y%m%d}-{result.period.last:%Y%m%d}"
    return table_response(name=name, header=header, rows=rows, file_format=file_format)


@require_GET
@login_required
@permission_required("analytics.view_reports", raise_exception=True)
def attribution(request: HttpRequest) -> HttpResponse:
    by = request.GET.get("by") or selectors.BY_CHANNEL
    if by not in selectors.DIMENSIONS:
        by = selectors.BY_CHANNEL
    include_orders = (request.GET.get("orders") or "").lower() in _TRUE
    form = ReportForm(request.GET, filters=(), with_compare=False)
    context: dict[str, Any] = {
        "section": "analytics",
        "form": form,
        "period": None,
        "by": by,
        "include_orders": include_orders,
        "by_channel_url": _switch(request.GET, by=selectors.BY_CHANNEL),
        "by_campaign_url": _switch(request.GET, by=selectors.BY_CAMPAIGN),
        "deals_only_url": _switch(request.GET, orders=""),
        "with_orders_url": _switch(request.GET, orders="1"),
        "models": [{"key": m, "label": MODEL_LABELS[m], "help": MODEL_HELP[m]} for m in MODELS],
    }
    if form.is_valid() and form.period is not None:
        result = selectors.attribution(form.period, by=by, include_orders=include_orders)
        file_format = export_format(request.GET.get("format"))
        if file_format:
            return _export(result, file_format)
        context.update(
            period=form.period,
            result=result,
            chart=attribution_figure(result) if not result.no_data else None,
        )
    return render(request, "analytics/attribution.html", context)
