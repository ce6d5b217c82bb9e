"""Row-level visibility: whose records a user may see.

A user with ``contacts.view_all_contacts`` (marketers, admins) sees everything. Anyone else (a
sales rep) sees the rows they own or are assigned; a team manager also sees their team's rows;
a member of a team that shares records sees every member's rows. Contacts (``owner``), handoffs
(``assignee``) and deals (``owner``) all filter through ``visible_owner_ids``, so a rep cannot
reach another rep's record by changing an id in a URL or an API call: the row is simply not
there for them (404).

An API key acts as the user who created it (``api_user``); a key without a creator (made on
the command line) acts for the installation and sees everything its scopes allow.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from django.http import HttpRequest

from sokyaku.core.models import ApiKey, TeamMember

SEE_ALL = "contacts.view_all_contacts"


def sees_all(user: User | AnonymousUser | None) -> bool:
    """Whether ``user`` (``None``: the system) sees every row."""
    return user is None or bool(user.has_perm(SEE_ALL))


def visible_owner_ids(user: User | AnonymousUser | None) -> frozenset[int] | None:
    """The owners whose rows ``user`` sees, or ``None`` when ``user`` sees every row."""
    if sees_all(user):
        return None
    assert user is not None
    if not user.is_authenticated or user.pk is None:
        return frozenset()
    ids = {int(user.pk)}
    teams = TeamMember.objects.filter(
        Q(team__manager_id=user.pk) | Q(user_id=user.pk, team__share_records=True)
    ).values_list("team_id", flat=True)
    ids.update(TeamMember.objects.filter(team_id__in=list(teams)).values_list("user_id", flat=True))
    from sokyaku.core.models import Team

    ids.update(
        Team.objects.filter(pk__in=list(teams), manager__isnull=False).values_list(
            "manager_id", flat=True
        )
    )
    return frozenset(ids)


def owner_q(user: User | AnonymousUser | None, field: str) -> Q:
    """A filter on ``field`` (an owner/assignee foreign key) for the rows ``user`` sees."""
    ids = visible_owner_ids(user)
    if ids is None:
        return Q()
    return Q(**{f"{field}__in": sorted(ids)})


def api_user(request: HttpRequest) -> User | None:
    """The user an API request acts as: the creator of its key, or ``None`` (the system)."""
    key: Any = getattr(request, "auth", None)
    if not isinstance(key, ApiKey) or key.created_by_id is None:
        return None
    user = key.created_by
    if user is None or not user.is_active:
        return None
    return user
