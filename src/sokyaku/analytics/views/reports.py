"""The report pages: sequences and broadcasts, handoffs, forecast vs actual and quota.

The sequence report is marketing's (``analytics.view_reports``). The handoff and forecast
reports are also a sales manager's: whoever sees handoffs (``handoff.view_handoff``) opens the
handoff report and whoever sees deals (``deals.view_deal``) the forecast report, each narrowed by
``report_scope`` — everything for marketing and admins, their own numbers and their managed
teams' for everyone else (a rep sees themselves, a manager their team).

Each page reads its period (and filters) with the shared ``ReportForm``; a refused input (an
end before the start, a date that is not one, an unknown sequence, owner or team) is shown as
a field error with no numbers. Every table downloads with ``?format=csv|xlsx`` and
``table=<name>`` (each page's first table without it): ``sequences`` / ``steps`` (one row per
step and variant), ``reps`` / ``triggers`` / ``reasons``, ``months`` / ``reps`` (one row per rep
and month). The tables hold aggregates only, so downloads are not logged as personal-data
access.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_GET

from sokyaku.analytics import charts
from sokyaku.analytics.export import export_format, table_response
from sokyaku.analytics.forms import ReportForm, filter_choices, report_form
from sokyaku.analytics.selectors import reports
from sokyaku.analytics.selectors.reports import (
    ForecastCell,
    ForecastReport,
    HandoffCounts,
    HandoffReport,
    MailCounts,
    SequenceReportRow,
)
from sokyaku.analytics.selectors.scope import VIEW_REPORTS, report_scope
from sokyaku.analytics.templatetags import analytics_ui as ui
from sokyaku.analytics.templatetags.analytics_reports import minutes
from sokyaku.core.errors import ValidationError
from sokyaku.core.http import actor, domain_errors
from sokyaku.core.visibility import ManagedScope
from sokyaku.deals.selectors import quota_settable_ids

Table = tuple[list[str], list[list[object]]]

_MAIL_HEADER = (
    gettext_lazy("Sent"),
    gettext_lazy("Delivered"),
    gettext_lazy("Unique opens"),
    gettext_lazy("Clicks"),
    gettext_lazy("Conversions"),
    gettext_lazy("Unsubscribes"),
    gettext_lazy("Bounces"),
    gettext_lazy("Open rate"),
    gettext_lazy("CTR"),
    gettext_lazy("Conversion rate"),
)
_HANDOFF_HEADER = (
    gettext_lazy("Handoffs"),
    gettext_lazy("Accepted"),
    gettext_lazy("Rejected"),
    gettext_lazy("Open"),
    gettext_lazy("SLA met"),
    gettext_lazy("SLA breached"),
    gettext_lazy("SLA met %"),
    gettext_lazy("Median speed to lead (min)"),
    gettext_lazy("Became opportunities"),
    gettext_lazy("Opportunity rate"),
)


def _page_needing(
    perm: str,
) -> Callable[[Callable[[HttpRequest], HttpResponse]], Callable[[HttpRequest], HttpResponse]]:
    """GET only, signed in, ``perm``, domain errors as 403/404."""

    def decorate(
        view: Callable[[HttpRequest], HttpResponse],
    ) -> Callable[[HttpRequest], HttpResponse]:
        return require_GET(
            login_required(permission_required(perm, raise_exception=True)(domain_errors(view)))
        )

    return decorate


_page = _page_needing(VIEW_REPORTS)


def _download(
    request: HttpRequest, name: str, tables: dict[str, Callable[[], Table]]
) -> HttpResponse | None:
    """The table the request asks for as a file, or ``None`` for the page itself."""
    file_format = export_format(request.GET.get("format"))
    if file_format is None:
        return None
    key = request.GET.get("table") or next(iter(tables))
    build = tables.get(key) or tables[next(iter(tables))]
    header, rows = build()
    return table_response(
        name=f"{name}-{key}" if key in tables else name,
        header=header,
        rows=rows,
        file_format=file_format,
    )


def _mail_cells(counts: MailCounts) -> list[object]:
    return [
        counts.sent,
        counts.delivered,
        counts.opened,
        counts.clicked,
        counts.converted,
        counts.unsubscribed,
        counts.bounced,
        counts.open_rate,
        counts.ctr,
        counts.conversion_rate,
    ]


def _handoff_cells(counts: HandoffCounts) -> list[object]:
    speed = counts.median_speed_minutes
    return [
        counts.handoffs,
        counts.accepted,
        counts.rejected,
        counts.open,
        counts.sla_met,
        counts.sla_breached,
        counts.sla_met_rate,
        round(speed, 1) if speed is not None else None,
        counts.converted,
        counts.opportunity_rate,
    ]


def _strs(*labels: object) -> list[str]:
    return [str(label) for label in labels]


def _base_context(
    form: ReportForm, current: str, scope: ManagedScope | None = None
) -> dict[str, Any]:
    return {
        "section": "analytics",
        "current": current,
        "form": form,
        "period": form.period,
        "valid": False,
        "scope": scope,
        "team_names": _team_names(scope),
    }


def _team_names(scope: ManagedScope | None) -> list[str]:
    """The teams a narrowed report covers, for the note above it."""
    if scope is None or not scope.team_ids:
        return []
    choices = filter_choices(("team",), scope=scope)
    return [name for _pk, name in choices.team]


def _scoped_filters(scope: ManagedScope | None) -> tuple[str, ...]:
    """The owner and team selects, where there is something to choose."""
    if scope is None:
        return ("owner", "team")
    if not scope.team_ids:
        return ()
    return ("owner", "team") if len(scope.team_ids) > 1 else ("owner",)


def _card(name: str, label: str, value: str) -> dict[str, str]:
    """A number for ``analytics/_kpi_card.html``."""
    return {"name": name, "label": label, "value": value}


# --- sequences ------------------------------------------------------------------------------


class SequenceReportForm(ReportForm):
    """The period picker with a sequence select (all sequences, or one with its steps)."""

    def __init__(self, data: QueryDict, *, sequences: Sequence[tuple[int, str]]) -> None:
        super().__init__(data, filters=(), with_compare=False)
        self.fields["sequence"] = forms.CharField(
            label=gettext_lazy("Sequence"),
            required=False,
            widget=forms.Select(
                choices=[("", gettext_lazy("All sequences and broadcasts")), *sequences],
                attrs={"id": "report-sequence"},
            ),
        )
        self.sequence_id: int | None = None

    @property
    def filter_fields(self) -> list[forms.BoundField]:
        return [*super().filter_fields, self["sequence"]]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        raw = str(data.get("sequence") or "").strip()
        if raw:
            try:
                self.sequence_id = reports.sequence_get_for_report(sequence_id=int(raw)).pk
            except ValueError:
                self.add_error("sequence", _("Not a valid id."))
            except ValidationError as exc:
                self.add_error("sequence", exc.message)
        return data


def _sequence_tables(rows: list[SequenceReportRow]) -> dict[str, Callable[[], Table]]:
    def summary() -> Table:
        header = _strs(
            _("Kind"), _("Sequence or broadcast"), _("Enrolments"), _("Reached the goal"),
            _("Goal rate"),
            *_MAIL_HEADER,
        )  # fmt: skip
        body = [
            [
                _("Sequence") if r.kind == reports.SEQUENCE else _("Broadcast"),
                r.name,
                r.enrolled,
                r.goal_reached,
                r.goal_rate,
                *_mail_cells(r.counts),
            ]
            for r in rows
        ]
        return header, body

    def steps() -> Table:
        header = _strs(_("Sequence"), _("Step"), _("Step name"), _("Variant"), *_MAIL_HEADER)
        body: list[list[object]] = []
        for r in rows:
            for step in r.steps:
                for variant in step.variants or [reports.VariantRow("", step.counts)]:
                    body.append(
                        [
                            r.name,
                            step.position,
                            step.name,
                            variant.variant,
                            *_mail_cells(variant.counts),
                        ]
                    )
        return header, body

    return {"sequences": summary, "steps": steps}


def _mail_funnel(counts: MailCounts) -> go.Figure:
    labels = [_("Sent"), _("Delivered"), _("Opened"), _("Clicked"), _("Converted")]
    values = [counts.sent, counts.delivered, counts.opened, counts.clicked, counts.converted]
    fig = charts.funnel(labels, values)
    fig.update_layout(meta={"title": _("Mail funnel")})
    return fig


def _step_rates(row: SequenceReportRow) -> go.Figure:
    """Open rate, CTR and conversion rate per mail step (and variant) of one sequence."""
    fig = go.Figure(layout={"template": charts.TEMPLATE, "meta": {"title": _("Rates by step")}})
    labels: list[str] = []
    values: dict[str, list[float | None]] = {"open": [], "ctr": [], "conv": []}
    for step in row.steps:
        for variant in step.variants or [reports.VariantRow("", step.counts)]:
            position = f"#{step.position} " if step.position is not None else ""
            suffix = f" [{variant.variant}]" if variant.variant else ""
            labels.append(f"{position}{step.name}{suffix}")
            values["open"].append(variant.counts.open_rate)
            values["ctr"].append(variant.counts.ctr)
            values["conv"].append(variant.counts.conversion_rate)
    for key, name in (("open", _("Open rate")), ("ctr", _("CTR")), ("conv", _("Conversion rate"))):
        fig.add_bar(name=name, x=labels, y=values[key], hovertemplate="%{y:.1%}")
    fig.update_layout(barmode="group", hovermode="x unified")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


@_page
def sequences(request: HttpRequest) -> HttpResponse:
    form = SequenceReportForm(request.GET, sequences=reports.sequence_choices())
    context = _base_context(form, "sequences")
    if not form.is_valid() or form.period is None:
        return render(request, "analytics/sequences.html", context)
    rows = reports.sequence_report(form.period, sequence_id=form.sequence_id)
    download = _download(request, "sequences", _sequence_tables(rows))
    if download is not None:
        return download
    total = reports.sequence_report_total(rows)
    selected = next((r for r in rows if r.kind == reports.SEQUENCE), None)
    context.update(
        valid=True,
        cards=[
            _card("sent", _("Sent"), ui.count(total.sent)),
            _card("delivered", _("Delivered"), ui.count(total.delivered)),
            _card("open_rate", _("Open rate"), ui.percent(total.open_rate)),
            _card("ctr", _("CTR"), ui.percent(total.ctr)),
            _card("conversions", _("Conversions"), ui.count(total.converted)),
            _card("conversion_rate", _("Conversion rate"), ui.percent(total.conversion_rate)),
            _card("unsubscribed", _("Unsubscribes"), ui.count(total.unsubscribed)),
            _card("bounced", _("Bounces"), ui.count(total.bounced)),
        ],
        rows=rows,
        sequence_rows=[r for r in rows if r.kind == reports.SEQUENCE],
        broadcast_rows=[r for r in rows if r.kind == reports.BROADCAST],
        total=total,
        no_data=reports.sequence_report_is_empty(rows),
        funnel_chart=_mail_funnel(total) if total.sent else None,
        step_chart=(
            _step_rates(selected)
            if form.sequence_id is not None and selected is not None and selected.counts.sent
            else None
        ),
    )
    return render(request, "analytics/sequences.html", context)


# --- handoffs -------------------------------------------------------------------------------


def _handoff_tables(report: HandoffReport) -> dict[str, Callable[[], Table]]:
    def grouped(title: str, groups: Sequence[reports.HandoffGroupRow]) -> Table:
        header = _strs(title, *_HANDOFF_HEADER)
        body = [[g.label, *_handoff_cells(g.counts)] for g in groups]
        body.append([_("Total"), *_handoff_cells(report.total)])
        return header, body

    def reasons() -> Table:
        header = _strs(_("Reject reason"), _("Rejected"), _("Share of rejections"))
        return header, [[r.label, r.count, r.share] for r in report.reject_reasons]

    return {
        "reps": lambda: grouped(_("Rep"), report.by_rep),
        "triggers": lambda: grouped(_("Trigger"), report.by_trigger),
        "reasons": reasons,
    }


def _reasons_chart(report: HandoffReport) -> go.Figure | None:
    if not report.reject_reasons:
        return None
    counts = [r.count for r in report.reject_reasons]
    fig = charts.channel_bars(
        [r.label for r in report.reject_reasons], counts, name=_("Reject reasons")
    )
    # Whole handoffs on the axis, also when there are only a few.
    fig.update_xaxes(dtick=max(1, math.ceil(max(counts) / 5)))
    return fig


def _rep_chart(report: HandoffReport) -> go.Figure | None:
    """商談化率 and SLA met % per rep, side by side."""
    groups = [g for g in report.by_rep if g.counts.handoffs]
    if not groups:
        return None
    fig = go.Figure(
        layout={"template": charts.TEMPLATE, "meta": {"title": _("Opportunity rate by rep")}}
    )
    names = [g.label for g in groups]
    fig.add_bar(
        name=_("Opportunity rate"),
        x=names,
        y=[g.counts.opportunity_rate for g in groups],
        hovertemplate="%{y:.1%}",
    )
    fig.add_bar(
        name=_("SLA met %"),
        x=names,
        y=[g.counts.sla_met_rate for g in groups],
        hovertemplate="%{y:.1%}",
    )
    fig.update_layout(barmode="group", hovermode="x unified")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


@_page_needing("handoff.view_handoff")
def handoffs(request: HttpRequest) -> HttpResponse:
    scope = report_scope(request.user)
    form = report_form(request.GET, filters=_scoped_filters(scope), with_compare=False, scope=scope)
    context = _base_context(form, "handoffs", scope)
    if not form.is_valid() or form.period is None:
        return render(request, "analytics/handoffs.html", context)
    report = reports.handoff_report(form.period, form.filters, scope=scope)
    download = _download(request, "handoffs", _handoff_tables(report))
    if download is not None:
        return download
    total = report.total
    context.update(
        valid=True,
        cards=[
            _card("handoffs", _("Handoffs"), ui.count(total.handoffs)),
            _card("accepted", _("Accepted"), ui.count(total.accepted)),
            _card("rejected", _("Rejected"), ui.count(total.rejected)),
            _card("open", _("Open"), ui.count(total.open)),
            _card("sla_met_rate", _("SLA met %"), ui.percent(total.sla_met_rate)),
            _card("sla_breached", _("SLA breached"), ui.count(total.sla_breached)),
            _card("median_speed", _("Median speed to lead"), minutes(total.median_speed_minutes)),
            _card("opportunity_rate", _("Opportunity rate"), ui.percent(total.opportunity_rate)),
        ],
        group_tables=[
            (_("By rep"), "reps", _("Rep"), report.by_rep),
            (_("By trigger"), "triggers", _("Trigger"), report.by_trigger),
        ],
        report=report,
        no_data=report.no_data,
        reasons_chart=_reasons_chart(report),
        rep_chart=_rep_chart(report),
    )
    return render(request, "analytics/handoffs.html", context)


# --- forecast -------------------------------------------------------------------------------


def _forecast_cells(cell: ForecastCell) -> list[object]:
    return [
        cell.weighted,
        cell.won,
        cell.variance,
        cell.attainment,
        cell.pipeline,
        cell.created,
        cell.created_amount,
    ]


_FORECAST_HEADER = (
    gettext_lazy("Weighted forecast"),
    gettext_lazy("Won"),
    gettext_lazy("Won − forecast"),
    gettext_lazy("Attainment"),
    gettext_lazy("Open pipeline"),
    gettext_lazy("Deals created"),
    gettext_lazy("Pipeline created"),
)


_QUOTA_HEADER = (
    gettext_lazy("Quota"),
    pgettext_lazy("open now", "Weighted pipeline"),
    gettext_lazy("Committed"),
    gettext_lazy("Won"),
    gettext_lazy("Quota attainment"),
)


def _quota_cells(cell: ForecastCell) -> list[object]:
    return [cell.quota, cell.open_weighted, cell.committed, cell.won, cell.quota_attainment]


def _forecast_tables(report: ForecastReport) -> dict[str, Callable[[], Table]]:
    def quota() -> Table:
        header = _strs(_("Rep"), *_QUOTA_HEADER)
        body = [[row.name, *_quota_cells(row.total)] for row in report.rows]
        body.append([_("Total"), *_quota_cells(report.total)])
        return header, body

    def months() -> Table:
        header = _strs(_("Month"), *_FORECAST_HEADER)
        body = [[f"{c.month:%Y-%m}", *_forecast_cells(c)] for c in report.month_totals]
        body.append([_("Total"), *_forecast_cells(report.total)])
        return header, body

    def reps() -> Table:
        header = _strs(_("Rep"), _("Month"), *_FORECAST_HEADER)
        body: list[list[object]] = []
        for row in report.rows:
            for cell in row.cells:
                body.append([row.name, f"{cell.month:%Y-%m}", *_forecast_cells(cell)])
            body.append([row.name, _("Total"), *_forecast_cells(row.total)])
        return header, body

    return {"months": months, "reps": reps, "quota": quota}


def _forecast_chart(report: ForecastReport) -> go.Figure:
    """Won per month as bars, the weighted forecast as a line (yen)."""
    fig = go.Figure(
        layout={"template": charts.TEMPLATE, "meta": {"title": _("Forecast vs actual")}}
    )
    x = [f"{m:%Y-%m}" for m in report.months]
    fig.add_bar(name=_("Won"), x=x, y=[c.won for c in report.month_totals], hovertemplate="¥%{y:,}")
    fig.add_scatter(
        name=_("Weighted forecast"),
        x=x,
        y=[c.weighted for c in report.month_totals],
        mode="lines+markers",
        hovertemplate="¥%{y:,}",
    )
    fig.update_layout(hovermode="x unified")
    fig.update_xaxes(type="category")
    fig.update_yaxes(tickprefix="¥", tickformat=",d", rangemode="tozero")
    return fig


@_page_needing("deals.view_deal")
def forecast(request: HttpRequest) -> HttpResponse:
    scope = report_scope(request.user)
    form = report_form(request.GET, filters=(), with_compare=False, scope=scope)
    context = _base_context(form, "forecast", scope)
    context["may_set_quotas"] = quota_settable_ids(actor=actor(request)) != frozenset()
    if not form.is_valid() or form.period is None:
        return render(request, "analytics/forecast.html", context)
    report = reports.forecast_report(form.period, scope=scope)
    download = _download(request, "forecast", _forecast_tables(report))
    if download is not None:
        return download
    total = report.total
    context.update(
        valid=True,
        cards=[
            _card("quota", _("Quota"), ui.yen(total.quota)),
            _card("won", _("Won"), ui.yen(total.won)),
            _card("quota_attainment", _("Quota attainment"), ui.percent(total.quota_attainment)),
            _card("committed", _("Committed"), ui.yen(total.committed)),
            _card("weighted", _("Weighted forecast"), ui.yen(total.weighted)),
            _card("attainment", _("Attainment"), ui.percent(total.attainment)),
            _card("created_amount", _("Pipeline created"), ui.yen(total.created_amount)),
        ],
        report=report,
        no_data=report.no_data,
        chart=_forecast_chart(report),
    )
    return render(request, "analytics/forecast.html", context)
