"""What every Japanese page must pass in the browser, whatever the screen: no sideways
scrolling of the page, no raw stored values (``best_case``, ``forecast:write``) and no English
words in its visible text, apart from the Latin abbreviations Japanese B2B teams write."""

from __future__ import annotations

import re
from typing import Any

# Latin words a Japanese page may show: abbreviations, the product's name and the language
# switch's own label for English.
LATIN_ALLOWED = frozenset(
    {"API", "ID", "SLA", "KPI", "CSV", "XLSX", "CRM", "Web", "sokyaku", "English", "JSON", "BANT"}
)
_RAW_VALUE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|\b[a-z]+:(?:read|write)\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")


def sideways_overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0: it fits)."""
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


def foreign_text(page: Any) -> list[str]:
    """Raw values and English words in the page's visible text."""
    text = page.evaluate("document.body.innerText")
    raw = _RAW_VALUE.findall(text)
    english = [word for word in _WORD.findall(text) if word not in LATIN_ALLOWED]
    return raw + english
