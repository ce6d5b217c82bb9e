"""Signed tokens of the public forms (``django.core.signing``, keyed by ``SECRET_KEY``).

- The *render token* goes into every rendered form: which form, when it was rendered (the
  minimum fill time is measured from it), which purpose-of-use text version was shown, and a
  random submission token (a retried POST carries the same one, so it stores nothing twice).
- The *confirmation token* is the link of a double opt-in mail: which submission to confirm and
  when the link was made.

Times come from ``core.clock`` (not ``time.time`` as signing's own timestamps would), so tests
and simulations can move them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core import signing

from sokyaku.core import clock

_RENDER_SALT = "sokyaku.capture.render"
_CONFIRM_SALT = "sokyaku.capture.confirm"


class InvalidToken(ValueError):
    """A token that was tampered with, belongs to something else, or has expired."""


@dataclass(frozen=True)
class RenderToken:
    form_id: int
    issued_at: datetime
    submission_token: str
    purpose_text_id: int | None


def _timestamp(at: datetime) -> int:
    return int(at.timestamp())


def _time(value: object) -> datetime:
    if not isinstance(value, int):
        raise InvalidToken("no time")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidToken("bad time") from exc


def render_token_issue(*, form_id: int, purpose_text_id: int | None) -> str:
    """A fresh token for one rendering of a form."""
    payload = {
        "f": form_id,
        "t": _timestamp(clock.now()),
        "s": secrets.token_urlsafe(24),
        "p": purpose_text_id,
    }
    return signing.dumps(payload, salt=_RENDER_SALT)


def render_token_read(*, value: str, form_id: int, max_age: timedelta) -> RenderToken:
    """The token's contents; raises ``InvalidToken`` when it is forged, of another form or older
    than ``max_age``."""
    if not value or len(value) > 500:
        raise InvalidToken("missing")
    try:
        payload = signing.loads(value, salt=_RENDER_SALT)
    except signing.BadSignature as exc:
        raise InvalidToken("bad signature") from exc
    if not isinstance(payload, dict) or payload.get("f") != form_id:
        raise InvalidToken("another form")
    issued_at = _time(payload.get("t"))
    if clock.now() - issued_at > max_age:
        raise InvalidToken("expired")
    token = payload.get("s")
    purpose = payload.get("p")
    if (
        not isinstance(token, str)
        or not token
        or (purpose is not None and type(purpose) is not int)
    ):
        raise InvalidToken("malformed")
    return RenderToken(
        form_id=form_id, issued_at=issued_at, submission_token=token, purpose_text_id=purpose
    )


def confirmation_token_issue(*, submission_id: int) -> str:
    """The token of a double opt-in confirmation link."""
    return signing.dumps({"c": submission_id, "t": _timestamp(clock.now())}, salt=_CONFIRM_SALT)


@dataclass(frozen=True)
class ConfirmationToken:
    submission_id: int
    issued_at: datetime
    expired: bool


def confirmation_token_read(*, value: str, max_age: timedelta) -> ConfirmationToken:
    """The token's contents (``expired`` when older than ``max_age``); raises ``InvalidToken``
    for a forged or malformed one."""
    if not value or len(value) > 500:
        raise InvalidToken("missing")
    try:
        payload = signing.loads(value, salt=_CONFIRM_SALT)
    except signing.BadSignature as exc:
        raise InvalidToken("bad signature") from exc
    if not isinstance(payload, dict) or type(payload.get("c")) is not int:
        raise InvalidToken("malformed")
    issued_at = _time(payload.get("t"))
    return ConfirmationToken(
        submission_id=payload["c"],
        issued_at=issued_at,
        expired=clock.now() - issued_at > max_age,
    )
