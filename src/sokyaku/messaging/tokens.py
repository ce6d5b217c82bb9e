"""Signed, tamper-proof ids in mail: Message-ID, open pixel, click, unsubscribe, preferences.

Every public mail URL carries a token signed with the site's secret key and a purpose-specific
salt, so a token for one purpose is useless for another and a changed digit gives 404
(``token_read`` raises ``NotFound``). The Message-ID is derived from the message row only, so a
retry after a crash sends the same Message-ID.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import get_script_prefix, get_urlconf, reverse

from sokyaku.core.errors import NotFound

OPEN = "open"
CLICK = "click"
UNSUBSCRIBE = "unsubscribe"
PREFERENCES = "preferences"
_PURPOSES = frozenset({OPEN, CLICK, UNSUBSCRIBE, PREFERENCES})


def _signer(purpose: str) -> signing.Signer:
    if purpose not in _PURPOSES:
        raise ValueError(purpose)
    return signing.Signer(salt=f"sokyaku.messaging.{purpose}")


def token_make(purpose: str, message_id: int, position: int = 0) -> str:
    """A URL-safe token for ``(message_id, position)`` (position: the link's, for clicks)."""
    value = f"{message_id}.{position}" if purpose == CLICK else str(message_id)
    return _signer(purpose).sign(value).replace(":", "-")


def token_read(purpose: str, token: str) -> tuple[int, int]:
    """``(message_id, position)`` from a token; ``NotFound`` when it was changed or is not one."""
    # The value is digits and a dot; the signature (URL-safe base64) may itself contain "-".
    head, sep, sig = token.partition("-")
    try:
        value = _signer(purpose).unsign(f"{head}:{sig}") if sep else ""
        message_part, _dot, position_part = value.partition(".")
        return int(message_part), int(position_part or 0)
    except (signing.BadSignature, ValueError) as exc:
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


def preferences_url(message_id: int) -> str:
    return _site("mail:preferences", token_make(PREFERENCES, message_id))


def mail_domain() -> str:
    """The right-hand side of Message-IDs: the site's host name."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id_header(message_id: int) -> str:
    """The Message-ID of a message row: the same on every attempt, unguessable across sites."""
    digest = signing.Signer(salt="sokyaku.messaging.message-id").signature(str(message_id))
    return f"<m{message_id}.{digest[:16].replace('-', 'x').replace('_', 'y')}@{mail_domain()}>"
