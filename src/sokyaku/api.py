"""The JSON API (``/api/v1/``): one NinjaAPI, one error shape ``{"detail": ...}``.

Every route is authenticated with an API key (``Authorization: Bearer <key>``) that must carry
the route's scope (``core.apikeys``). Domain errors from ``core.errors`` map to their status;
validation errors answer 422 with the location of each bad value (for a batch, the index of the
bad item). Errors Django answers outside ninja (unknown routes, 405, 500, the body-size limit)
get the same shape from ``core.middleware``. The OpenAPI document is ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from sokyaku.activity.api import router as events_router
from sokyaku.analytics.api import router as analytics_router
from sokyaku.analytics.api_attribution import router as attribution_router
from sokyaku.analytics.api_reports import router as reports_router
from sokyaku.campaigns.api import router as costs_router
from sokyaku.capture.api import router as forms_router
from sokyaku.consent.api import router as consent_router
from sokyaku.contacts.api import router as contacts_router
from sokyaku.core.apikeys import ApiKeyAuth
from sokyaku.core.errors import SokyakuError, TooManyRequests
from sokyaku.core.middleware import body_too_large_detail
from sokyaku.core.schemas import JsonParser, error_item, errors_located
from sokyaku.deals.api import router as deals_router
from sokyaku.deals.api_aftersale import router as aftersale_router
from sokyaku.handoff.api import router as handoffs_router
from sokyaku.lifecycle.api import router as lifecycle_router
from sokyaku.messaging.api import router as messages_router
from sokyaku.privacy.api_export import router as privacy_export_router
from sokyaku.privacy.erasure_api import router as erasure_router
from sokyaku.segments.api import router as segments_router
from sokyaku.sequences.api import router as sequences_router
from sokyaku.webhooks.api import router as webhooks_router


class _Renderer(JSONRenderer):
    # Japanese text as UTF-8, readable in curl output and logs, not as \uXXXX escapes.
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="sokyaku API",
    version="1",
    description=(
        "Contacts and their event stream (timelines), consent, forms, costs, scores and "
        "lifecycle stages, BANT, segments, sequences, mail bounces, handoffs to sales, deals, "
        "orders and referrals in sokyaku; outgoing webhooks and their delivery log; and "
        "everything held on one person (a data-subject export).\n\n"
        "Authenticate with `Authorization: Bearer <key>`. Every user makes their own keys on "
        "the API keys page of the settings (a key acts as its user and may carry only scopes "
        "the user's role allows); an operator also makes them with `sokyaku createapikey "
        "--name NAME --scopes contacts:read,contacts:write,... [--user USERNAME]`. "
        'Every error is `{"detail": ...}`: a message, or for 422 a list of '
        "`{loc, msg, type}` items naming each bad value."
    ),
    auth=ApiKeyAuth(),
    parser=JsonParser(),
    renderer=_Renderer(),
    urls_namespace="api",
    docs_url="/docs",
)

_BODY_METHODS = {"POST", "PUT", "PATCH"}


@api.exception_handler(SokyakuError)
def _domain_error(request: HttpRequest, exc: SokyakuError) -> HttpResponse:
    if exc.status != 422 or not exc.field_errors:
        response = api.create_response(request, {"detail": exc.message}, status=exc.status)
        if isinstance(exc, TooManyRequests) and exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    # Services name the input field ("email", "custom_fields.size"); on the wire it sits in
    # the request body.
    prefix = ["body"] if request.method in _BODY_METHODS else []
    detail = [
        error_item([*prefix, *field.split(".")], msg) for field, msg in exc.field_errors.items()
    ]
    return api.create_response(request, {"detail": detail}, status=422)


def _validation_response(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": errors_located(exc.errors)}, status=422)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    return _validation_response(request, exc)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request, {"detail": "Missing, unknown or revoked API key."}, status=401
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja wraps whatever the body parser raises in a 400 "Cannot parse request body"; the
    # parser's own error (415 or 422) is the one the client needs.
    cause = exc.__cause__
    if isinstance(cause, NinjaValidationError):
        return _validation_response(request, cause)
    if isinstance(cause, HttpError):
        exc = cause
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, {"detail": "Not Found."}, status=404)


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return api.create_response(request, {"detail": body_too_large_detail()}, status=413)


api.add_router("/contacts", contacts_router)
api.add_router("/contacts", erasure_router)
api.add_router("/events", events_router)
api.add_router("/forms", forms_router)
api.add_router("/costs", costs_router)
api.add_router("", consent_router)
api.add_router("", lifecycle_router)
api.add_router("", messages_router)
api.add_router("/segments", segments_router)
api.add_router("/sequences", sequences_router)
api.add_router("", handoffs_router)
api.add_router("", deals_router)
api.add_router("", aftersale_router)
api.add_router("/analytics", analytics_router)
api.add_router("/analytics", reports_router)
api.add_router("/analytics", attribution_router)
api.add_router("", webhooks_router)
api.add_router("", privacy_export_router)
