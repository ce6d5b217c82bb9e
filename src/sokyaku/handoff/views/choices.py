"""What the pickers of the handoff pages offer, read through the owning apps' selectors, and
the lookups that turn a picked id back into its row."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Q

from sokyaku.core import selectors as core_selectors
from sokyaku.core.models import Team, TeamMember
from sokyaku.core.templatetags.sokyaku_ui import user_name
from sokyaku.handoff import selectors
from sokyaku.handoff.models import HandoffTrigger
from sokyaku.messaging import selectors as messaging_selectors
from sokyaku.messaging.models import ChatChannel
from sokyaku.sequences import selectors as sequence_selectors
from sokyaku.sequences.models import Sequence, SequenceStatus

Pairs = list[tuple[int, str]]


def _label(user: User) -> str:
    name = user_name(user)
    return name if name == user.get_username() else f"{name} ({user.get_username()})"


def workers() -> list[User]:
    """Active users who can work handoffs (reps, admins): the candidates for an assignment."""
    perm_q = Q(is_superuser=True)
    for prefix in ("groups__permissions__", "user_permissions__"):
        perm_q |= Q(
            **{f"{prefix}codename": "change_handoff", f"{prefix}content_type__app_label": "handoff"}
        )
    return list(core_selectors.user_list().filter(perm_q).distinct())


def worker_pairs() -> Pairs:
    return [(int(user.pk), _label(user)) for user in workers()]


def user_pairs() -> Pairs:
    """Every active user (for team membership, managers and notifications)."""
    return [(int(user.pk), _label(user)) for user in core_selectors.user_list()]


def user_find(user_id: int | None) -> User | None:
    """The user with this id, active or not (services decide who may be picked)."""
    if not user_id:
        return None
    return core_selectors.user_list(active_only=False).filter(pk=user_id).first()


def trigger_pairs() -> Pairs:
    return [(t.pk, t.name) for t in selectors.trigger_list().only("id", "name")]


def trigger_find(trigger_id: int) -> HandoffTrigger | None:
    return selectors.trigger_list().filter(pk=trigger_id).first()


def team_pairs() -> Pairs:
    return [(t.pk, t.name) for t in selectors.team_list()]


def team_find(team_id: int | None) -> Team | None:
    if not team_id:
        return None
    return next((t for t in selectors.team_list() if t.pk == team_id), None)


def member_find(member_id: int) -> TeamMember | None:
    for team in selectors.team_list():
        for member in team.members.all():
            if member.pk == member_id:
                return member
    return None


def nurture_sequences() -> list[Sequence]:
    """Active sequences a rejected lead can be recycled into."""
    return list(
        sequence_selectors.manual_sequences()
        .filter(status=SequenceStatus.ACTIVE)
        .only("id", "name")
    )


def sequence_find(sequence_id: int | None) -> Sequence | None:
    if not sequence_id:
        return None
    return next((s for s in nurture_sequences() if s.pk == sequence_id), None)


def chat_channels() -> list[ChatChannel]:
    return list(messaging_selectors.chat_channel_list(user=None).filter(is_active=True))
