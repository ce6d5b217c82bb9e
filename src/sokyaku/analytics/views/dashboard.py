"""The marketing dashboard, the funnel, the channel table and the drill-down list of contacts.

Every page reads its period and filters through ``forms.ReportForm``: input that cannot be
answered (a malformed date, an end before the start, a deleted channel) is shown as a field
error on an ordinary page, without numbers — never a server error. Every table also answers
``?format=csv`` / ``?format=xlsx`` (``export.table_response``, cells neutralised); the drill-down
list exports through ``contacts.export``, which logs the access, and its page view is logged as
a bulk view of personal data.

Numbers come from the analytics selectors; a number that stands for a set of contacts links to
``analytics:contacts`` with ``metric``, the period and the filters. Reports are marketing's:
viewing needs ``analytics.view_reports`` (marketers and admins).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET
from plotly import graph_objects as go

from sokyaku.analytics import charts
from sokyaku.analytics.export import export_format, table_response
from sokyaku.analytics.forms import ReportForm, report_form
from sokyaku.analytics.metrics import Metric
from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.selectors import channels as channel_selectors
from sokyaku.analytics.selectors import drill as drill_selectors
from sokyaku.analytics.selectors import funnel as funnel_selectors
from sokyaku.analytics.selectors import kpis as kpi_selectors
from sokyaku.analytics.selectors import scope
from sokyaku.analytics.selectors import series as series_selectors
from sokyaku.analytics.selectors.channels import ChannelRow, ChannelTable
from sokyaku.analytics.selectors.funnel import Funnel
from sokyaku.analytics.templatetags.analytics_ui import (
    DASH,
    delta,
    delta_pt,
    kpi_kind,
    kpi_value,
)
from sokyaku.contacts import export as contact_export
from sokyaku.contacts.models import Contact
from sokyaku.core.errors import ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.core.models import AccessKind
from sokyaku.core.services import data_access_log
from sokyaku.lifecycle.models import Stage
from sokyaku.scoring.models import Temperature

VIEW = "analytics.view_reports"
PAGE_SIZE = 50
VIEWS = ("b2b", "b2c")
MODES = ("cohort", "period")
# The channels drawn as their own series in "leads over time"; the rest are summed as "other".
CHART_CHANNELS = 8

# The contacts behind a KPI card's number (the drill-down's ``metric``): for a ratio, the people
# it counts over the base. CPL, CAC and ROI divide money and have no list of people behind them.
KPI_DRILL = {
    "leads": "leads",
    "mqls": "mqls",
    "sqls": "sqls",
    "opportunities": "opportunities",
    "customers": "customers",
    "won": "won",
    "revenue": "won",
    "win_rate": "won",
    "orders": "orders",
    "order_revenue": "orders",
    "sent": "sent",
    "delivered": "delivered",
    "open_rate": "opened",
    "ctr": "clicked",
    "conversion_rate": "converted",
    "hot_lead_ratio": "hot",
    "nurturing_rate": "nurtured",
    "opportunity_rate": "handoffs_converted",
    "lead_to_customer_rate": "leads_converted",
    "repeat_rate": "repeat_buyers",
}
# Where a rise is bad news (a cost).
LOWER_IS_BETTER = frozenset({"cost", "cpl", "cac"})

# What the drill-down's header calls each list of contacts.
DRILL_LABELS: dict[str, Any] = {
    "leads": gettext_lazy("New leads"),
    "mqls": gettext_lazy("New MQLs"),
    "sqls": gettext_lazy("New SQLs"),
    "opportunities": gettext_lazy("New opportunities"),
    "customers": gettext_lazy("New customers"),
    "leads_converted": gettext_lazy("Leads that became customers"),
    "handoffs": gettext_lazy("Leads handed off to sales"),
    "handoffs_converted": gettext_lazy("Handed-off leads that became opportunities"),
    "won": gettext_lazy("Contacts with won deals"),
    "revenue": gettext_lazy("Contacts with won deals"),
    "orders": gettext_lazy("Contacts who ordered"),
    "order_revenue": gettext_lazy("Contacts who ordered"),
    "sent": gettext_lazy("Contacts sent marketing mail"),
    "delivered": gettext_lazy("Contacts marketing mail reached"),
    "opened": gettext_lazy("Contacts who opened marketing mail"),
    "clicked": gettext_lazy("Contacts who clicked in marketing mail"),
    "converted": gettext_lazy("Contacts who converted from marketing mail"),
    "bounced": gettext_lazy("Contacts whose mail bounced"),
    "unsubscribed": gettext_lazy("Contacts who unsubscribed"),
    "hot": gettext_lazy("Hot leads at the end of the period"),
    "nurtured": gettext_lazy("Cold leads nurtured to warm or hot"),
    "open_leads": gettext_lazy("Open leads at the end of the period"),
    "nurture_base": gettext_lazy("Open leads cold at the start of the period"),
    "buyers": gettext_lazy("Buyers"),
    "repeat_buyers": gettext_lazy("Repeat buyers (two or more purchases)"),
    "lead": gettext_lazy("Funnel stage: lead"),
    "mql": gettext_lazy("Funnel stage: MQL"),
    "sql": gettext_lazy("Funnel stage: SQL"),
    "opportunity": gettext_lazy("Funnel stage: opportunity"),
    "customer": gettext_lazy("Funnel stage: customer"),
}
FUNNEL_STAGES = ("lead", "mql", "sql", "opportunity", "customer")
MODE_LABELS = {
    "cohort": gettext_lazy("Cohort: contacts created in the period, at every stage they reached"),
    "period": gettext_lazy("Period: stage entries during the period"),
}
# The personal data the drill-down list shows (recorded in the data-access log).
DRILL_FIELDS = ("name", "company", "first_touch_channel", "stage", "temperature", "owner")


# --- shared -------------------------------------------------------------------------------------


def _choice(value: str | None, allowed: Sequence[str]) -> str:
    return value if value is not None and value in allowed else allowed[0]


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(request, f"analytics/{template}", {"section": "analytics", **context})


def drill_url(
    metric: str, period: Period, filters: Filters | Mapping[str, int], **extra: str
) -> str:
    """The drill-down list of ``metric``'s contacts for the period and filters."""
    params: dict[str, object] = {
        "metric": metric,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
    }
    params.update(filters.as_params() if isinstance(filters, Filters) else dict(filters))
    params.update(extra)
    return f"{reverse('analytics:contacts')}?{urlencode(params)}"


def _valid(form: ReportForm) -> tuple[Period, Filters] | None:
    if not form.is_valid() or form.period is None:
        return None
    return form.period, form.filters


# --- dashboard ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiCard:
    """One KPI as the dashboard shows it."""

    name: str
    label: str
    value: str
    metric: str
    url: str
    compared: bool
    previous: str
    delta: str
    # good / bad / flat / none: how the change reads (a cost going up is bad)
    trend: str


def _trend(name: str, current: float | None, previous: float | None) -> str:
    if current is None or previous is None:
        return "none"
    if current == previous:
        return "flat"
    better = current < previous if name in LOWER_IS_BETTER else current > previous
    return "good" if better else "bad"


def kpi_cards(
    names: Sequence[str],
    current: Mapping[str, float | int | None],
    previous: Mapping[str, float | int | None] | None,
    *,
    period: Period,
    filters: Filters,
) -> list[KpiCard]:
    """The cards of ``names``: formatted value, change against the previous period, drill link."""
    labels = kpi_selectors.KPI_LABELS
    cards = []
    for name in names:
        value = current.get(name)
        before = previous.get(name) if previous is not None else None
        metric = KPI_DRILL.get(name, "")
        ratio = kpi_kind(name) == "ratio"
        change = delta_pt(value, before) if ratio else delta(value, before)
        cards.append(
            KpiCard(
                name=name,
                label=str(labels.get(name, name)),
                value=kpi_value(value, name),
                metric=metric,
                url=drill_url(metric, period, filters) if metric else "",
                compared=previous is not None,
                previous=kpi_value(before, name),
                delta=change,
                # No change to show (no previous value, or nothing to compare against): no colour.
                trend=_trend(name, value, before) if change != DASH else "none",
            )
        )
    return cards


def _kpi_export(
    names: Sequence[str],
    current: Mapping[str, float | int | None],
    previous: Mapping[str, float | int | None] | None,
    *,
    period: Period,
    compared: Period | None,
    file_format: str,
) -> HttpResponse:
    labels = kpi_selectors.KPI_LABELS
    header: list[object] = [_("KPI"), _("Value")]
    if previous is not None and compared is not None:
        prior = compared
        header.append(
            _("Previous period (%(from)s – %(to)s)")
            % {"from": prior.first.isoformat(), "to": prior.last.isoformat()}
        )
    rows: list[list[object]] = []
    for name in names:
        row: list[object] = [str(labels.get(name, name)), current.get(name)]
        if previous is not None:
            row.append(previous.get(name))
        rows.append(row)
    return table_response(
        name=f"kpis-{period.first:%Y%m%d}-{period.last:%Y%m%d}",
        header=header,
        rows=rows,
        file_format=file_format,
    )


def _partial_bucket(dates: Sequence[date], running: bool) -> date | None:
    """The bucket holding today (the last one) when the period runs today."""
    return dates[-1] if running and dates else None


def _leads_chart(
    period: Period, filters: Filters, table: ChannelTable, *, running: bool = False
) -> go.Figure:
    """Leads per bucket, one stacked series per channel (the ``CHART_CHANNELS`` largest, the
    rest summed as "other"), from one read of the daily counts."""
    buckets = series_selectors.timeseries(period, filters, [])
    size, dates = buckets.grain, buckets.dates
    index = {day: i for i, day in enumerate(dates)}
    per_channel: dict[int, list[int]] = defaultdict(lambda: [0] * len(dates))
    rows = scope.counts(period, filters, metrics=[Metric.LEADS], by_day=True)
    for (day, _metric, channel, _campaign), value in rows.items():
        if day is not None:
            bucket = series_selectors.bucket_of(day, size, period.first)
            per_channel[channel][index[bucket]] += value
    names = {row.channel_id: str(row.channel) for row in table.rows}
    ranked = sorted(per_channel, key=lambda channel: (-sum(per_channel[channel]), channel))
    shown: dict[str, list[int]] = {}
    for channel in ranked[:CHART_CHANNELS]:
        shown[names.get(channel) or _("No channel")] = per_channel[channel]
    rest = ranked[CHART_CHANNELS:]
    if rest:
        shown[_("Other")] = [sum(per_channel[c][i] for c in rest) for i in range(len(dates))]
    return charts.leads_by_channel(
        dates, shown, grain=size, partial=_partial_bucket(dates, running)
    )


def _email_chart(period: Period, filters: Filters, *, running: bool = False) -> go.Figure:
    names = ["delivered", "opened", "clicked", "converted"]
    rates = series_selectors.timeseries(period, filters, names)
    return charts.email_rates(
        rates.dates,
        delivered=rates.values["delivered"],
        opened=rates.values["opened"],
        clicked=rates.values["clicked"],
        converted=rates.values["converted"],
        grain=rates.grain,
        partial=_partial_bucket(rates.dates, running),
    )


def _funnel_chart(result: Funnel) -> go.Figure:
    return charts.funnel([str(s.label) for s in result.stages], [s.count for s in result.stages])


def _cost_revenue_chart(table: ChannelTable) -> go.Figure:
    rows = [r for r in table.rows if r.cost or r.revenue]
    return charts.cost_revenue(
        [str(r.channel) for r in rows], [r.cost or 0 for r in rows], [r.revenue or 0 for r in rows]
    )


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def dashboard(request: HttpRequest) -> HttpResponse:
    """KPI cards of the B2B or B2C view with the change against the previous period, and the
    four charts: leads by channel, the funnel, cost against revenue, email rates."""
    form = report_form(request.GET)
    view = _choice(request.GET.get("view"), VIEWS)
    context: dict[str, Any] = {"form": form, "view": view, "period": None}
    valid = _valid(form)
    if valid is None:
        return _page(request, "dashboard.html", context)
    asked, filters = valid
    # Like with like: a period that runs today is counted up to today (its cost too), against
    # the same stretch of the period before (this month so far against last month up to the
    # same day), and today's bucket in the charts is marked as still being counted.
    period = asked.so_far()
    running = asked.is_running()
    compared = asked.comparison() if form.compare else None
    names = kpi_selectors.B2B_KPIS if view == "b2b" else kpi_selectors.B2C_KPIS
    current = kpi_selectors.kpis(period, filters)
    previous = kpi_selectors.kpis(compared, filters) if compared is not None else None
    now, before = current.as_dict(), previous.as_dict() if previous is not None else None
    file_format = export_format(request.GET.get("format"))
    if file_format:
        return _kpi_export(
            names, now, before, period=period, compared=compared, file_format=file_format
        )
    table = channel_selectors.channel_table(period, filters)
    flow = funnel_selectors.funnel(period, filters, mode="cohort")
    context.update(
        period=period,
        asked_period=asked,
        running=running,
        previous_period=compared,
        no_data=current.no_data,
        cards=kpi_cards(names, now, before, period=period, filters=filters),
        leads_chart=_leads_chart(period, filters, table, running=running),
        funnel_chart=_funnel_chart(flow),
        cost_chart=_cost_revenue_chart(table),
        email_chart=_email_chart(period, filters, running=running),
        funnel_url=f"{reverse('analytics:funnel')}?"
        + urlencode(
            {"from": period.first.isoformat(), "to": period.last.isoformat()} | filters.as_params()
        ),
    )
    return _page(request, "dashboard.html", context)


# --- funnel ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelRow:
    key: str
    label: str
    count: int
    conversion: float | None
    median_days: float | None
    url: str


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def funnel(request: HttpRequest) -> HttpResponse:
    """Lead → MQL → SQL → opportunity → customer for a cohort or a period: counts, conversion
    from the stage before and median days in each stage; each count drills into its contacts."""
    form = report_form(request.GET, with_compare=False)
    mode = _choice(request.GET.get("mode"), MODES)
    context: dict[str, Any] = {"form": form, "mode": mode, "period": None, "modes": MODE_LABELS}
    valid = _valid(form)
    if valid is None:
        return _page(request, "funnel.html", context)
    period, filters = valid
    result = funnel_selectors.funnel(period, filters, mode=mode)
    rows = [
        FunnelRow(
            key=s.stage,
            label=str(s.label),
            count=s.count,
            conversion=s.conversion,
            median_days=s.median_days,
            url=drill_url(s.stage, period, filters, mode=mode),
        )
        for s in result.stages
    ]
    file_format = export_format(request.GET.get("format"))
    if file_format:
        return table_response(
            name=f"funnel-{mode}-{period.first:%Y%m%d}-{period.last:%Y%m%d}",
            header=[
                _("Stage"),
                _("Contacts"),
                _("Conversion from previous stage"),
                _("Median days in stage"),
            ],
            rows=[[r.label, r.count, r.conversion, r.median_days] for r in rows],
            file_format=file_format,
        )
    context.update(
        period=period,
        rows=rows,
        no_data=result.no_data,
        chart=_funnel_chart(result),
        mode_label=MODE_LABELS[mode],
    )
    return _page(request, "funnel.html", context)


# --- channels ----------------------------------------------------------------------------------

CHANNEL_COLUMNS = (
    ("leads", gettext_lazy("Leads")),
    ("cost", gettext_lazy("Cost")),
    ("cpl", gettext_lazy("CPL")),
    ("mqls", gettext_lazy("MQLs")),
    ("sqls", gettext_lazy("SQLs")),
    ("opportunities", gettext_lazy("Opportunities")),
    ("won", gettext_lazy("Won")),
    ("win_rate", gettext_lazy("Win rate")),
    ("revenue", pgettext_lazy("won deals", "Revenue")),
    ("roi", gettext_lazy("ROI")),
    ("cac", gettext_lazy("CAC (cost per won deal)")),
    ("rank", gettext_lazy("Rank")),
)


def _channel_export(table: ChannelTable, *, period: Period, file_format: str) -> HttpResponse:
    header: list[object] = [_("Channel"), *[str(label) for _key, label in CHANNEL_COLUMNS]]
    rows: list[list[object]] = [
        [str(r.channel), *[getattr(r, key) for key, _label in CHANNEL_COLUMNS]] for r in table.rows
    ]
    total = table.total
    if total is not None:
        rows.append(
            [
                _("Total"),
                *[None if key == "rank" else getattr(total, key) for key, _l in CHANNEL_COLUMNS],
            ]
        )
    return table_response(
        name=f"channels-{period.first:%Y%m%d}-{period.last:%Y%m%d}",
        header=header,
        rows=rows,
        file_format=file_format,
    )


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
@domain_errors
def channels(request: HttpRequest) -> HttpResponse:
    """The channel evaluation table with totals, ranked by cost per won deal, and its chart."""
    form = report_form(request.GET, with_compare=False)
    context: dict[str, Any] = {"form": form, "period": None}
    valid = _valid(form)
    if valid is None:
        return _page(request, "channels.html", context)
    period, filters = valid
    table = channel_selectors.channel_table(period, filters)
    file_format = export_format(request.GET.get("format"))
    if file_format:
        return _channel_export(table, period=period, file_format=file_format)
    rows = [
        {
            "row": r,
            # Contacts without a channel, or of a deleted one, cannot be named by a filter.
            "leads_url": _channel_drill("leads", r, period, filters),
            "won_url": _channel_drill("won", r, period, filters),
        }
        for r in table.rows
    ]
    ranked = [r for r in table.rows if r.cac is not None]
    context.update(
        period=period,
        table=table,
        rows=rows,
        no_data=table.no_data,
        chart=_cost_revenue_chart(table),
        cac_chart=charts.channel_bars(
            [str(r.channel) for r in ranked],
            [r.cac or 0 for r in ranked],
            name=_("Cost per won deal (CAC)"),
            yen=True,
        )
        if ranked
        else None,
        leads_url=drill_url("leads", period, filters),
        won_url=drill_url("won", period, filters),
    )
    return _page(request, "channels.html", context)


def _channel_drill(metric: str, row: ChannelRow, period: Period, filters: Filters) -> str:
    if not row.channel_id or row.is_deleted:
        return ""
    return drill_url(metric, period, replace(filters, channel_id=row.channel_id))


# --- drill-down ----------------------------------------------------------------------------------


def _drill_rows(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    rows = contacts.select_related("company", "owner", "first_touch_channel").annotate(
        stage_value=F("lifecycle__stage"), temperature_value=F("score__temperature")
    )
    if not rows.ordered:
        rows = rows.order_by("-created_at", "-pk")
    return rows


def _filter_names(form: ReportForm) -> list[tuple[str, str]]:
    """(filter label, chosen option's label) of the filters in effect, for the header."""
    out = []
    for field in form.filter_fields:
        value = form.cleaned_data.get(field.name) if hasattr(form, "cleaned_data") else None
        if not value:
            continue
        choices = dict((str(k), v) for k, v in getattr(field.field.widget, "choices", []))
        out.append((str(field.label), str(choices.get(str(value), value))))
    return out


@require_GET
@login_required
@permission_required(VIEW, raise_exception=True)
def contacts(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The contacts behind one number (``metric``) of a period and filters, 50 a page, with
    CSV / XLSX export (logged); the page itself is logged as a bulk view of personal data."""
    form = report_form(request.GET, with_compare=False)
    metric = (request.GET.get("metric") or "leads").strip()
    mode = _choice(request.GET.get("mode"), MODES)
    context: dict[str, Any] = {
        "form": form,
        "period": None,
        "metric": metric,
        "metric_label": DRILL_LABELS.get(metric, metric),
        "mode": mode,
        "is_stage": metric in FUNNEL_STAGES,
    }
    valid = _valid(form)
    if valid is None:
        return _page(request, "contacts.html", context)
    period, filters = valid
    context["period"] = period
    try:
        found = drill_selectors.drill_contacts(
            metric, period, filters, user=request.user, mode=mode
        )
    except ValidationError as exc:
        form.add_error(None, exc.message)
        context["period"] = None
        return _page(request, "contacts.html", context)
    logged = {"metric": metric, "from": period.first, "to": period.last, **filters.as_params()}
    if metric in FUNNEL_STAGES:
        logged["mode"] = mode
    file_format = export_format(request.GET.get("format"))
    if file_format:
        response = StreamingHttpResponse(
            contact_export.contact_export_file(
                contacts=found,
                file_format=file_format,
                user=actor(request),
                filters={**{k: str(v) for k, v in logged.items()}, "source": "analytics"},
            ),
            content_type=contact_export.CONTENT_TYPES[file_format],
        )
        filename = f"contacts-{metric}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.{file_format}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    page = Paginator(_drill_rows(found), PAGE_SIZE).get_page(request.GET.get("page"))
    listed = list(page.object_list)
    data_access_log(
        kind=AccessKind.BULK_VIEW,
        resource="analytics.contacts",
        fields=DRILL_FIELDS,
        rows=len(listed),
        user=actor(request),
        filters={k: str(v) for k, v in logged.items()},
    )
    stages = dict(Stage.choices)
    temperatures = dict(Temperature.choices)
    context.update(
        page=page,
        rows=[
            (
                c,
                stages.get(getattr(c, "stage_value", None) or "", ""),
                getattr(c, "temperature_value", None) or "",
                temperatures.get(getattr(c, "temperature_value", None) or "", ""),
            )
            for c in listed
        ],
        total=page.paginator.count,
        filter_names=_filter_names(form),
        mode_label=MODE_LABELS[mode] if metric in FUNNEL_STAGES else "",
    )
    return _page(request, "contacts.html", context)
