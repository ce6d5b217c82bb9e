"""The template language of mail templates: a restricted subset of Django's.

Marketers write templates; they are data, not code. The mail engine (``rendering.py``) gets only
the tags and filters registered here (``Engine(builtins=[this module])`` with Django's default
builtins switched off), so there is no ``{% load %}``, ``{% include %}``, ``{% extends %}``,
``{% url %}``, ``{% now %}``, ``{% debug %}`` and no ``|safe``: a template cannot read files, reach
other templates, print the settings, or switch off escaping. ``ALLOWED_TAGS`` and
``ALLOWED_FILTERS`` are the documented list (docs/messaging.md, "Templates").

``engine`` builds such an engine; the mail engine and the chat notices' engine are both made by
it (mail with autoescaping, chat text without: it is plain text).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.template import Engine, Library, defaultfilters, defaulttags

register = Library()


class _RestrictedEngine(Engine):
    # Django's default builtins (load, include, url, now, debug, |safe …) are switched off.
    default_builtins = []  # noqa: RUF012 - the base class declares it so


def engine(*, autoescape: bool, debug: bool = False) -> Engine:
    """An engine with only this module's tags and filters, no libraries to load."""
    return _RestrictedEngine(
        debug=debug,
        autoescape=autoescape,
        string_if_invalid="",
        builtins=[__name__],
        libraries={},
    )


ALLOWED_TAGS = (
    "if",
    "for",
    "with",
    "firstof",
    "cycle",
    "ifchanged",
    "comment",
    "spaceless",
    "templatetag",
    "verbatim",
)
ALLOWED_FILTERS = (
    "add",
    "capfirst",
    "cut",
    "date",
    "default",
    "default_if_none",
    "divisibleby",
    "first",
    "floatformat",
    "join",
    "last",
    "length",
    "linebreaks",
    "linebreaksbr",
    "lower",
    "slice",
    "time",
    "title",
    "truncatechars",
    "truncatewords",
    "upper",
    "urlencode",
    "yesno",
)

for _name in ALLOWED_TAGS:
    register.tags[_name] = defaulttags.register.tags[_name]
for _name in ALLOWED_FILTERS:
    register.filters[_name] = defaultfilters.register.filters[_name]


@register.filter(is_safe=True)
def yen(value: Any) -> str:
    """Yen with thousands separators: ``12000|yen`` → ``¥12,000``; not a number → ``""``."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return ""
    return f"¥{amount:,.0f}"


ALL_FILTERS = (*ALLOWED_FILTERS, "yen")
