"""Template helpers shared by every page: how a user and their role are shown."""

from __future__ import annotations

from django import template
from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext_lazy as _

from sokyaku.core import roles

register = template.Library()

ROLE_LABELS = {
    roles.ADMIN: _("Admin"),
    roles.MARKETER: _("Marketer"),
    roles.SALES_REP: _("Sales rep"),
}


@register.filter
def user_name(user: User | AnonymousUser | None) -> str:
    """The user's name surname first (as Japanese names are written), else the username."""
    if not isinstance(user, User):
        return ""
    return " ".join(p for p in (user.last_name, user.first_name) if p) or user.get_username()


@register.simple_tag
def role_label(user: User | AnonymousUser) -> str:
    """The translated name of the user's role (the first one, as users have one)."""
    if not isinstance(user, User):
        return ""
    names = set(user.groups.values_list("name", flat=True))
    for role in roles.ROLES:
        if role in names:
            return str(ROLE_LABELS[role])
    return ""


# A score's band as a reader sees it (the msgids are the scoring models' choice labels).
TEMPERATURE_LABELS = {"cold": _("Cold"), "warm": _("Warm"), "hot": _("Hot")}


@register.filter
def temperature_label(value: object) -> str:
    """ "hot" → ホット: the band's label, never the stored value."""
    return str(TEMPERATURE_LABELS.get(str(value), value))
