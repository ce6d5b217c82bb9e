"""Setting handoffs up: routing rules, teams and their members' away status, the alert settings.

A routing rule that can match nobody is refused when it is saved, with the field that makes it
so: a territory without prefectures, an industry rule without industries, a rule whose person is
inactive, a round-robin (or a territory/industry rule without a person) whose team has no active
member. Rules are tried in ``position`` order; ``routing_rule_move`` swaps neighbours.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from sokyaku.contacts.models import Industry
from sokyaku.contacts.prefectures import PREFECTURES
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, ValidationError
from sokyaku.core.models import Team, TeamMember
from sokyaku.handoff.models import HandoffSettings, RoutingRule, RuleKind
from sokyaku.handoff.services import alerting
from sokyaku.messaging.models import ChatChannel

logger = logging.getLogger(__name__)

_PREFECTURE_CODES = frozenset(code for code, _ja, _en in PREFECTURES)
NAME_MAX = 100


def _user(value: Any, field: str) -> User | None:
    if value in (None, ""):
        return None
    if isinstance(value, User):
        return value
    try:
        found = User.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ValidationError("Unknown user.", field_errors={field: "unknown user"})
    return found


def _team(value: Any, field: str = "team") -> Team | None:
    if value in (None, ""):
        return None
    if isinstance(value, Team):
        return value
    try:
        found = Team.objects.filter(pk=int(value)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise ValidationError("Unknown team.", field_errors={field: "unknown team"})
    return found


def _has_active_member(team: Team) -> bool:
    return TeamMember.objects.filter(team=team, user__is_active=True).exists()


def _name(raw: Any) -> str:
    name = str(raw or "").strip()
    if not name:
        raise ValidationError("A name is required.", field_errors={"name": "required"})
    if len(name) > NAME_MAX:
        raise ValidationError(
            f"The name is longer than {NAME_MAX} characters.",
            field_errors={"name": f"at most {NAME_MAX} characters"},
        )
    return name


def _prefectures(raw: Any) -> list[int]:
    codes: list[int] = []
    for value in raw or ():
        try:
            code = int(value)
        except (TypeError, ValueError):
            code = 0
        if code not in _PREFECTURE_CODES:
            raise ValidationError(
                f"Unknown prefecture: {value}.", field_errors={"prefectures": "unknown prefecture"}
            )
        if code not in codes:
            codes.append(code)
    return sorted(codes)


def _industries(raw: Any) -> list[str]:
    values: list[str] = []
    for value in raw or ():
        text = str(value)
        if text not in Industry.values:
            raise ValidationError(
                f"Unknown industry: {value}.", field_errors={"industries": "unknown industry"}
            )
        if text not in values:
            values.append(text)
    return sorted(values)


def _rule_clean(data: Mapping[str, Any], rule: RoutingRule | None) -> dict[str, Any]:
    current: dict[str, Any] = (
        {
            "name": rule.name,
            "kind": rule.kind,
            "prefectures": rule.prefectures,
            "industries": rule.industries,
            "team": rule.team,
            "assignee": rule.assignee,
            "is_active": rule.is_active,
        }
        if rule is not None
        else {}
    )
    merged = {**current, **data}
    name = _name(merged.get("name"))
    kind = str(merged.get("kind") or "")
    if kind not in RuleKind.values:
        raise ValidationError(
            "Choose what the rule routes by.",
            field_errors={"kind": f"one of {', '.join(RuleKind.values)}"},
        )
    prefectures = _prefectures(merged.get("prefectures")) if kind == RuleKind.TERRITORY else []
    industries = _industries(merged.get("industries")) if kind == RuleKind.INDUSTRY else []
    team = _team(merged.get("team")) if kind != RuleKind.ACCOUNT_OWNER else None
    assignee = (
        _user(merged.get("assignee"), "assignee")
        if kind in (RuleKind.TERRITORY, RuleKind.INDUSTRY)
        else None
    )
    if kind == RuleKind.TERRITORY and not prefectures:
        raise ValidationError(
            "A territory rule without prefectures matches nobody.",
            field_errors={"prefectures": "Choose at least one prefecture."},
        )
    if kind == RuleKind.INDUSTRY and not industries:
        raise ValidationError(
            "An industry rule without industries matches nobody.",
            field_errors={"industries": "Choose at least one industry."},
        )
    if assignee is not None and not assignee.is_active:
        raise ValidationError(
            "The rule's person is inactive: the rule would give leads to nobody.",
            field_errors={"assignee": "This user is inactive."},
        )
    needs_team = kind == RuleKind.ROUND_ROBIN or (
        kind in (RuleKind.TERRITORY, RuleKind.INDUSTRY) and assignee is None
    )
    if needs_team and team is None:
        raise ValidationError(
            "Say who gets the leads: a person or a team to take turns.",
            field_errors={"team": "Choose a team (or a person)."},
        )
    if needs_team and team is not None and not _has_active_member(team):
        raise ValidationError(
            "The team has no active member: the rule would give leads to nobody.",
            field_errors={"team": "The team has no active member."},
        )
    return {
        "name": name,
        "kind": kind,
        "prefectures": prefectures,
        "industries": industries,
        "team": team,
        "assignee": assignee,
        "is_active": bool(merged.get("is_active", True)),
    }


def routing_rule_save(
    *, rule: RoutingRule | None, data: Mapping[str, Any], actor: User | None
) -> RoutingRule:
    """Create (``rule=None``, placed last unless ``position`` is given) or update a routing rule.

    ``data``: name, kind, prefectures (codes), industries (JSIC letters), team and assignee
    (instances or ids), is_active, position. Fields a kind does not use are cleared. Raises
    ``ValidationError`` naming the field when the rule could match nobody (see the module
    docstring) or an id is unknown.
    """
    values = _rule_clean(data, rule)
    with transaction.atomic():
        if rule is None:
            last = RoutingRule.objects.aggregate(m=Max("position"))["m"]
            rule = RoutingRule(created_at=clock.now(), position=0 if last is None else last + 1)
        if data.get("position") not in (None, ""):
            try:
                rule.position = max(0, int(data["position"]))
            except (TypeError, ValueError):
                raise ValidationError(
                    "The position is a number.", field_errors={"position": "a number"}
                ) from None
        for key, value in values.items():
            setattr(rule, key, value)
        rule.save()
    logger.info("handoff.rule_saved", extra={"rule": rule.pk, "actor": actor.pk if actor else None})
    return rule


def routing_rule_delete(*, rule: RoutingRule, actor: User | None) -> None:
    """Delete a routing rule (handoffs it routed keep their routing note)."""
    pk = rule.pk
    rule.delete()
    logger.info("handoff.rule_deleted", extra={"rule": pk, "actor": actor.pk if actor else None})


def routing_rule_move(*, rule: RoutingRule, up: bool, actor: User | None) -> None:
    """Swap ``rule`` with the rule tried just before it (``up``) or just after it."""
    with transaction.atomic():
        rules = list(RoutingRule.objects.select_for_update().order_by("position", "id"))
        index = next((i for i, r in enumerate(rules) if r.pk == rule.pk), None)
        if index is None:
            raise Conflict("This routing rule no longer exists.")
        other = index - 1 if up else index + 1
        if not 0 <= other < len(rules):
            return
        rules[index], rules[other] = rules[other], rules[index]
        for position, item in enumerate(rules):
            if item.position != position:
                item.position = position
                item.save(update_fields=["position"])
    rule.refresh_from_db(fields=["position"])


# --- teams ---------------------------------------------------------------------------------------


def team_save(
    *,
    team: Team | None,
    name: str,
    manager: User | int | None,
    share_records: bool,
    member_ids: Iterable[int],
    actor: User | None,
) -> Team:
    """Create or update a team and set its members exactly to ``member_ids`` (a member who
    stays keeps their away status and place in the round-robin). Raises ``ValidationError``
    for a missing or used name, an unknown or inactive manager or member."""
    clean_name = _name(name)
    manager_user = _user(manager, "manager")
    if manager_user is not None and not manager_user.is_active:
        raise ValidationError(
            "The manager is inactive.", field_errors={"manager": "This user is inactive."}
        )
    ids = sorted({int(pk) for pk in member_ids})
    users = {u.pk: u for u in User.objects.filter(pk__in=ids)}
    missing = [pk for pk in ids if pk not in users]
    if missing:
        raise ValidationError(
            "Unknown user.", field_errors={"member_ids": f"unknown user {missing[0]}"}
        )
    inactive = [u for u in users.values() if not u.is_active]
    if inactive:
        raise ValidationError(
            f"{inactive[0].get_username()} is inactive.",
            field_errors={"member_ids": f"{inactive[0].get_username()} is inactive"},
        )
    duplicate = Team.objects.filter(name=clean_name)
    if team is not None:
        duplicate = duplicate.exclude(pk=team.pk)
    if duplicate.exists():
        raise ValidationError("Another team has this name.", field_errors={"name": "already used"})
    now = clock.now()
    with transaction.atomic():
        if team is None:
            team = Team(created_at=now)
        team.name = clean_name
        team.manager = manager_user
        team.share_records = bool(share_records)
        team.save()
        TeamMember.objects.filter(team=team).exclude(user_id__in=ids).delete()
        present = set(TeamMember.objects.filter(team=team).values_list("user_id", flat=True))
        TeamMember.objects.bulk_create(
            [TeamMember(team=team, user_id=pk, joined_at=now) for pk in ids if pk not in present]
        )
    logger.info("handoff.team_saved", extra={"team": team.pk, "actor": actor.pk if actor else None})
    return team


def team_delete(*, team: Team, actor: User | None) -> None:
    """Delete a team and its memberships. Raises ``Conflict`` while a routing rule uses it."""
    if RoutingRule.objects.filter(team=team).exists():
        raise Conflict("A routing rule uses this team: change or delete the rule first.")
    pk = team.pk
    team.delete()
    logger.info("handoff.team_deleted", extra={"team": pk, "actor": actor.pk if actor else None})


def member_away_set(
    *, member: TeamMember, is_away: bool, away_until: datetime | None, actor: User | None
) -> TeamMember:
    """Take a member out of the round-robin (until ``away_until``, or until they are back) or
    put them back. Raises ``ValidationError`` for an end that is not in the future."""
    if is_away and away_until is not None and away_until <= clock.now():
        raise ValidationError(
            "The end of the absence must be in the future.",
            field_errors={"away_until": "in the future"},
        )
    member.is_away = bool(is_away)
    member.away_until = away_until if is_away else None
    member.save(update_fields=["is_away", "away_until"])
    logger.info(
        "handoff.member_away",
        extra={"member": member.pk, "away": member.is_away, "actor": actor.pk if actor else None},
    )
    return member


# --- settings ------------------------------------------------------------------------------------


def handoff_settings_get() -> HandoffSettings:
    """The single settings row (created on first use)."""
    return alerting.settings_row()


def handoff_settings_save(
    *,
    alert_chat_channel: ChatChannel | int | None,
    queue_notify: User | int | None,
    actor: User | None,
) -> HandoffSettings:
    """Set the chat channel every alert is also posted to and who hears about unassigned
    handoffs (instances or ids; ``None`` clears). Raises ``ValidationError`` for an unknown
    channel or user, or an inactive user."""
    channel: ChatChannel | None
    if alert_chat_channel in (None, ""):
        channel = None
    elif isinstance(alert_chat_channel, ChatChannel):
        channel = alert_chat_channel
    else:
        try:
            channel = ChatChannel.objects.filter(pk=int(alert_chat_channel)).first()
        except (TypeError, ValueError):
            channel = None
        if channel is None:
            raise ValidationError(
                "Unknown chat channel.", field_errors={"alert_chat_channel": "unknown channel"}
            )
    user = _user(queue_notify, "queue_notify")
    if user is not None and not user.is_active:
        raise ValidationError(
            "This user is inactive.", field_errors={"queue_notify": "This user is inactive."}
        )
    row = alerting.settings_row()
    row.alert_chat_channel = channel
    row.queue_notify = user
    row.save(update_fields=["alert_chat_channel", "queue_notify"])
    logger.info("handoff.settings_saved", extra={"actor": actor.pk if actor else None})
    return row
