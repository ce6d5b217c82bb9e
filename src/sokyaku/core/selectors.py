"""Reads owned by core: the users of this installation (owners, assignees) and their own chat
identities."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Max, QuerySet

from sokyaku.core.models import StaffProfile, WorkerHeartbeat


def user_list(*, active_only: bool = True) -> QuerySet[User]:
    """Users by username; by default only those who can still sign in."""
    qs = User.objects.order_by("username")
    if active_only:
        qs = qs.filter(is_active=True)
    return qs


def staff_identity(*, user: User) -> StaffProfile | None:
    """``user``'s chat identities (Slack member id, LINE user id), or ``None`` when never set."""
    return StaffProfile.objects.filter(user=user).first()


def worker_heartbeat_latest() -> datetime | None:
    """When a worker last beat (any worker; ``None`` before the first beat)."""
    return WorkerHeartbeat.objects.aggregate(latest=Max("beat_at"))["latest"]
