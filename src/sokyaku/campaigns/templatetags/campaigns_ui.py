"""How money and months read on the channels pages."""

from __future__ import annotations

from datetime import date

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def yen(value: int | float | None) -> str:
    """¥1,234,567; an em dash for no value."""
    if value is None or value == "":
        return "—"
    return f"¥{round(value):,}"


@register.filter
def month_label(value: date | None) -> str:
    """2026年4月 in Japanese, 2026-04 otherwise."""
    if value is None:
        return ""
    if (get_language() or "").startswith("ja"):
        return f"{value.year}年{value.month}月"
    return f"{value:%Y-%m}"


@register.filter
def month_param(value: date) -> str:
    return f"{value:%Y-%m}"


@register.filter
def month_short(value: date) -> str:
    """4月 / Apr: a column head of the cost grid."""
    if (get_language() or "").startswith("ja"):
        return f"{value.month}月"
    return f"{value:%b}"
