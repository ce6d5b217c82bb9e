"""``{% lifecycle_panel contact %}``: the contact's stage, the funnel, the history of moves, the
actions (move, recycle, disqualify) and BANT, for the contact page."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.auth.models import AnonymousUser

from sokyaku.contacts.models import Contact
from sokyaku.lifecycle.panel import panel_context

register = template.Library()


@register.inclusion_tag("lifecycle/_panel.html", takes_context=True)
def lifecycle_panel(context: template.Context, contact: Contact) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user") or AnonymousUser()
    values = panel_context(contact=contact, user=user)
    values["csrf_token"] = context.get("csrf_token")
    values["request"] = request
    return values
