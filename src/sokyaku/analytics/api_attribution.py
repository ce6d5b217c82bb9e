"""Attribution API: won revenue credited to channels and campaigns under five models
(``GET /api/v1/analytics/attribution``).

Reports are marketing's: the key needs the ``analytics:read`` scope, and a key acts as the user
who created it, who needs ``analytics.view_reports`` (a sales rep's key is refused); a key made
on the command line reads for the installation.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from sokyaku.analytics.api_common import ERRORS, READ, openapi_extra, period_of, reader
from sokyaku.analytics.schemas_attribution import AttributionOut, AttributionQuery
from sokyaku.analytics.selectors.attribution import MODELS, attribution
from sokyaku.core.schemas import error_responses

router = Router(tags=["analytics"])


@router.get(
    "/attribution",
    response={200: AttributionOut, **error_responses(*ERRORS)},
    by_alias=True,
    auth=READ,
    operation_id="analytics_attribution",
    summary="Won revenue credited to channels or campaigns: first/last touch, linear, U, W",
    description=(
        "Deals won in the period (`from`–`to`, Tokyo days; with `orders=true` also orders) "
        "are credited to the marketing touches on their contact's path — events with UTM "
        "parameters or a referrer from another site, plus the stored first touch — up to the "
        "win. `first_touch` and `last_touch` give everything to one touch; `linear` shares "
        "equally; `u_shaped` gives 40 % to the first touch, 40 % to the touch that created the "
        "lead and 20 % to the others; `w_shaped` 30 % each to the first, lead-creation and "
        "opportunity-creation touches and 10 % to the others. Amounts are whole yen; every "
        "model's column adds up to the total won revenue. 422 for a malformed date, an end "
        "before the start or an unknown `by`. Needs the `analytics:read` scope."
    ),
    openapi_extra=openapi_extra(
        "A malformed or impossible date, an end before the start, a period over ten years, "
        "or an unknown `by`."
    ),
)
def analytics_attribution(request: HttpRequest, params: Query[AttributionQuery]) -> dict[str, Any]:
    reader(request)
    period = period_of(params.from_, params.to)
    result = attribution(period, by=params.by, include_orders=params.orders)
    return {
        "from": period.first,
        "to": period.last,
        "by": result.by,
        "orders": result.include_orders,
        "models": list(MODELS),
        "no_data": result.no_data,
        "rows": [row.as_dict() for row in result.rows],
        "total": result.total.as_dict(),
    }
