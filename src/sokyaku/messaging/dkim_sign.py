"""DKIM signatures (dkimpy) for outgoing mail, when a key is configured.

Signing is on when ``SOKYAKU_DKIM_KEY_FILE``, ``SOKYAKU_DKIM_SELECTOR`` and
``SOKYAKU_DKIM_DOMAIN`` are all set. The signed headers include both RFC 8058 headers
(``List-Unsubscribe`` and ``List-Unsubscribe-Post``): RFC 8058 §4 requires them to be covered by
a valid DKIM signature for mailbox providers to offer one-click unsubscribe.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim
from django.conf import settings

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


@dataclass(frozen=True)
class DkimKey:
    selector: bytes
    domain: bytes
    private_key: bytes


@lru_cache(maxsize=4)
def _read_key(path: str) -> bytes:
    return Path(path).read_bytes()


def dkim_key() -> DkimKey | None:
    """The configured key, or ``None`` when signing is off."""
    path, selector, domain = settings.DKIM_KEY_FILE, settings.DKIM_SELECTOR, settings.DKIM_DOMAIN
    if not (path and selector and domain):
        return None
    return DkimKey(selector=selector.encode(), domain=domain.encode(), private_key=_read_key(path))


def dkim_sign(data: bytes, *, key: DkimKey | None = None) -> bytes:
    """``data`` with a ``DKIM-Signature`` header in front (unchanged when signing is off)."""
    key = key or dkim_key()
    if key is None:
        return data
    present = {line.split(b":", 1)[0].strip().lower() for line in _header_lines(data)}
    headers = [h for h in SIGNED_HEADERS if h in present]
    signature = dkim.sign(
        data,
        key.selector,
        key.domain,
        key.private_key,
        include_headers=headers,
        canonicalize=(b"relaxed", b"relaxed"),
    )
    return signature + data


def _header_lines(data: bytes) -> list[bytes]:
    head = data.split(b"\r\n\r\n", 1)[0]
    return [line for line in head.split(b"\r\n") if line and line[:1] not in (b" ", b"\t")]
