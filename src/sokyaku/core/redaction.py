"""Taking a person's strings out of stored text, URLs and JSON (a data-subject erasure).

A ``Redactor`` holds the strings that identify one person — *strong* ones that name them alone
(their email, phone number, full name and its reading) and *weak* ones that only mean them in
rows already known to be theirs (a surname, a title, a department) — and answers, for any stored
value, whether it holds one of them and what the value is without it:

- plain text that holds one is emptied (a note, a subject: what is left of it would still be
  about the person);
- a URL keeps what carries no personal data: its query parameters that hold none (UTM stays), its
  path when that holds none, its host;
- JSON is walked: keys that name free text (``drop_keys``) go, strings are treated as text or
  URL, numbers and booleans stay.

Matching is case-insensitive on the NFKC form, and sees percent-encoded and JSON-escaped text
(``taro%40example.jp``) as what it stands for, so an address in a query string is found. The
same redactor serves every app, so the rule of what is "the person's" is written once.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit, urlunsplit

# Digits of a phone number are matched in the digits of a value, so "03-1234-5678" is found in
# "(03) 1234 5678"; fewer digits than this would match numbers that are not the person's.
_PHONE_DIGITS_MIN = 9
_URL_RE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold()


def _meaningful(value: str, shortest: int) -> bool:
    text = _fold(value).strip()
    if len(text) < shortest or text.isdigit():
        return False
    return not (text.isascii() and len(text) < 4)


def _digits(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKC", value) if c.isdigit())


def _forms(value: str) -> set[str]:
    """The forms a stored value is matched in: as stored, URL-decoded, JSON-unescaped."""
    folded = _fold(value)
    forms = {folded}
    if "%" in value or "+" in value:
        forms.add(_fold(unquote_plus(value)))
    if "\\u" in value:
        with contextlib.suppress(UnicodeDecodeError):
            forms.add(_fold(value.encode("latin-1", "backslashreplace").decode("unicode_escape")))
    return forms


@dataclass
class Redactor:
    """The strings of one person and how to take them out of a value (module docstring).

    ``strong`` strings name the person alone; ``weak`` ones are used only with ``weak=True``,
    on rows that are already the person's. ``phones`` are phone numbers as digits (matched in
    the digits of a value). Strings too short to mean the person anywhere are ignored: one
    character, a number alone (phones are matched as ``phones``), and a weak Latin string of
    fewer than four letters (``CEO`` would hit ``ceo-summit``).
    """

    strong: Collection[str] = ()
    weak: Collection[str] = ()
    phones: Collection[str] = ()
    _strong: tuple[str, ...] = field(init=False, repr=False)
    _weak: tuple[str, ...] = field(init=False, repr=False)
    _phones: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._strong = tuple(sorted({_fold(s) for s in self.strong if _meaningful(s, 2)}))
        self._weak = tuple(
            sorted({_fold(s) for s in self.weak if _meaningful(s, 2)} - set(self._strong))
        )
        self._phones = tuple(
            sorted({d for d in (_digits(p) for p in self.phones) if len(d) >= _PHONE_DIGITS_MIN})
        )

    def __bool__(self) -> bool:
        return bool(self._strong or self._weak or self._phones)

    # --- matching ---------------------------------------------------------------------------

    def hits(self, value: Any, *, weak: bool = True) -> bool:
        """Whether ``value`` (a string; other types never hit) holds one of the strings."""
        if not isinstance(value, str) or not value:
            return False
        needles = self._strong + self._weak if weak else self._strong
        for form in _forms(value):
            if any(needle in form for needle in needles):
                return True
        if self._phones:
            digits = _digits(value)
            if len(digits) >= _PHONE_DIGITS_MIN and any(p in digits for p in self._phones):
                return True
        return False

    def hits_any(self, values: Iterable[Any], *, weak: bool = True) -> bool:
        return any(self.hits(v, weak=weak) for v in values)

    # --- taking out -------------------------------------------------------------------------

    def text(self, value: str, *, weak: bool = True, replacement: str = "") -> str:
        """``value``, or ``replacement`` when it holds one of the strings."""
        return replacement if self.hits(value, weak=weak) else value

    def url(self, value: str, *, weak: bool = True) -> str:
        """A URL without the parts that hold one of the strings: such query parameters and
        fragment are dropped, such a path becomes ``/``, such a host empties the whole URL.
        A value that is no URL is treated as text."""
        if not self.hits(value, weak=weak):
            return value
        try:
            parts = urlsplit(value)
        except ValueError:
            return ""
        if not parts.scheme or not parts.netloc or self.hits(parts.netloc, weak=weak):
            return ""
        query = [
            (key, item)
            for key, item in parse_qsl(parts.query, keep_blank_values=True)
            if not self.hits(key, weak=weak) and not self.hits(item, weak=weak)
        ]
        path = "/" if self.hits(parts.path, weak=weak) else parts.path
        fragment = "" if self.hits(parts.fragment, weak=weak) else parts.fragment
        return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), fragment))

    def string(self, value: str, *, weak: bool = True) -> str:
        """A URL through ``url``, anything else through ``text``."""
        if _URL_RE.match(value):
            return self.url(value, weak=weak)
        return self.text(value, weak=weak)

    def json(self, value: Any, *, drop_keys: Collection[str] = (), weak: bool = True) -> Any:
        """``value`` (JSON data) without the strings: keys in ``drop_keys`` and keys that hold
        one are left out, strings go through ``string``; numbers, booleans and null stay."""
        if isinstance(value, Mapping):
            return {
                key: self.json(item, drop_keys=drop_keys, weak=weak)
                for key, item in value.items()
                if key not in drop_keys and not self.hits(key, weak=weak)
            }
        if isinstance(value, list | tuple):
            return [self.json(item, drop_keys=drop_keys, weak=weak) for item in value]
        if isinstance(value, str):
            return self.string(value, weak=weak)
        return value
