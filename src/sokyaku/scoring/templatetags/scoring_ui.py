"""``{% score_panel contact %}`` for the contact page."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from sokyaku.contacts.models import Contact

register = template.Library()


@register.simple_tag
def score_panel(contact: Contact) -> SafeString:
    return mark_safe("")
