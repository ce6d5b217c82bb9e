"""Template filters of the capture screens: reading submitted answers, which are JSON values
(text, numbers, yes/no, lists) keyed by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``mapping[key]``, or ``""`` (labels of a form's fields by key)."""
    return mapping.get(key, "") if isinstance(mapping, Mapping) else ""


@register.filter
def join_list(value: Any) -> Any:
    """A list answer (checkboxes) as one line; anything else as it is."""
    if isinstance(value, list):
        separator = "、" if (get_language() or "").startswith("ja") else ", "
        return separator.join(str(v) for v in value)
    return value
