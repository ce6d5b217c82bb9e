"""``{% score_panel contact %}`` for the contact page: total, engagement today, fit, temperature,
when it cools down, and which rules gave which points (worth today); ``{{ value|score_points }}``
shows a score as every page shows it (``decay.points_shown``) and ``{{ band|temperature_label }}``
names its band."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from sokyaku.contacts.models import Contact
from sokyaku.scoring.decay import points_shown
from sokyaku.scoring.models import Temperature
from sokyaku.scoring.selectors import score_breakdown

register = template.Library()


@register.simple_tag(takes_context=True)
def score_panel(context: template.Context, contact: Contact) -> SafeString:
    breakdown = score_breakdown(contact_id=contact.pk)
    return render_to_string(
        "scoring/panel.html",
        {"breakdown": breakdown, "contact": contact, "perms": context.get("perms")},
    )


@register.filter
def score_points(value: float | None) -> int:
    """A score as shown everywhere: whole points, rounded down (the band is of this number)."""
    return points_shown(value or 0.0)


@register.filter
def temperature_label(value: str | None) -> str:
    """ホット / ウォーム / コールド for a band key (never the raw key)."""
    try:
        return str(Temperature(value or "").label)
    except ValueError:
        return ""
