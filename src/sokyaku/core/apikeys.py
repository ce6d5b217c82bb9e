"""API key authentication for the JSON API, with the scope each operation needs.

``ApiKeyAuth(scope)`` reads ``Authorization: Bearer <key>``. No key, an unknown or a revoked key:
ninja answers 401. A valid key without ``scope``: ``PermissionDenied`` (403). Both are decided
before the request body is read, so a caller without access learns nothing about the input.
"""

from __future__ import annotations

import re

from django.http import HttpRequest
from ninja.security import HttpBearer

from sokyaku.core.errors import PermissionDenied
from sokyaku.core.models import ApiKey, ApiScope
from sokyaku.core.services import apikey_authenticate

# What ``apikey_create`` hands out: ``sk_<8 hex>_<urlsafe base64>``. Anything else is refused
# without a query (and never reaches the database, which may not store every character).
_TOKEN_RE = re.compile(r"sk_[0-9a-f]{8}_[A-Za-z0-9_-]{1,200}")


class ApiKeyAuth(HttpBearer):
    # Shown in the OpenAPI document's security scheme.
    openapi_bearerFormat = "sokyaku API key (sk_…)"
    openapi_description = (
        "An API key created by an administrator (`sokyaku createapikey`), sent as "
        "`Authorization: Bearer <key>`. Each operation needs one scope of the key."
    )

    def __init__(self, scope: ApiScope | None = None) -> None:
        self.scope = scope
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        if not _TOKEN_RE.fullmatch(token):
            return None
        key = apikey_authenticate(token=token)
        if key is not None and self.scope is not None and self.scope not in key.scopes:
            raise PermissionDenied(f"This API key lacks the {self.scope.value} scope.")
        return key
