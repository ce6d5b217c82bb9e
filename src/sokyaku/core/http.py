"""How the HTML UI meets the domain: typed htmx requests and domain errors as HTTP errors.

Selectors and services raise ``core.errors``; a view wrapped in ``domain_errors`` turns
``NotFound`` into Django's 404 page and ``PermissionDenied`` into its 403 page, so views stay thin
and never catch those two themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec

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
