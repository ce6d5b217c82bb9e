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
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Value
from django.utils.translation import gettext as _

from sokyaku.activity.models import Event, EventType
from sokyaku.analytics.metrics import (
    CONVERSION_WINDOW,
    GOAL_EVENT_TYPES,
    OPPORTUNITY_OR_LATER,
    STAGE_METRICS,
    Metric,
)
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
from sokyaku.deals.models import Deal, DealStatus, Order
from sokyaku.handoff.models import Handoff
from sokyaku.lifecycle.models import Stage, StageChange
from sokyaku.messaging.models import Message, MessageChannel, Stream
from sokyaku.scoring.models import Temperature

# Beyond the metrics and the funnel stages: the parts of the state KPIs.
STATE_KEYS = ("hot", "open_leads", "nurtured", "nurture_base", "buyers", "repeat_buyers")
DRILL_METRICS = (*(m.value for m in Metric), *STAGE_KEYS, *STATE_KEYS)

_MAIL_CONDITIONS: dict[str, Q] = {
    Metric.SENT: Q(),
    Metric.DELIVERED: Q(bounced_at__isnull=True),
    Metric.OPENED: Q(opened_at__isnull=False),
    Metric.CLICKED: Q(clicked_at__isnull=False),
    Metric.BOUNCED: Q(bounced_at__isnull=False),
    Metric.UNSUBSCRIBED: Q(unsubscribed_at__isnull=False),
}


def _metric_ids(metric: str, period: Period) -> QuerySet[Any]:
    """Ids (one column) of the contacts whose rows ``metric`` counts in ``period``."""
    start, end = period.bounds()
    if metric in (Metric.LEADS, Metric.LEADS_CONVERTED):
        rows = Contact.objects.filter(created_at__gte=start, created_at__lt=end)
        if metric == Metric.LEADS_CONVERTED:
            rows = rows.filter(reached_q((Stage.CUSTOMER,)))
        return rows.values("pk")
    if metric in STAGE_METRICS:
        return (
            StageChange.objects.filter(to_stage=STAGE_METRICS[Metric(metric)])
            .values("contact_id")
            .annotate(first=Min("changed_at"))
            .filter(first__gte=start, first__lt=end)
            .values("contact_id")
        )
    if metric in (Metric.HANDOFFS, Metric.HANDOFFS_CONVERTED):
        handoffs = Handoff.objects.filter(created_at__gte=start, created_at__lt=end)
        if metric == Metric.HANDOFFS_CONVERTED:
            reached = StageChange.objects.filter(
                contact=OuterRef("contact"),
                to_stage__in=OPPORTUNITY_OR_LATER,
                changed_at__gte=OuterRef("created_at"),
            )
            dealt = Deal.objects.filter(handoff=OuterRef("pk"))
            handoffs = handoffs.filter(Q(Exists(reached)) | Q(Exists(dealt)))
        return handoffs.values("contact_id")
    if metric in (Metric.WON, Metric.REVENUE):
        return Deal.objects.filter(
            status=DealStatus.WON, closed_at__gte=start, closed_at__lt=end, contact__isnull=False
        ).values("contact_id")
    if metric in (Metric.ORDERS, Metric.ORDER_REVENUE):
        return Order.objects.filter(ordered_at__gte=start, ordered_at__lt=end).values("contact_id")
    mails = Message.objects.filter(
        channel=MessageChannel.EMAIL,
        stream=Stream.MARKETING,
        sent_at__gte=start,
        sent_at__lt=end,
        contact__isnull=False,
    )
    if metric == Metric.CONVERTED:
        goal = Event.objects.filter(
            contact=OuterRef("contact"),
            type__in=GOAL_EVENT_TYPES,
            occurred_at__gte=OuterRef("clicked_at"),
            occurred_at__lt=OuterRef("sent_at") + CONVERSION_WINDOW,
        )
        return mails.filter(clicked_at__isnull=False).filter(Exists(goal)).values("contact_id")
    return mails.filter(_MAIL_CONDITIONS[metric]).values("contact_id")


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
