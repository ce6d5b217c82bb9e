"""What the analytics API operations share: the key's scope, who may read reports, and input
errors located in the query string.

Reports are marketing's: a key needs the ``analytics:read`` scope and acts as the user who
created it, who needs ``analytics.view_reports`` (a sales rep's key is refused); a system key
reads for the installation. The handoff and forecast reports are also a sales manager's
(``TEAM_HANDOFFS``, ``TEAM_FORECAST``): a key whose user sees handoffs (deals) reads them,
narrowed to the user's own numbers and those of the teams they manage (``team_scope``).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest

from sokyaku.analytics.period import Filters, Period, filters_resolve, period_parse
from sokyaku.analytics.selectors.scope import report_scope
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import PermissionDenied, ValidationError
from sokyaku.core.models import ApiScope
from sokyaku.core.schemas import responses_extra
from sokyaku.core.visibility import ManagedScope, api_user

VIEW_REPORTS = "analytics.view_reports"
READ = ApiKeyAuth(ApiScope.ANALYTICS_READ, VIEW_REPORTS)
TEAM_HANDOFFS = ApiKeyAuth(ApiScope.ANALYTICS_READ, "handoff.view_handoff")
TEAM_FORECAST = ApiKeyAuth(ApiScope.ANALYTICS_READ, "deals.view_deal")
ERRORS = (401, 403, 422)


def openapi_extra(invalid: str | None = None, *, forbidden: str | None = None) -> dict[str, Any]:
    """The documented 401/403/422 answers; ``invalid`` describes the operation's 422,
    ``forbidden`` its 403."""
    extra = responses_extra(ERRORS)
    extra["responses"][403]["description"] = forbidden or (
        "The key lacks the analytics:read scope, or its user may not see reports "
        "(analytics.view_reports: marketers and admins)."
    )
    extra["responses"][422]["description"] = invalid or (
        "Bad period or filter: a malformed or impossible date, an end before the start, a "
        "period over ten years, or a channel, campaign, segment, owner or team that does not "
        "exist (a deleted channel is named as such)."
    )
    return extra


def reader(request: HttpRequest) -> User | None:
    """The key's user (``None``: the installation), when they may see reports."""
    user = api_user(request)
    if user is not None and not user.has_perm(VIEW_REPORTS):
        raise PermissionDenied("The key's user may not see reports (analytics.view_reports).")
    return user


def team_scope(request: HttpRequest) -> ManagedScope | None:
    """Whose numbers the key's user sees in the handoff and forecast reports (``None``:
    everyone's; see ``selectors.scope.report_scope``)."""
    return report_scope(api_user(request))


def in_query(exc: ValidationError) -> ValidationError:
    """The error with its fields located in the query string."""
    fields = {f"query.{name}": message for name, message in exc.field_errors.items()}
    return ValidationError(exc.message, field_errors=fields)


def period_of(start: str | None, end: str | None) -> Period:
    """The period asked for; a bad one is a 422 located in the query."""
    try:
        return period_parse(start, end)
    except ValidationError as exc:
        raise in_query(exc) from None


def filters_of(scope: ManagedScope | None = None, **params: object) -> Filters:
    """The filters asked for (``channel=…, campaign=…, segment=…, owner=…, team=…``); a bad one
    is a 422 located in the query (with a ``scope``, also one outside it)."""
    try:
        return filters_resolve(**params, scope=scope)
    except ValidationError as exc:
        raise in_query(exc) from None
