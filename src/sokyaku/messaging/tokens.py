"""Signed, tamper-proof ids in mail: Message-ID, open pixel, click, unsubscribe, preferences.

Every public mail URL carries a token signed with the site's secret key and a purpose-specific
salt, so a token for one purpose is useless for another and a changed digit gives 404
(``token_read`` raises ``NotFound``). The Message-ID is derived from the message row only, so a
retry after a crash sends the same Message-ID.

The two links that act for the person — unsubscribe and the preference centre — also carry
when they were made and the link key version: ``<message>.<issued, base 36 seconds>.<version>``
(``link_read``). Whether such a link still works (expiry, rotation) is decided from those and
the database (``selectors.mail_link_state``). Links made before they carried a time
(``<message>`` alone) read as version 1, made when their message was sent.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

from sokyaku.core import clock
from sokyaku.core.errors import NotFound

OPEN = "open"
CLICK = "click"
UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
_PURPOSES = frozenset({OPEN, CLICK, UNSUBSCRIBE, PREFERENCES})
# The links that act for the person: they expire and can be rotated.
LINKS = frozenset({UNSUBSCRIBE, PREFERENCES})
# The version links made before they carried one are read as.
_LEGACY_VERSION = 1
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class MailLink:
    """What an unsubscribe or preference-centre token says: which message, made when (``None``
    for a link from before links carried a time), under which link key version."""

    message_id: int
    issued_at: datetime | None
    version: int


def _signer(purpose: str) -> signing.Signer:
    if purpose not in _PURPOSES:
        raise ValueError(purpose)
    return signing.Signer(salt=f"sokyaku.messaging.{purpose}")


def _base36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if not number:
            return text


def link_version() -> int:
    """The link key version new links are made with (``SOKYAKU_MAIL_LINK_VERSION``)."""
    return int(settings.MAIL_LINK_VERSION)


def token_make(
    purpose: str, message_id: int, position: int = 0, *, issued_at: datetime | None = None
) -> str:
    """A URL-safe token for ``(message_id, position)`` (position: the link's, for clicks).

    An unsubscribe or preferences token also carries ``issued_at`` (now by default, to the
    second) and the current link key version.
    """
    if purpose == CLICK:
        value = f"{message_id}.{position}"
    elif purpose in LINKS:
        issued = int((issued_at or clock.now()).timestamp())
        value = f"{message_id}.{_base36(issued)}.{link_version()}"
    else:
        value = str(message_id)
    return _signer(purpose).sign(value).replace(":", "-")


def _unsign(purpose: str, token: str) -> str:
    # The value is digits, letters and dots; the signature (URL-safe base64) may itself
    # contain "-".
    head, sep, sig = token.partition("-")
    if not sep:
        raise NotFound("Unknown link.")
    try:
        return _signer(purpose).unsign(f"{head}:{sig}")
    except signing.BadSignature as exc:
        raise NotFound("Unknown link.") from exc


def link_read(purpose: str, token: str) -> MailLink:
    """What an unsubscribe or preferences token says; ``NotFound`` when it was changed or is
    not one. Says nothing about whether the link still works (``selectors.mail_link_state``)."""
    if purpose not in LINKS:
        raise ValueError(purpose)
    parts = _unsign(purpose, token).split(".")
    try:
        if len(parts) == 1:
            return MailLink(message_id=int(parts[0]), issued_at=None, version=_LEGACY_VERSION)
        message_part, issued_part, version_part = parts
        issued_at = datetime.fromtimestamp(int(issued_part, 36), tz=UTC)
        version = int(version_part)
        return MailLink(message_id=int(message_part), issued_at=issued_at, version=version)
    except (ValueError, OverflowError, OSError) as exc:
        raise NotFound("Unknown link.") from exc


def token_read(purpose: str, token: str) -> tuple[int, int]:
    """``(message_id, position)`` from a token; ``NotFound`` when it was changed or is not one."""
    if purpose in LINKS:
        return link_read(purpose, token).message_id, 0
    value = _unsign(purpose, token)
    message_part, _dot, position_part = value.partition(".")
    try:
        return int(message_part), int(position_part or 0)
    except ValueError as exc:
        raise NotFound("Unknown link.") from exc


# A stand-in made of the characters tokens are made of (digits, ".", "-", URL-safe base64):
# ``reverse`` quotes none of them, so the path of a real token is the stand-in's with the token
# in its place. Reversing once per route instead of once per link matters when a batch of mail
# carries thousands of links.
_SLOT = "0.0-SLOT"


@functools.lru_cache(maxsize=32)
def _path_around(name: str, _prefix: str, urlconf: str | None) -> tuple[str, str]:
    before, _slot, after = reverse(name, args=[_SLOT], urlconf=urlconf).partition(_SLOT)
    return before, after


def _site(name: str, token: str) -> str:
    # Keyed by the script prefix and URLconf, which are all ``reverse`` reads besides the route.
    before, after = _path_around(name, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return f"{settings.SITE_URL}{before}{token}{after}"


def open_url(message_id: int) -> str:
    return _site("mail:open", token_make(OPEN, message_id))


def click_url(message_id: int, position: int) -> str:
    return _site("mail:click", token_make(CLICK, message_id, position))


def unsubscribe_url(message_id: int) -> str:
    return unsubscribe_url_for(token_make(UNSUBSCRIBE, message_id))


def unsubscribe_url_for(token: str) -> str:
    """The one-click unsubscribe URL of an ``UNSUBSCRIBE`` token already made."""
    return _site("mail:unsubscribe", token)


def preferences_url(message_id: int, *, issued_at: datetime | None = None) -> str:
    return _site("mail:preferences", token_make(PREFERENCES, message_id, issued_at=issued_at))


def mail_domain() -> str:
    """The right-hand side of Message-IDs: the site's host name."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id_header(message_id: int) -> str:
    """The Message-ID of a message row: the same on every attempt, unguessable across sites."""
    digest = signing.Signer(salt="sokyaku.messaging.message-id").signature(str(message_id))
    return f"<m{message_id}.{digest[:16].replace('-', 'x').replace('_', 'y')}@{mail_domain()}>"
