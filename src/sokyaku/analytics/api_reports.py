"""Analytics API: sequence, handoff and forecast reports (``/api/v1/analytics/…``).

Each needs the ``analytics:read`` scope. The sequence report needs a key whose user may see
reports (``analytics.view_reports``: marketers and admins) and covers all records. The handoff
and forecast reports need a user who sees handoffs (deals): for marketers and admins they cover
everyone, for anyone else their own numbers and those of the teams they manage (a sales
manager's team). A system key acts for the installation. A bad period or filter answers 422
with ``loc`` ``["query", <parameter>]``; so does an owner or team outside the user's scope.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from sokyaku.analytics.api_common import (
    ERRORS,
    READ,
    TEAM_FORECAST,
    TEAM_HANDOFFS,
    filters_of,
    in_query,
    openapi_extra,
    period_of,
    reader,
    team_scope,
)
from sokyaku.analytics.schemas_reports import (
    ForecastReportOut,
    HandoffReportOut,
    HandoffsQuery,
    PeriodQuery,
    SequenceReportOut,
    SequencesQuery,
)
from sokyaku.analytics.selectors import reports
from sokyaku.analytics.selectors.reports import HandoffGroupRow, MailCounts
from sokyaku.core.errors import ValidationError
from sokyaku.core.schemas import error_responses

router = Router(tags=["analytics"])

_INVALID = (
    "A malformed date, an end before the start, a period over ten years, or an id that "
    "names nothing: `detail` names the parameter."
)


def _sequence_id(raw: str | None) -> int | None:
    value = (raw or "").strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        message = "Not a valid id."
        raise ValidationError(message, field_errors={"query.sequence": message})
    try:
        return reports.sequence_get_for_report(sequence_id=number).pk
    except ValidationError as exc:
        raise in_query(exc) from None


def _mail(counts: MailCounts) -> dict[str, Any]:
    return counts.as_dict()


@router.get(
    "/sequences",
    response={200: SequenceReportOut, **error_responses(*ERRORS)},
    by_alias=True,
    auth=READ,
    operation_id="analytics_sequences",
    summary="Mails sent in the period per sequence, step and variant, and per broadcast",
    description=(
        "`from`/`to` (YYYY-MM-DD, Tokyo days, both included; default this month) and "
        "`sequence` (an id: only that sequence, no broadcasts). Counts are of mails **sent** "
        "in the period; rates are over delivered mails. `enrolled` and `goal_reached` are the "
        "sequence's enrolments started in the period and how many have reached the goal. "
        "Needs the `analytics:read` scope."
    ),
    openapi_extra=openapi_extra(_INVALID),
)
def sequences_report(request: HttpRequest, params: Query[SequencesQuery]) -> dict[str, Any]:
    reader(request)
    period = period_of(params.from_, params.to)
    sequence_id = _sequence_id(params.sequence)
    rows = reports.sequence_report(period, sequence_id=sequence_id)
    return {
        "from": period.first,
        "to": period.last,
        "no_data": reports.sequence_report_is_empty(rows),
        "total": _mail(reports.sequence_report_total(rows)),
        "rows": [
            {
                **_mail(row.counts),
                "kind": row.kind,
                "id": row.id,
                "name": row.name,
                "enrolled": row.enrolled,
                "goal_reached": row.goal_reached,
                "goal_rate": row.goal_rate,
                "steps": [
                    {
                        **_mail(step.counts),
                        "step_id": step.step_id,
                        "position": step.position,
                        "name": step.name,
                        "deleted": step.deleted,
                        "variants": [
                            {**_mail(v.counts), "variant": v.variant} for v in step.variants
                        ],
                    }
                    for step in row.steps
                ],
            }
            for row in rows
        ],
    }


def _group(group: HandoffGroupRow) -> dict[str, Any]:
    return {**group.counts.as_dict(), "id": group.key, "name": group.label}


@router.get(
    "/handoffs",
    response={200: HandoffReportOut, **error_responses(*ERRORS)},
    by_alias=True,
    auth=TEAM_HANDOFFS,
    operation_id="analytics_handoffs",
    summary="Handoffs created in the period: accepted, rejected with reasons, SLA, speed to "
    "lead and 商談化率, per rep and per trigger",
    description=(
        "`from`/`to` (YYYY-MM-DD), `owner` (a user id: handoffs assigned to them) and `team` "
        "(a team id). Status, SLA and conversion are as they stand now. A key of a user who "
        "does not see every report (a sales rep or manager) reads their own handoffs and "
        "those of the teams they manage. Needs the `analytics:read` scope."
    ),
    openapi_extra=openapi_extra(
        _INVALID,
        forbidden="The key lacks the analytics:read scope, or its user may not see handoffs.",
    ),
)
def handoffs_report(request: HttpRequest, params: Query[HandoffsQuery]) -> dict[str, Any]:
    scope = team_scope(request)
    period = period_of(params.from_, params.to)
    filters = filters_of(scope, owner=params.owner, team=params.team)
    report = reports.handoff_report(period, filters, scope=scope)
    return {
        "from": period.first,
        "to": period.last,
        "no_data": report.no_data,
        "total": report.total.as_dict(),
        "by_rep": [_group(g) for g in report.by_rep],
        "by_trigger": [_group(g) for g in report.by_trigger],
        "reject_reasons": [
            {"reason": r.reason, "label": r.label, "count": r.count, "share": r.share}
            for r in report.reject_reasons
        ],
    }


@router.get(
    "/forecast",
    response={200: ForecastReportOut, **error_responses(*ERRORS)},
    by_alias=True,
    auth=TEAM_FORECAST,
    operation_id="analytics_forecast",
    summary="Weighted forecast vs won and quota per month and per rep, with the pipeline created",
    description=(
        "`from`/`to` (YYYY-MM-DD): every whole month they touch. `weighted` is the forecast "
        "of each month as it stood when the month began, `weighted_pipeline` and `committed` "
        "the open deals now (× stage probability; the commit category), `won` the amount won "
        "by month of closing (Asia/Tokyo), `created` the deals opened in the month, `quota` "
        "the reps' quotas and `quota_attainment` won ÷ quota. A key of a user who does not "
        "see every report reads their own numbers and those of the teams they manage. Needs "
        "the `analytics:read` scope."
    ),
    openapi_extra=openapi_extra(
        _INVALID,
        forbidden="The key lacks the analytics:read scope, or its user may not see deals.",
    ),
)
def forecast_report(request: HttpRequest, params: Query[PeriodQuery]) -> dict[str, Any]:
    scope = team_scope(request)
    period = period_of(params.from_, params.to)
    report = reports.forecast_report(period, scope=scope)
    return {
        "from": period.first,
        "to": period.last,
        "months": [f"{m:%Y-%m}" for m in report.months],
        "no_data": report.no_data,
        "rows": [
            {
                "owner_id": row.owner_id,
                "owner_name": row.name,
                "months": [c.as_dict() for c in row.cells],
                "total": row.total.as_dict(),
            }
            for row in report.rows
        ],
        "month_totals": [c.as_dict() for c in report.month_totals],
        "total": report.total.as_dict(),
    }
