"""The referral link a customer shares: ``GET /r/<code>`` (no login, no CSRF; a trailing slash
is fine).

A known code sets the first-party cookie ``sk_ref`` (signed, 90 days, SameSite=Lax, HttpOnly)
and redirects to the landing page with ``?ref=<code>`` — plus ``utm_source``/``utm_medium`` =
``referral`` unless the landing URL sets them — so a form on that page carries the code (its
page URL) and the visit maps to the 紹介 channel. The landing page is
``SOKYAKU_REFERRAL_LANDING_URL``, else the public referral form (``/f/referral``, see
``services.referral_form``): never the staff login. An unknown (or mistyped) code still leads to
the landing page, without ``ref`` and without a cookie, instead of an error page: the visitor is
not lost.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from sokyaku.capture.public_views import (
    REFERRAL_COOKIE,
    REFERRAL_COOKIE_AGE,
    REFERRAL_COOKIE_SALT,
)
from sokyaku.deals.services import referral_form, referrals

# The cookie is read by the hosted forms (capture), which pass the code on with a submission.
COOKIE = REFERRAL_COOKIE
COOKIE_SALT = REFERRAL_COOKIE_SALT
COOKIE_AGE = REFERRAL_COOKIE_AGE
UTM = {"utm_source": "referral", "utm_medium": "referral"}


def landing_url() -> str:
    """Where a referral link leads (without the code): the configured landing page, else the
    public referral form; "" when the marketer has closed the referral form."""
    configured = str(getattr(settings, "SOKYAKU_REFERRAL_LANDING_URL", "") or "").strip()
    if configured:
        return configured
    form = referral_form.referral_form_landing()
    if form is None:
        return ""
    return settings.SITE_URL + reverse("public:form", kwargs={"slug": form.slug})


def _closed(request: HttpRequest) -> HttpResponse:
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "title": gettext("Not found"),
            "text": gettext("This referral page is not available at the moment."),
            "language": settings.LANGUAGE_CODE,
        }
        response = render(request, "capture/public/message.html", context, status=404)
    add_never_cache_headers(response)
    return response


def _with_params(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {key for key, _value in query}
    query += [(key, value) for key, value in params.items() if key not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


@require_http_methods(["GET", "HEAD"])
def referral_follow(request: HttpRequest, code: str) -> HttpResponse:
    found = referrals.referral_code_find(code=code)
    target = landing_url()
    if not target:
        return _closed(request)
    if found is not None:
        target = _with_params(target, {referrals.REF_PARAM: found.code, **UTM})
    response = HttpResponseRedirect(target)
    if found is not None:
        response.set_signed_cookie(
            COOKIE,
            found.code,
            salt=COOKIE_SALT,
            max_age=int(COOKIE_AGE.total_seconds()),
            samesite="Lax",
            httponly=True,
            secure=bool(getattr(settings, "HTTPS", False)),
        )
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    return response


def referral_cookie_code(request: HttpRequest) -> str:
    """The referral code of the ``sk_ref`` cookie ("" when absent, expired or tampered with):
    for public pages on this site that want to pass it on."""
    value = request.get_signed_cookie(COOKIE, default="", salt=COOKIE_SALT, max_age=COOKIE_AGE)
    return referrals.code_normalize(value)
