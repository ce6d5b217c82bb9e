"""Signed, tamper-proof ids in mail: Message-ID, open pixel, click, unsubscribe, preferences.

Every public mail URL carries a token signed with the site's secret key and a purpose-specific
salt, so a token for one purpose is useless for another and a changed digit gives 404
(``token_read`` raises ``NotFound``). The Message-ID is derived from the message row only, so a
retry after a crash sends the same Message-ID.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

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
    head, sep, sig = token.rpartition("-")
    try:
        value = _signer(purpose).unsign(f"{head}:{sig}") if sep else ""
        message_part, _dot, position_part = value.partition(".")
        return int(message_part), int(position_part or 0)
    except (signing.BadSignature, ValueError) as exc:
        raise NotFound("Unknown link.") from exc


def _site(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def open_url(message_id: int) -> str:
    return _site(reverse("mail:open", args=[token_make(OPEN, message_id)]))


def click_url(message_id: int, position: int) -> str:
    return _site(reverse("mail:click", args=[token_make(CLICK, message_id, position)]))


def unsubscribe_url(message_id: int) -> str:
    return _site(reverse("mail:unsubscribe", args=[token_make(UNSUBSCRIBE, message_id)]))


def preferences_url(message_id: int) -> str:
    return _site(reverse("mail:preferences", args=[token_make(PREFERENCES, message_id)]))


def mail_domain() -> str:
    """The right-hand side of Message-IDs: the site's host name."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id_header(message_id: int) -> str:
    """The Message-ID of a message row: the same on every attempt, unguessable across sites."""
    digest = signing.Signer(salt="sokyaku.messaging.message-id").signature(str(message_id))
    return f"<m{message_id}.{digest[:16].replace('-', 'x').replace('_', 'y')}@{mail_domain()}>"
