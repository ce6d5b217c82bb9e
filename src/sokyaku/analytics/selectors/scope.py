"""What a report covers: the additive counts of a period under filters, the contacts the
filters leave, and whose numbers a user sees in the team reports (``report_scope``).

Counts come from the daily rollups when only the source (channel, campaign) is filtered — the
rollups are split by source — and from the raw tables when owner, team or segment narrow the
contacts (``analytics.metrics``). Either way they mean the same thing, by definition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from sokyaku.analytics.metrics import Key, Metric, raw_counts
from sokyaku.analytics.period import Filters, Period
from sokyaku.analytics.rollups import rollup_counts
from sokyaku.campaigns.models import Campaign
from sokyaku.contacts.models import Contact
from sokyaku.core.visibility import ManagedScope, managed_scope

# Whoever holds it sees every report over every record (marketers, admins).
VIEW_REPORTS = "analytics.view_reports"


def _keep(key: Key, filters: Filters) -> bool:
    _day, _metric, channel, campaign = key
    if filters.channel_id is not None and channel != filters.channel_id:
        return False
    return filters.campaign_id is None or campaign == filters.campaign_id


def counts(
    period: Period,
    filters: Filters,
    *,
    metrics: Iterable[Metric] | None = None,
    by_day: bool = False,
) -> Counter[Key]:
    """The metrics of ``period`` under ``filters``, keyed like ``metrics.raw_counts``."""
    wanted = set(metrics) if metrics is not None else None
    if filters.narrows_contacts:
        start, end = period.bounds()
        rows = raw_counts(start, end, contacts=filters.contacts(), by_day=by_day, metrics=wanted)
    else:
        rows = rollup_counts(period.first, period.last, by_day=by_day, metrics=wanted)
    return Counter({key: value for key, value in rows.items() if _keep(key, filters)})


def totals(rows: Counter[Key]) -> Counter[str]:
    """Metric name → the sum over days and sources."""
    out: Counter[str] = Counter()
    for (_day, metric, _channel, _campaign), value in rows.items():
        out[metric] += value
    return out


def scope_q(filters: Filters, *, prefix: str = "", live: bool = True) -> Q:
    """The rows (of ``Contact``, or of a model reaching it through ``prefix``, e.g.
    ``"contact__"``) whose contact every filter leaves: live (unless ``live=False``), from the
    filtered channel and campaign (first touch), owned or segmented as filtered."""
    q = Q(**{f"{prefix}merged_into__isnull": True}) if live else Q()
    if filters.channel_id is not None:
        q &= Q(**{f"{prefix}first_touch_channel_id": filters.channel_id})
    if filters.campaign_id is not None:
        utm = (
            Campaign.objects.filter(pk=filters.campaign_id)
            .values_list("utm_campaign", flat=True)
            .first()
        )
        q &= Q(**{f"{prefix}first_touch__campaign": utm or ""})
    narrowed = filters.contacts()
    if narrowed is not None:
        q &= Q(**{f"{prefix}in" if prefix else "pk__in": narrowed.values("pk")})
    return q


def scope_contacts(filters: Filters, *, live: bool = True) -> QuerySet[Contact]:
    """The contacts every filter leaves (live ones only unless ``live=False``)."""
    return Contact.objects.filter(scope_q(filters, live=live))


def report_scope(user: User | AnonymousUser | None) -> ManagedScope | None:
    """Whose numbers ``user`` sees in the handoff and forecast reports: everyone's (``None``)
    for the system and whoever sees every report (``analytics.view_reports``); otherwise their
    own and those of the members of the teams they manage (a sales manager sees their team, a
    rep themselves)."""
    if user is None or user.has_perm(VIEW_REPORTS):
        return None
    return managed_scope(user)
