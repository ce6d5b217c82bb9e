"""Reads of the handoff app, permission-checked for the user asking.

Who sees which handoff: marketers and admins (``contacts.view_all_contacts``) see all; a rep sees
the handoffs assigned to the people whose records they see (``core.visibility``: their own, their
team's when it shares records or they manage it) and the unassigned handoffs in the queues of
their teams. Anything else is not there for them (``NotFound``), whatever id they try.
``user=None`` is the system (the API with an installation key) and sees everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)

from sokyaku.contacts.models import Contact
from sokyaku.core.errors import NotFound, PermissionDenied
from sokyaku.core.models import Team, TeamMember
from sokyaku.core.visibility import owner_q, visible_owner_ids
from sokyaku.handoff import alerts, routing
from sokyaku.handoff.alerts import Alert
from sokyaku.handoff.models import (
    Handoff,
    HandoffAssignment,
    HandoffStatus,
    HandoffTrigger,
    RoutingRule,
    SalesActivity,
    SlaState,
)
from sokyaku.handoff.routing import RouteResult
from sokyaku.messaging.models import Message, MessageStatus

AnyUser = User | AnonymousUser

__all__ = [
    "Alert",
    "RouteResult",
    "activity_list",
    "alert_compose",
    "handoff_for_contact",
    "handoff_get",
    "handoff_list",
    "handoff_open_for",
    "routing_preview",
    "routing_rule_list",
    "team_list",
    "trigger_list",
]


def _require(user: AnyUser | None, perm: str) -> None:
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied("You do not have permission to see handoffs.")


def _visible(qs: QuerySet[Handoff], user: AnyUser | None) -> QuerySet[Handoff]:
    ids = visible_owner_ids(user)
    if ids is None:
        return qs
    assert user is not None
    if not user.is_authenticated or user.pk is None:
        return qs.none()
    teams = set(TeamMember.objects.filter(user_id=user.pk).values_list("team_id", flat=True)) | set(
        Team.objects.filter(manager_id=user.pk).values_list("pk", flat=True)
    )
    return qs.filter(
        Q(assignee_id__in=sorted(ids)) | Q(assignee__isnull=True, team_id__in=sorted(teams))
    )


def handoff_list(
    *,
    user: AnyUser | None,
    status: str | None = None,
    assignee_id: int | None = None,
    queue: bool = False,
) -> QuerySet[Handoff]:
    """The handoffs ``user`` sees, newest first, with contact (company), assignee, trigger and
    team loaded. ``status`` (open/accepted/rejected), ``assignee_id`` and ``queue``
    (unassigned only) narrow it."""
    _require(user, "handoff.view_handoff")
    qs = _visible(
        Handoff.objects.select_related(
            "contact", "contact__company", "assignee", "trigger", "team"
        ),
        user,
    )
    if status:
        qs = qs.filter(status=status) if status in HandoffStatus.values else qs.none()
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if queue:
        qs = qs.filter(assignee__isnull=True)
    return qs.order_by("-created_at", "-id")


def handoff_get(*, user: AnyUser | None, id: int) -> Handoff:
    """One handoff with its moments and assignments; ``NotFound`` when ``user`` may not see
    it (another rep's handoff is not there for a rep)."""
    handoff = (
        handoff_list(user=user)
        .filter(pk=id)
        .select_related("routing_rule", "closed_by", "recycle_sequence", "event")
        .prefetch_related(
            "moments",
            Prefetch(
                "assignments",
                queryset=HandoffAssignment.objects.select_related("from_user", "to_user", "by"),
            ),
        )
        .first()
    )
    if handoff is None:
        raise NotFound(f"No handoff with id {id}.")
    return handoff


def handoff_open_for(*, contact_id: int) -> Handoff | None:
    """The contact's open handoff, if any (no permission check: for services and pages that
    checked the contact already)."""
    return (
        Handoff.objects.filter(contact_id=contact_id, status=HandoffStatus.OPEN)
        .select_related("assignee", "trigger", "team")
        .first()
    )


def handoff_for_contact(*, user: AnyUser | None, contact_id: int) -> list[Handoff]:
    """The contact's handoffs ``user`` sees, newest first."""
    return list(handoff_list(user=user).filter(contact_id=contact_id))


def activity_list(*, user: AnyUser | None, contact_id: int) -> QuerySet[SalesActivity]:
    """The sales activities logged on a contact, newest first. ``NotFound`` when ``user`` sees
    neither the contact (its owner) nor one of its handoffs."""
    _require(user, "handoff.view_salesactivity")
    contact = Contact.objects.filter(pk=contact_id, merged_into__isnull=True)
    if not (
        contact.filter(owner_q(user, "owner")).exists()
        or handoff_list(user=user).filter(contact_id=contact_id).exists()
    ):
        raise NotFound(f"No contact with id {contact_id}.")
    return (
        SalesActivity.objects.filter(contact_id=contact_id)
        .select_related("user", "handoff")
        .order_by("-occurred_at", "-id")
    )


def alert_compose(*, handoff: Handoff) -> Alert:
    """The sales alert for ``handoff`` as it was sent (Japanese): subject, text and its parts."""
    return alerts.alert_compose(handoff=handoff)


def trigger_list() -> QuerySet[HandoffTrigger]:
    """Every trigger, in order."""
    return HandoffTrigger.objects.order_by("position", "id")


def routing_rule_list() -> QuerySet[RoutingRule]:
    """Every routing rule, in the order they are tried, with team and person."""
    return RoutingRule.objects.select_related("team", "assignee").order_by("position", "id")


def team_list() -> QuerySet[Team]:
    """Every team with its manager and members (their users)."""
    return (
        Team.objects.select_related("manager")
        .prefetch_related(
            Prefetch("members", queryset=TeamMember.objects.select_related("user").order_by("id"))
        )
        .order_by("name")
    )


def routing_preview(*, contact: Contact) -> RouteResult:
    """Who would get ``contact`` now and why; nothing is written or locked."""
    from sokyaku.lifecycle import selectors as lifecycle_selectors

    stage = lifecycle_selectors.stage_get(contact_id=contact.pk)
    return routing.route(contact, lock=False, stage=stage)


# --- Operations (metrics) ----------------------------------------------------------------------


def handoff_sla_counts() -> dict[str, int]:
    """How many handoffs are in each SLA state (running, met, breached): one grouped count."""
    counts = dict(Handoff.objects.values_list("sla_state").annotate(n=Count("id")).order_by())
    return {state: counts.get(state, 0) for state in SlaState.values}


@dataclass(frozen=True)
class AlertSpeed:
    """Speed to lead of the sent sales alerts of one channel, as a cumulative histogram:
    ``buckets`` pairs each upper bound (seconds) with how many alerts went within it."""

    channel: str
    buckets: list[tuple[float, int]]
    count: int
    total_seconds: float


def alert_speed(*, bounds: Sequence[float]) -> list[AlertSpeed]:
    """From a handoff's creation to its alert being sent, per channel (mail, chat), over every
    sent alert: one grouped query, bucketed in the database.

    The alert is queued in the transaction that creates the handoff (``alerting.alert_send``,
    keys ``handoff:<id>:alert:…``), so its message's ``created_at`` is the handoff's creation
    and ``sent_at`` the moment the server accepted it. Follow-up alerts, reminders and
    escalations are not alerts of a new lead and are left out.
    """
    lag = ExpressionWrapper(F("sent_at") - F("created_at"), output_field=DurationField())
    per_bound = {
        f"le_{i}": Count("id", filter=Q(lag__lte=timedelta(seconds=bound)))
        for i, bound in enumerate(bounds)
    }
    rows = (
        Message.objects.filter(
            dedupe_key__startswith="handoff:",
            dedupe_key__contains=":alert:",
            status=MessageStatus.SENT,
            sent_at__isnull=False,
        )
        .annotate(lag=lag)
        .values("channel")
        .annotate(count=Count("id"), total=Sum("lag"), **per_bound)
        .order_by("channel")
    )
    return [
        AlertSpeed(
            channel=row["channel"],
            buckets=[(bound, row[f"le_{i}"]) for i, bound in enumerate(bounds)],
            count=row["count"],
            total_seconds=row["total"].total_seconds() if row["total"] is not None else 0.0,
        )
        for row in cast(Iterable[dict[str, Any]], rows)
    ]
