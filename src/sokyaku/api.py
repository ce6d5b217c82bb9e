"""The JSON API (``/api/v1/``): one NinjaAPI, one error shape ``{"detail": ...}``.

Every route is authenticated with an API key (``Authorization: Bearer <key>``) and checks the
key's scopes. Domain errors from ``core.errors`` map to their status; validation errors answer
422 with the location of each bad value (for a batch, the index of the bad item).
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError

from sokyaku.activity.api import router as events_router
from sokyaku.contacts.api import router as contacts_router
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import SokyakuError

api = NinjaAPI(
    title="sokyaku API",
    version="1",
    description="Contacts, companies and the event stream. Authenticate with "
    "`Authorization: Bearer <key>` (create a key with `sokyaku createapikey`).",
    auth=ApiKeyAuth(),
    urls_namespace="api",
    docs_url="/docs",
)


@api.exception_handler(SokyakuError)
def _domain_error(request: HttpRequest, exc: SokyakuError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.detail}, status=exc.status)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.errors}, status=422)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, {"detail": "Missing, unknown or revoked API key."}, status=401
    )


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(request, {"detail": "Request body too large."}, status=413)


api.add_router("/contacts", contacts_router)
api.add_router("/events", events_router)
