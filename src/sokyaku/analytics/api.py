"""Analytics API: KPIs, the channel table and the funnel (``/api/v1/analytics/…``).

Reports are marketing's: a key needs the ``analytics:read`` scope and acts as the user who
created it (``core.visibility.api_user``), who needs ``analytics.view_reports`` (marketers and
admins; a sales rep's key is refused with 403). A key made on the command line reads them all.
A bad period or filter — a date that does not exist, an end before the start, a channel that
was deleted — answers 422 with the parameter named in ``detail``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from sokyaku.analytics.api_common import ERRORS, READ, filters_of, openapi_extra, period_of, reader
from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.schemas import (
    ChannelRowOut,
    FunnelOut,
    FunnelQuery,
    KpisOut,
    ReportQuery,
)
from sokyaku.analytics.selectors.channels import channel_table
from sokyaku.analytics.selectors.funnel import funnel
from sokyaku.analytics.selectors.kpis import kpis
from sokyaku.core.schemas import error_responses

router = Router(tags=["analytics"])


def _resolve(params: ReportQuery) -> tuple[Period, Filters]:
    """The period and filters asked for; a bad one is a 422 located in the query."""
    period = period_of(params.from_, params.to)
    filters = filters_of(
        channel=params.channel,
        campaign=params.campaign,
        segment=params.segment,
        owner=params.owner,
        team=params.team,
    )
    return period, filters


def _kpi_values(period: Period, filters: Filters) -> dict[str, Any]:
    figures = kpis(period, filters)
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "no_data": figures.no_data,
        **figures.as_dict(),
    }


@router.get(
    "/kpis",
    response={200: KpisOut, **error_responses(*ERRORS)},
    auth=READ,
    by_alias=True,
    operation_id="analytics_kpis",
    summary="The KPI table of a period, with the previous period for comparison",
    description=(
        "Every KPI of DESIGN.md's table by its English name (leads, cpl, mqls, sqls, "
        "hot_lead_ratio, opportunity_rate, nurturing_rate, lead_to_customer_rate, open_rate, "
        "ctr, conversion_rate, cac, roi, repeat_rate, win_rate …) for the Tokyo days `from` … "
        "`to`, and the same for the period just before (`previous`: the previous calendar "
        "months for whole months, else the same number of days). Ratios "
        "are fractions (0.05 = 5 %) and null when undefined; a period without data answers "
        "zeros and `no_data: true`. Filters narrow to a source (`channel`, `campaign`) or to "
        "contacts (`segment`, `owner`, `team`; cost-based KPIs are then null, as a cost belongs "
        "to a channel, not to some of its contacts). Needs the `analytics:read` scope."
    ),
    openapi_extra=openapi_extra(),
)
def analytics_kpis(request: HttpRequest, params: Query[ReportQuery]) -> dict[str, Any]:
    reader(request)
    period, filters = _resolve(params)
    return {
        **_kpi_values(period, filters),
        "previous": _kpi_values(period.previous(), filters),
    }


@router.get(
    "/channels",
    response={200: list[ChannelRowOut], **error_responses(*ERRORS)},
    auth=READ,
    operation_id="analytics_channels",
    summary="The channel evaluation table of a period, best cost per won deal first",
    description=(
        "One row per channel with something in the period (leads, a cost or won deals): "
        "leads, cost (monthly costs prorated by day), cpl, mqls, sqls, opportunities, won, "
        "win_rate (won ÷ leads), revenue, roi, cac (cost per won deal) and rank by it. Leads "
        "without a channel are a row of their own (`channel_id` 0). Same filters as `/kpis`. "
        "Needs the `analytics:read` scope."
    ),
    openapi_extra=openapi_extra(),
)
def analytics_channels(request: HttpRequest, params: Query[ReportQuery]) -> list[dict[str, Any]]:
    reader(request)
    period, filters = _resolve(params)
    table = channel_table(period, filters)
    return [
        {
            "channel": row.channel,
            "channel_id": row.channel_id,
            "channel_key": row.key,
            "leads": row.leads,
            "cost": row.cost,
            "cpl": row.cpl,
            "mqls": row.mqls,
            "sqls": row.sqls,
            "opportunities": row.opportunities,
            "won": row.won,
            "win_rate": row.win_rate,
            "revenue": row.revenue,
            "roi": row.roi,
            "cac": row.cac,
            "rank": row.rank,
        }
        for row in table.rows
    ]


@router.get(
    "/funnel",
    response={200: FunnelOut, **error_responses(*ERRORS)},
    auth=READ,
    by_alias=True,
    operation_id="analytics_funnel",
    summary="The funnel lead → MQL → SQL → opportunity → customer of a period",
    description=(
        "Count per stage, conversion from the stage before, and the median days spent in each "
        "stage (from the lifecycle history). `mode=cohort` (default): contacts created in the "
        "period, at every stage they have reached; `mode=period`: stage entries in the period. "
        "Same filters as `/kpis`. Needs the `analytics:read` scope."
    ),
    openapi_extra=openapi_extra(),
)
def analytics_funnel(request: HttpRequest, params: Query[FunnelQuery]) -> dict[str, Any]:
    reader(request)
    period, filters = _resolve(params)
    result = funnel(period, filters, mode=params.mode)
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "mode": result.mode,
        "no_data": result.no_data,
        "stages": [
            {
                "stage": s.stage,
                "label": s.label,
                "count": s.count,
                "conversion": s.conversion,
                "median_days": s.median_days,
            }
            for s in result.stages
        ],
    }
