"""API key authentication for the JSON API, with the scope each operation needs.

``ApiKeyAuth(scope, *perms)`` reads ``Authorization: Bearer <key>``. No key, an unknown or a
revoked key, or a key that is neither a user's nor a system key: ninja answers 401. A key of a
deactivated user, a key without ``scope``, or a key whose user lacks one of the Django
permissions ``perms`` (the same the UI view for that action requires): ``PermissionDenied``
(403). A system key acts for the installation and holds every permission; its scopes alone
limit it. All of this is decided before the request body is read, so a caller without access
learns nothing about the input.

Each key may make ``API_RATE_LIMIT`` requests a minute (``core.ratelimit``). Over it the request
answers 429 (``TooManyRequests``) before anything runs; every answer to a known key carries the
``RateLimit-Policy`` and ``RateLimit`` headers of the IETF draft (draft-ietf-httpapi-ratelimit-
headers), which ``core.middleware`` adds from ``request.rate_limit``. Requests that present a
key which is not one (malformed, unknown or revoked) are counted per client address
(``API_AUTH_FAILURE_LIMIT`` a minute): over it, every request from that address that sends a key
answers 429 until the window ends, so keys cannot be guessed at speed.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja.security import HttpBearer

from sokyaku.core import apiscopes, ratelimit
from sokyaku.core.errors import PermissionDenied, TooManyRequests
from sokyaku.core.http import client_ip
from sokyaku.core.models import ApiKey, ApiScope
from sokyaku.core.services import apikey_authenticate

# What ``apikey_create`` hands out: ``sk_<8 hex>_<urlsafe base64>``. Anything else is refused
# without a query (and never reaches the database, which may not store every character).
_TOKEN_RE = re.compile(r"sk_[0-9a-f]{8}_[A-Za-z0-9_-]{1,200}")
RATE_WINDOW_SECONDS = 60
RATE_POLICY = "per-key"


def rate_limit_headers(response: HttpResponse, decision: ratelimit.Decision) -> None:
    """The draft's headers: the policy (quota per window) and where this key stands in it."""
    if decision.tightest is None:
        return
    limit = decision.tightest
    response["RateLimit-Policy"] = f'"{RATE_POLICY}";q={limit.limit};w={limit.window}'
    response["RateLimit"] = f'"{RATE_POLICY}";r={decision.remaining};t={decision.reset}'
    if not decision.allowed:
        response["Retry-After"] = str(decision.retry_after)


class ApiKeyAuth(HttpBearer):
    # Shown in the OpenAPI document's security scheme.
    openapi_bearerFormat = "sokyaku API key (sk_…)"
    openapi_description = (
        "An API key (made on the API keys page of the settings, or with `sokyaku "
        "createapikey`), sent as `Authorization: Bearer <key>`. Each operation needs one scope "
        "of the key."
    )

    def __init__(self, scope: ApiScope | None = None, *perms: str) -> None:
        self.scope = scope
        self.perms = perms
        if scope is not None:
            # The operation's line of the role × scope table users' keys are checked against.
            apiscopes.declare(scope, perms)
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        failures = ratelimit.Charge(
            f"api-auth-failures:{client_ip(request)}",
            settings.API_AUTH_FAILURE_LIMIT,
            RATE_WINDOW_SECONDS,
        )
        wait = ratelimit.exhausted(failures)
        if wait is not None:
            raise TooManyRequests(
                "Too many requests with an invalid API key from this address; "
                f"retry in {wait} seconds.",
                retry_after=wait,
            )
        key = apikey_authenticate(token=token) if _TOKEN_RE.fullmatch(token) else None
        if key is None:
            ratelimit.charge([failures])
            return None
        user = key.created_by
        if user is not None and not user.is_active:
            raise PermissionDenied("The user this API key belongs to is deactivated.")
        decision = ratelimit.charge(
            [ratelimit.Charge(f"api:{key.prefix}", settings.API_RATE_LIMIT, RATE_WINDOW_SECONDS)]
        )
        request.rate_limit = decision  # type: ignore[attr-defined]
        if not decision.allowed:
            raise TooManyRequests(
                f"Rate limit of {settings.API_RATE_LIMIT} requests per minute for this API key "
                f"reached; retry in {decision.retry_after} seconds.",
                retry_after=decision.retry_after,
            )
        if self.scope is not None and self.scope not in key.scopes:
            raise PermissionDenied(f"This API key lacks the {self.scope.value} scope.")
        if user is not None and not user.has_perms(self.perms):
            missing = ", ".join(p for p in self.perms if not user.has_perm(p))
            raise PermissionDenied(
                f"The user this API key belongs to may not do this (needs {missing})."
            )
        return key
