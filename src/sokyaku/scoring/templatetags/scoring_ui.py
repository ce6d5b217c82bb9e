"""``{% score_panel contact %}`` for the contact page: total, engagement today, fit, temperature,
when it cools down, and which rules gave which points (worth today)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from sokyaku.contacts.models import Contact
from sokyaku.scoring.selectors import score_breakdown

register = template.Library()


@register.simple_tag(takes_context=True)
def score_panel(context: template.Context, contact: Contact) -> SafeString:
    breakdown = score_breakdown(contact_id=contact.pk)
    return render_to_string(
        "scoring/panel.html",
        {"breakdown": breakdown, "contact": contact, "perms": context.get("perms")},
    )
