"""The keyed hash an erased person's identifiers are kept as (HMAC-SHA256).

An erased person's email and phone number stay in two places only as this hash: the hashed
suppression list (``models.HashedSuppression``), which keeps them from being mailed again after
they re-enter the system without a new opt-in, and their consent records, the proof the law
asks us to keep (``services.consent_records_erase``). A plain SHA-256 of an address can be
confirmed by anyone who guesses the address; this hash only by someone who holds the key.

The key is ``settings.SOKYAKU_ERASURE_KEY`` when set, else derived from ``SECRET_KEY``. Whoever
restores a backup needs the same key (docs/operations.md): with another key, erased people are
no longer recognised. Callers pass values already normalised (``contacts.identity``).
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings


def erasure_key() -> bytes:
    """The key: ``SOKYAKU_ERASURE_KEY``, else one derived from ``SECRET_KEY``."""
    configured = str(getattr(settings, "SOKYAKU_ERASURE_KEY", "") or "")
    if configured:
        return configured.encode("utf-8")
    return hmac.new(
        settings.SECRET_KEY.encode("utf-8"), b"sokyaku.erasure-key", hashlib.sha256
    ).digest()


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 of ``value`` (hex); ``""`` for an empty value."""
    if not value:
        return ""
    return hmac.new(erasure_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()
