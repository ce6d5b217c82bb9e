"""Reads owned by core: the users of this installation (owners, assignees)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet


def user_list(*, active_only: bool = True) -> QuerySet[User]:
    """Users by username; by default only those who can still sign in."""
    qs = User.objects.order_by("username")
    if active_only:
        qs = qs.filter(is_active=True)
    return qs
