"""Row-level visibility: whose records a user may see.

A user with ``contacts.view_all_contacts`` (marketers, admins) sees everything. Anyone else (a
sales rep) sees the rows they own or are assigned; a team manager also sees their team's rows;
a member of a team that shares records sees every member's rows. Contacts (``owner``), handoffs
(``assignee``) and deals (``owner``) all filter through ``visible_owner_ids``, so a rep cannot
reach another rep's record by changing an id in a URL or an API call: the row is simply not
there for them (404).

Reports on people's work (the handoff report, forecast against quota) are narrower than records:
a user who does not see every report sees their own numbers and those of the members of the
teams they manage (``managed_scope``), not those of a team that merely shares records.

An API key acts as the user it belongs to (``api_user``); a system key (made as one on the
command line, ``ApiKey.is_system``) acts for the installation and sees everything its scopes
allow. A user's keys are deleted with the user and refused while the user is deactivated
(``core.apikeys``); a key never becomes a key of the installation by losing its user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from django.http import HttpRequest

from sokyaku.core.errors import PermissionDenied
from sokyaku.core.models import ApiKey, Team, TeamMember

SEE_ALL = "contacts.view_all_contacts"


def sees_all(user: User | AnonymousUser | None) -> bool:
    """Whether ``user`` (``None``: the system) sees every row."""
    return user is None or bool(user.has_perm(SEE_ALL))


def visible_owner_ids(user: User | AnonymousUser | None) -> frozenset[int] | None:
    """The owners whose rows ``user`` sees, or ``None`` when ``user`` sees every row.

    Two queries for a user who does not see everything, none for one who does.
    """
    if sees_all(user):
        return None
    assert user is not None
    if not user.is_authenticated or user.pk is None or not user.is_active:
        return frozenset()
    # Teams whose rows the user sees: those they manage, and those sharing records they are in.
    teams = Team.objects.filter(
        Q(manager_id=user.pk) | Q(members__user_id=user.pk, share_records=True)
    ).values("pk")
    ids = {int(user.pk)}
    rows = TeamMember.objects.filter(team_id__in=teams).values_list("user_id", "team__manager_id")
    for member_id, manager_id in rows:
        ids.add(member_id)
        if manager_id is not None:
            ids.add(manager_id)
    # A manager of a team without members still sees their own rows only (``ids``).
    return frozenset(ids)


@dataclass(frozen=True)
class ManagedScope:
    """Whose numbers a user sees in a team report: ``user_ids`` are the user and the members of
    the teams they manage, ``team_ids`` those teams (their queues of unassigned handoffs)."""

    user_ids: frozenset[int]
    team_ids: frozenset[int]
    own_id: int | None = None

    @property
    def managed_ids(self) -> frozenset[int]:
        """The members of the teams the user manages, the user left out."""
        return self.user_ids - {self.own_id} if self.own_id is not None else self.user_ids


def managed_scope(user: User | AnonymousUser) -> ManagedScope:
    """The user and the members of the teams they manage (one query). Nobody for an anonymous
    or deactivated user."""
    if not user.is_authenticated or user.pk is None or not user.is_active:
        return ManagedScope(user_ids=frozenset(), team_ids=frozenset())
    ids = {int(user.pk)}
    teams: set[int] = set()
    for team_id, member_id in Team.objects.filter(manager_id=user.pk).values_list(
        "pk", "members__user_id"
    ):
        teams.add(team_id)
        if member_id is not None:
            ids.add(member_id)
    return ManagedScope(user_ids=frozenset(ids), team_ids=frozenset(teams), own_id=int(user.pk))


def owner_q(user: User | AnonymousUser | None, field: str) -> Q:
    """A filter on ``field`` (an owner/assignee foreign key) for the rows ``user`` sees."""
    ids = visible_owner_ids(user)
    if ids is None:
        return Q()
    return Q(**{f"{field}__in": sorted(ids)})


def owner_visible(user: User | AnonymousUser | None, owner_id: int | None) -> bool:
    """Whether ``user`` sees a row owned by ``owner_id`` (a row without owner: only those who
    see everything)."""
    ids = visible_owner_ids(user)
    return ids is None or (owner_id is not None and owner_id in ids)


def api_user(request: HttpRequest) -> User | None:
    """The user an API request acts as: the user its key belongs to, or ``None`` for a system
    key (the installation)."""
    key: Any = getattr(request, "auth", None)
    if not isinstance(key, ApiKey) or key.is_system:
        return None
    if key.created_by_id is None:
        # Authentication refuses a key with neither a user nor the system flag already.
        raise PermissionDenied("This API key belongs to no user.")
    return key.created_by


def api_key(request: HttpRequest) -> ApiKey | None:
    """The API key a request was authenticated with (for the data-access log)."""
    key: Any = getattr(request, "auth", None)
    return key if isinstance(key, ApiKey) else None
