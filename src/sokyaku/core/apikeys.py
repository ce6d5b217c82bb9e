"""API key authentication for the JSON API and the scope check every route makes."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from sokyaku.core.errors import PermissionDenied
from sokyaku.core.models import ApiKey
from sokyaku.core.services import apikey_authenticate


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        return apikey_authenticate(token=token)


def scope_require(request: HttpRequest, scope: str) -> ApiKey:
    """The request's API key, if it has ``scope``; raises ``PermissionDenied`` otherwise."""
    key: ApiKey = request.auth  # type: ignore[attr-defined]
    if scope not in key.scopes:
        raise PermissionDenied(f"This API key lacks the {scope} scope.")
    return key
