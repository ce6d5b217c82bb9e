"""The contacts behind a number: every figure of the KPI table, the channel table and the
funnel can be opened as the list of people it counts.

Each metric is selected with the same definition that counts it (``analytics.metrics``,
``states``, ``funnel``): the list of "SQLs in April" holds exactly the people counted. Where a
number counts rows rather than people (won deals, mails, orders), a person with several rows is
listed once. Rows are the contacts the asking
user may see (``core.visibility``): reports are for marketers, who see everyone, but the list
is personal data and follows the same rule as every other list of contacts.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, F, QuerySet, Value
from django.utils.translation import gettext as _

from sokyaku.activity.models import Event, EventType
from sokyaku.analytics.metrics import STAGE_METRICS, Metric, metric_contacts
from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.selectors import states
from sokyaku.analytics.selectors.funnel import (
    COHORT,
    STAGE_KEYS,
    STAGES,
    cohort_contacts,
    mode_check,
    reached_q,
)
from sokyaku.analytics.selectors.scope import scope_contacts
from sokyaku.contacts.models import Contact
from sokyaku.core.errors import ValidationError
from sokyaku.core.visibility import owner_q
from sokyaku.scoring.models import Temperature

# Beyond the metrics and the funnel stages: the parts of the state KPIs.
STATE_KEYS = ("hot", "open_leads", "nurtured", "nurture_base", "buyers", "repeat_buyers")
DRILL_METRICS = (*(m.value for m in Metric), *STAGE_KEYS, *STATE_KEYS)


def _metric_ids(metric: str, period: Period) -> QuerySet[Any]:
    """Ids (one column) of the contacts whose rows ``metric`` counts in ``period``."""
    return metric_contacts(Metric(metric), *period.bounds())


def _state_rows(key: str, period: Period, filters: Filters) -> QuerySet[Contact]:
    start, end = period.bounds()
    scope = scope_contacts(filters)
    if key in ("hot", "open_leads"):
        rows = scope.filter(states.stage_q(end, states.OPEN_STAGES))
        if key == "hot":
            rows = rows.filter(states.band_q(end, [Temperature.HOT]))
        return rows
    if key in ("nurtured", "nurture_base"):
        rows = scope.filter(states.stage_q(start, states.OPEN_STAGES)).exclude(
            states.band_q(start, states.WARM_OR_HOT)
        )
        if key == "nurtured":
            rows = rows.filter(states.warmed_q(start, end))
        return rows
    per_buyer = (
        Event.objects.filter(type=EventType.PURCHASE, contact__isnull=False, occurred_at__lt=end)
        .values(buyer=F("contact_id") + Value(0))  # as kpis() groups them
        .annotate(n=Count("pk"))
        .order_by()
    )
    if key == "repeat_buyers":
        per_buyer = per_buyer.filter(n__gte=2)
    return scope.filter(pk__in=per_buyer.values("buyer"))


def drill_contacts(
    metric: str,
    period: Period,
    filters: Filters,
    *,
    user: User | AnonymousUser | None,
    mode: str = COHORT,
) -> QuerySet[Contact]:
    """The contacts behind ``metric`` in ``period`` under ``filters``, newest first, as far as
    ``user`` may see them (``None``: the system).

    ``metric`` is a ``Metric`` name, a funnel stage key (``lead`` … ``customer``: the funnel's
    contacts at that stage in ``mode``), ``hot`` (hot open leads at the end of the period),
    ``open_leads``, ``nurtured`` (cold open leads at the start that warmed up), ``nurture_base``,
    ``buyers`` or ``repeat_buyers``. Raises ``ValidationError`` (field ``metric``) for anything
    else, and for an unknown ``mode``.
    """
    if metric not in DRILL_METRICS:
        message = _("Unknown metric: %(name)s.") % {"name": metric}
        raise ValidationError(message, field_errors={"metric": message})
    mode_check(mode)
    if metric in STAGE_KEYS:
        index = STAGE_KEYS.index(metric)
        if mode == COHORT:
            rows = cohort_contacts(period, filters).filter(reached_q(STAGES[index][2]))
        else:
            rows = scope_contacts(filters).filter(pk__in=_metric_ids(STAGES[index][3], period))
    elif metric in STATE_KEYS:
        rows = _state_rows(metric, period, filters)
    else:
        live = metric in (Metric.LEADS, Metric.LEADS_CONVERTED) or metric in STAGE_METRICS
        rows = scope_contacts(filters, live=live).filter(pk__in=_metric_ids(metric, period))
    return (
        rows.filter(owner_q(user, "owner"))
        .select_related("company", "owner")
        .order_by("-created_at", "-id")
    )
