"""Standard Webhooks signatures (https://www.standardwebhooks.com), with the ``standardwebhooks``
package of the specification's authors.

A secret is ``whsec_`` + base64 of 32 random bytes. Each request carries ``webhook-id`` (the
message id, the same on every attempt), ``webhook-timestamp`` (seconds since the epoch, of the
attempt) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``,
one per secret in force, separated by spaces (during a rotation: the new secret's first, then
the previous one's), so a receiver accepts the request when any of them verifies.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32


def secret_generate() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signature(*, secret: str, msg_id: str, timestamp: datetime, body: str) -> str:
    """``v1,<base64 signature>`` of one message with one secret."""
    # The package reads the time as UTC without converting it: hand it UTC.
    return Webhook(secret).sign(msg_id=msg_id, timestamp=timestamp.astimezone(UTC), data=body)


def headers(
    *, secrets_in_force: Sequence[str], msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt, signed with every secret given."""
    signatures = " ".join(
        signature(secret=secret, msg_id=msg_id, timestamp=timestamp, body=body)
        for secret in secrets_in_force
    )
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signatures,
    }
