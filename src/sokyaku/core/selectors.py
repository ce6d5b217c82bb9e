"""Reads owned by core: the users of this installation (owners, assignees), their own chat
identities and the API keys a user may see."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import F, Max, QuerySet

from sokyaku.core.errors import NotFound
from sokyaku.core.models import ApiKey, StaffProfile, WorkerHeartbeat

# Whoever holds it sees every key, system keys included (admins).
SEE_ALL_KEYS = "core.view_apikey"


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


def apikey_list(*, user: User | AnonymousUser) -> QuerySet[ApiKey]:
    """The API keys ``user`` sees, active ones first, newest first, with their user joined:
    their own, or with ``core.view_apikey`` (admins) every key, system keys included."""
    rows = ApiKey.objects.select_related("created_by")
    if not user.has_perm(SEE_ALL_KEYS):
        rows = rows.filter(created_by_id=user.pk) if user.is_authenticated else rows.none()
    return rows.order_by(F("revoked_at").desc(nulls_first=True), "-created_at", "-pk")


def apikey_get(*, user: User | AnonymousUser, id: int) -> ApiKey:
    """One key ``user`` sees (``apikey_list``); ``NotFound`` otherwise, also for another user's
    key."""
    key = apikey_list(user=user).filter(pk=id).first()
    if key is None:
        raise NotFound(f"No API key with id {id}.")
    return key
