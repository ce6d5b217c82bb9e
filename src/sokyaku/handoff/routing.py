"""Who gets a lead: the routing rules, tried in ``position`` order.

- **account owner**: the company's owner, else the contact's owner;
- **territory**: the contact's prefecture (else its company's) is one of the rule's prefectures;
- **industry**: the company's industry is one of the rule's industries;
  (territory and industry give the lead to the rule's ``assignee``, or round-robin in its team)
- **round-robin**: the team member assigned longest ago (never assigned first) who is active
  and not away;
- **queue**: nobody yet — the team's queue, or the general queue without a team.

A rule whose person is inactive or away, or whose team has nobody available, yields nothing and
the next rule is tried; when no rule yields anything the lead goes to the general queue.

``route(lock=True)`` (handoff creation) locks the team row while it picks in a round-robin, so
two handoffs created at once go to two different reps; ``lock=False`` only looks (the routing
preview). The caller records the pick with ``round_robin_mark``.

Routing notes ("Territory: 東京都 → 田中 健太") are written in the active language through
gettext; services store them in the default language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import F, Max, Q
from django.utils.translation import gettext as _

from sokyaku.contacts.models import Contact, Industry
from sokyaku.contacts.prefectures import prefecture_name
from sokyaku.core import clock
from sokyaku.core.models import Team, TeamMember
from sokyaku.handoff.models import RoutingRule, RuleKind
from sokyaku.lifecycle.models import Stage

# Stages in which a contact already belongs to a rep.
OWNED_STAGES = frozenset({"sql", "opportunity", "customer", "advocate"})


@dataclass(frozen=True)
class RouteResult:
    """Who would get a contact (``assignee`` None: a queue), in which team, by which rule, why.

    ``member`` is the team membership a round-robin picked (its ``last_assigned_at`` moves).
    """

    assignee: User | None
    team: Team | None
    rule: RoutingRule | None
    note: str
    member: TeamMember | None = None


def user_label(user: User | None) -> str:
    """A person's name as reps see it: surname first, else the user name."""
    if user is None:
        return ""
    name = " ".join(part for part in (user.last_name, user.first_name) if part)
    return name or user.get_username()


def away_q(at: datetime, prefix: str = "") -> Q:
    """Memberships that are away at ``at``: flagged away, with no end or an end still ahead."""
    return Q(**{f"{prefix}is_away": True}) & (
        Q(**{f"{prefix}away_until__isnull": True}) | Q(**{f"{prefix}away_until__gt": at})
    )


def user_available(user: User | None, *, at: datetime) -> bool:
    """Active and not away in any team."""
    if user is None or not user.is_active:
        return False
    return not TeamMember.objects.filter(away_q(at), user_id=user.pk).exists()


def team_available_members(team: Team, *, at: datetime) -> list[TeamMember]:
    """The members who can take a lead now, next in turn first."""
    return list(
        TeamMember.objects.filter(team=team, user__is_active=True)
        .exclude(away_q(at))
        .select_related("user")
        .order_by(F("last_assigned_at").asc(nulls_first=True), "joined_at", "id")
    )


def _round_robin(rule: RoutingRule, team: Team, *, at: datetime, lock: bool) -> RouteResult | None:
    if lock:
        # Serialises round-robins of one team: the second handoff sees the first one's pick.
        Team.objects.select_for_update().filter(pk=team.pk).first()
    members = team_available_members(team, at=at)
    if not members:
        return None
    member = members[0]
    note = _("Round-robin in %(team)s → %(name)s") % {
        "team": team.name,
        "name": user_label(member.user),
    }
    return RouteResult(assignee=member.user, team=team, rule=rule, note=note, member=member)


def _person_or_team(
    rule: RoutingRule, label: str, *, at: datetime, lock: bool
) -> RouteResult | None:
    """The rule's assignee when available, else a round-robin in its team."""
    if rule.assignee is not None and user_available(rule.assignee, at=at):
        note = f"{label} → {user_label(rule.assignee)}"
        return RouteResult(assignee=rule.assignee, team=rule.team, rule=rule, note=note)
    if rule.team is not None:
        picked = _round_robin(rule, rule.team, at=at, lock=lock)
        if picked is not None:
            team = _("%(team)s (round-robin)") % {"team": rule.team.name}
            return RouteResult(
                assignee=picked.assignee,
                team=picked.team,
                rule=rule,
                note=f"{label} → {team} → {user_label(picked.assignee)}",
                member=picked.member,
            )
    return None


def _account_owner(rule: RoutingRule, contact: Contact, *, at: datetime) -> RouteResult | None:
    company = contact.company
    if company is not None and company.owner is not None and user_available(company.owner, at=at):
        note = _("Account owner of %(company)s → %(name)s") % {
            "company": company.name,
            "name": user_label(company.owner),
        }
        return RouteResult(assignee=company.owner, team=None, rule=rule, note=note)
    if contact.owner is not None and user_available(contact.owner, at=at):
        note = _("Contact owner → %(name)s") % {"name": user_label(contact.owner)}
        return RouteResult(assignee=contact.owner, team=None, rule=rule, note=note)
    return None


def contact_prefecture(contact: Contact) -> int | None:
    """Where a lead is: the contact's prefecture, else its company's."""
    if contact.prefecture:
        return contact.prefecture
    return contact.company.prefecture if contact.company else None


def _try(rule: RoutingRule, contact: Contact, *, at: datetime, lock: bool) -> RouteResult | None:
    if rule.kind == RuleKind.ACCOUNT_OWNER:
        return _account_owner(rule, contact, at=at)
    if rule.kind == RuleKind.TERRITORY:
        prefecture = contact_prefecture(contact)
        if prefecture is None or prefecture not in set(rule.prefectures or ()):
            return None
        label = _("Territory: %(prefecture)s") % {"prefecture": prefecture_name(prefecture)}
        return _person_or_team(rule, label, at=at, lock=lock)
    if rule.kind == RuleKind.INDUSTRY:
        industry = contact.company.industry if contact.company else ""
        if not industry or industry not in set(rule.industries or ()):
            return None
        label = _("Industry: %(industry)s") % {"industry": Industry(industry).label}
        return _person_or_team(rule, label, at=at, lock=lock)
    if rule.kind == RuleKind.ROUND_ROBIN:
        return _round_robin(rule, rule.team, at=at, lock=lock) if rule.team else None
    if rule.kind == RuleKind.QUEUE:
        if rule.team is not None:
            note = _("Queue of %(team)s") % {"team": rule.team.name}
        else:
            note = _("General queue")
        return RouteResult(assignee=None, team=rule.team, rule=rule, note=note)
    return None


def active_rules() -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(is_active=True)
        .select_related("team", "assignee")
        .order_by("position", "id")
    )


def route(
    contact: Contact,
    *,
    lock: bool,
    at: datetime | None = None,
    stage: str = "",
    rules: Iterable[RoutingRule] | None = None,
) -> RouteResult:
    """Who gets ``contact`` now (see the module docstring); reads ``contact.company`` and
    ``contact.owner``. Writes nothing.

    A contact already in sales' hands (``stage`` SQL, opportunity, customer or advocate) goes to
    its owner when the owner can take it: a customer's hot action is their rep's business.
    """
    at = at or clock.now()
    if stage in OWNED_STAGES and user_available(contact.owner, at=at):
        note = _("Already with sales (%(stage)s) → %(name)s") % {
            "stage": Stage(stage).label,
            "name": user_label(contact.owner),
        }
        return RouteResult(assignee=contact.owner, team=None, rule=None, note=note)
    for rule in active_rules() if rules is None else rules:
        result = _try(rule, contact, at=at, lock=lock)
        if result is not None:
            return result
    return RouteResult(
        assignee=None, team=None, rule=None, note=_("No rule matched → general queue")
    )


def round_robin_mark(result: RouteResult, *, at: datetime) -> None:
    """Record that a round-robin pick was used: that member goes to the end of the turn (after
    everyone assigned before, even within the same instant)."""
    member = result.member
    if member is None:
        return
    newest = (
        TeamMember.objects.filter(team_id=member.team_id)
        .aggregate(newest=Max("last_assigned_at"))
        .get("newest")
    )
    if newest is not None and newest >= at:
        at = newest + timedelta(microseconds=1)
    TeamMember.objects.filter(pk=member.pk).update(last_assigned_at=at)
