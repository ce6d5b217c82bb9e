"""Template helpers shared by every page: how a user and their role are shown, and the menu."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext_lazy as _

from sokyaku.core import navigation, roles

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


@register.simple_tag(takes_context=True)
def main_menu(context: Any) -> navigation.Menu:
    """The top bar's menu for the signed-in user on the current page."""
    request = context.get("request")
    if request is None:
        return navigation.Menu()
    return navigation.menu_for(user=request.user, match=request.resolver_match)
