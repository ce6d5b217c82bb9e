"""What a sign-in that django-axes refused answers (``AXES_LOCKOUT_CALLABLE``).

After too many failed attempts for one username from one address, the sign-in page (``/login/``
or the admin's) answers 429 with the ordinary login form and one generic message. It reads the
same whether the username exists or not, and names neither the limit nor the account, so the
lockout tells a guesser nothing a failed attempt would not.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext


def lockout_message() -> str:
    return gettext("Too many failed sign-in attempts. Please wait a while before trying again.")


def _next_url(request: HttpRequest) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    if request.path.startswith(reverse("admin:index")):
        return reverse("admin:index")
    return ""


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """The login page with the lockout message, status 429 (for both login pages)."""
    context = {
        "form": AuthenticationForm(request),
        "next": _next_url(request),
        "lockout_message": lockout_message(),
    }
    return render(request, "core/login.html", context, status=429)
