"""Template helpers for contact pages."""

from __future__ import annotations

from django import template

from sokyaku.contacts import normalize

register = template.Library()


@register.filter
def phone(e164: str) -> str:
    """An E.164 number as people in Japan write it (``090-1234-5678``)."""
    return normalize.phone_display(e164 or "")
