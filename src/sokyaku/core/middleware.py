"""Request-level guards that must run before any view reads the body."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class RequestSizeLimitMiddleware:
    """Answer 413 with a JSON ``detail`` for API bodies larger than ``API_MAX_BODY_BYTES``.

    Django's own limit turns into a 400 deep inside the view; an API client deserves the right
    status before anything is parsed or stored.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                return JsonResponse(
                    {
                        "detail": _("Request body too large (limit %(limit)d bytes).")
                        % {"limit": settings.API_MAX_BODY_BYTES}
                    },
                    status=413,
                )
        return self.get_response(request)
