"""The one exception hierarchy. The API maps each class to a status code and ``{"detail": ...}``;
the CLI prints the message and exits non-zero; forms show field errors."""

from __future__ import annotations

from collections.abc import Mapping


class SokyakuError(Exception):
    """Base of every domain error. ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str, *, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors: dict[str, str] = dict(field_errors or {})

    @property
    def detail(self) -> str | list[dict[str, object]]:
        if not self.field_errors:
            return self.message
        return [
            {"loc": [field], "msg": msg, "type": "value_error"}
            for field, msg in self.field_errors.items()
        ]


class ValidationError(SokyakuError):
    """Input that cannot be accepted; ``field_errors`` says which field and why."""

    status = 422


class NotFound(SokyakuError):
    status = 404


class PermissionDenied(SokyakuError):
    status = 403


class Conflict(SokyakuError):
    status = 409


class PayloadTooLarge(SokyakuError):
    status = 413


class TooManyRequests(SokyakuError):
    """A rate limit was hit; ``retry_after`` (seconds) says when trying again makes sense."""

    status = 429

    def __init__(self, message: str, *, retry_after: int = 0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
