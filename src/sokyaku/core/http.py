"""How the HTML UI meets the domain: typed htmx requests, domain errors as HTTP errors and the
client's address.

Selectors and services raise ``core.errors``; a view wrapped in ``domain_errors`` turns
``NotFound`` into Django's 404 page and ``PermissionDenied`` into its 403 page, so views stay thin
and never catch those two themselves. ``client_ip`` is the one reading of the client's address:
consent records, rate limits and sign-in lockouts all use it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import ParamSpec

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django_htmx.middleware import HtmxDetails

from sokyaku.core import errors

P = ParamSpec("P")


class HtmxHttpRequest(HttpRequest):
    """A request that went through ``HtmxMiddleware`` (``request.htmx`` is truthy for htmx)."""

    htmx: HtmxDetails


def domain_errors(view: Callable[P, HttpResponse]) -> Callable[P, HttpResponse]:
    """Answer ``NotFound`` with 404 and ``PermissionDenied`` with 403."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return view(*args, **kwargs)
        except errors.NotFound as exc:
            raise Http404(exc.message) from exc
        except errors.PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc

    return wrapper


def actor(request: HttpRequest) -> User:
    """The signed-in user making a change (views that write are behind ``login_required``)."""
    user = request.user
    if not isinstance(user, User):
        raise DjangoPermissionDenied("Sign in first.")
    return user


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the proxy's last ``X-Forwarded-For`` hop behind a trusted proxy
    (``SOKYAKU_BEHIND_PROXY``), else ``REMOTE_ADDR``."""
    candidates = []
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            candidates.append(forwarded.split(",")[-1].strip())
    candidates.append(request.META.get("REMOTE_ADDR", ""))
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None
