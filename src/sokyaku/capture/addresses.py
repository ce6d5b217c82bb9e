"""Public addresses (slugs) of forms (``/f/<slug>``) and landing pages (``/p/<slug>``).

An address is lower-case letters, digits and hyphens. When the one asked for is taken, the
first free numbered variant is used instead (``seminar`` → ``seminar-2``), the way blog
engines name their pages: saving never fails on a clash, and the answer tells the address used.
"""

from __future__ import annotations

import secrets

from django.db.models import Model
from django.utils.text import slugify

MAX_LENGTH = 80
RESERVED = frozenset({"confirm"})  # /f/confirm/<token> is the double opt-in link


def address_valid(slug: str) -> bool:
    return bool(slug) and len(slug) <= MAX_LENGTH and slugify(slug) == slug and slug not in RESERVED


def address_from(text: str, *, fallback: str) -> str:
    """An address made from a name or title (``Spring Seminar`` → ``spring-seminar``); a name
    with nothing to make one from (Japanese) gets ``<fallback>-<random>``."""
    base = slugify(text)[:60].strip("-")
    return base if address_valid(base) else f"{fallback}-{secrets.token_hex(3)}"


def address_free(*, model: type[Model], slug: str, exclude_pk: int | None = None) -> str:
    """``slug``, or its first free numbered variant among ``model``'s rows."""
    rows = model._default_manager.filter(slug__startswith=slug)
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    taken = set(rows.values_list("slug", flat=True))
    if slug not in taken:
        return slug
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = slug[: MAX_LENGTH - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        number += 1
