"""Request-level guards that must run outside the views.

``ApiGuardMiddleware`` answers 413 for API bodies larger than ``API_MAX_BODY_BYTES``
(and 400 for an unreadable ``Content-Length``) before any view reads them, and gives the errors
Django answers itself under ``/api/`` (an unknown route's 404, a 405, a 400 for a suspicious
request, a 500) the API's one error shape ``{"detail": ...}`` instead of an HTML page.
An answer to a request with a known API key carries that key's rate-limit headers
(``core.apikeys``).

``DiskFullMiddleware`` answers a write that failed because the disk (or the database's
storage) is full with 503 and ``Retry-After`` — a Japanese page in the UI, ``{"detail": ...}``
under ``/api/`` — instead of a 500: nothing was stored (the transaction rolled back), and the
same request succeeds once an operator has made room. Recognised: SQLite's "database or disk is
full", PostgreSQL's ``disk_full`` (SQLSTATE 53100) and ``OSError`` ENOSPC / EDQUOT, also as the
cause of another exception.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from sokyaku.core.apikeys import rate_limit_headers

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Headers of an error response that still mean something once its body is replaced.
_KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After", "RateLimit", "RateLimit-Policy")
_JSON_PARAMS = {"ensure_ascii": False}


def body_too_large_detail() -> str:
    # English, like every other API message: clients match on status codes, people read logs.
    return f"Request body too large (limit {settings.API_MAX_BODY_BYTES} bytes)."


def _is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


class ApiGuardMiddleware:
    """Body-size limit and JSON errors for ``/api/`` (see the module docstring).

    Django's own limit (``DATA_UPLOAD_MAX_MEMORY_SIZE``) turns into a 400 deep inside the view;
    an API client deserves the right status before anything is parsed or stored.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            # Django would fail reading such a body (a 500); production servers refuse it first.
            return JsonResponse(
                {"detail": "Invalid Content-Length header."},
                status=400,
                json_dumps_params=_JSON_PARAMS,
            )
        if length > settings.API_MAX_BODY_BYTES:
            return JsonResponse(
                {"detail": body_too_large_detail()}, status=413, json_dumps_params=_JSON_PARAMS
            )
        response = self.get_response(request)
        decision = getattr(request, "rate_limit", None)
        if decision is not None:
            rate_limit_headers(response, decision)
        if response.status_code < 400 or _is_json(response):
            return response
        if response.status_code >= 500 and settings.DEBUG:
            return response  # keep Django's debug page while developing
        return self._as_json(response)

    @staticmethod
    def _as_json(response: HttpResponse) -> HttpResponse:
        try:
            reason = HTTPStatus(response.status_code).phrase
        except ValueError:
            reason = response.reason_phrase
        replacement = JsonResponse(
            {"detail": f"{reason}."}, status=response.status_code, json_dumps_params=_JSON_PARAMS
        )
        for header in _KEPT_HEADERS:
            if header in response:
                replacement[header] = response[header]
        return replacement


_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_PG_DISK_FULL = "53100"
DISK_FULL_RETRY_AFTER = 300


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what caused it) says the disk or the database's storage is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _DISK_ERRNOS:
            return True
        if isinstance(exc, OperationalError | sqlite3.OperationalError) and (
            "disk is full" in str(exc).lower()
        ):
            return True
        if getattr(exc, "sqlstate", None) == _PG_DISK_FULL:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class DiskFullMiddleware:
    """503 instead of 500 for a request that failed on a full disk (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_disk_full(exception):
            return None
        logger.error(
            "storage.disk_full",
            extra={"path": request.path, "method": request.method, "error": str(exception)},
        )
        response: HttpResponse
        if request.path.startswith(API_PREFIX):
            response = JsonResponse(
                {"detail": "The server's storage is full; nothing was stored. Try again later."},
                status=503,
                json_dumps_params=_JSON_PARAMS,
            )
        else:
            response = render(request, "core/disk_full.html", status=503)
        response["Retry-After"] = str(DISK_FULL_RETRY_AFTER)
        return response
