"""Template filters of the report pages: speed to lead as a duration, a signed yen difference.

An undefined value (a rate over zero, a median without any touched handoff) shows as a dash,
never as 0 — "no data" is not "zero per cent"."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()

DASH = "—"


@register.filter
def yen_diff(value: int | None) -> str:
    """A difference in yen with its sign: "+¥500,000", "−¥600,000", "¥0"."""
    if value is None or value == "":
        return DASH
    amount = round(value)
    sign = "+" if amount > 0 else "−" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,}"


@register.filter
def minutes(value: float | None) -> str:
    """A duration given in minutes, in the largest units that read well: "45 min",
    "3 h 20 min", "2 d 4 h"; ``None`` → a dash."""
    if value is None or value == "":
        return DASH
    total = round(float(value))
    if total < 60:
        return _("%(m)d min") % {"m": total}
    hours, mins = divmod(total, 60)
    if hours < 24:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": mins}
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
