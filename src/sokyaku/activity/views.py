"""Public tracking endpoints under ``/t/`` (no login): the snippet, the collector, the pixel and
the notice of what they send.

- ``snippet.js`` is generated from ``tracking.COLLECTED_FIELDS`` (what it sends) and this
  installation's URLs; it holds no other site's address.
- ``collect`` takes one page view or a few (JSON, sent as ``text/plain`` by
  ``navigator.sendBeacon`` so no CORS preflight is needed) from any origin: it only appends
  anonymous page views. Answers 204; bots and prefetches get 204 too and are not stored.
- ``pixel.gif`` is the fallback without JavaScript (``<noscript><img>``): the page is the
  ``url`` parameter or the ``Referer`` header; the browser is known by the ``sk_vid`` cookie of
  this host, set on its first hit.
- Both are limited per client address, per visitor, in new visitors per address and in total
  (``tracking.hits_admit``): over a limit ``collect`` answers 429 with ``Retry-After`` and the
  pixel still answers its image; neither stores anything then.
- ``notice`` is the public notice required by 電気通信事業法 (外部送信規律).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.cache import get_conditional_response
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from sokyaku.activity import tracking
from sokyaku.contacts import touches
from sokyaku.core.errors import ValidationError
from sokyaku.core.http import client_ip

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_SNIPPET_MAX_AGE = 3600
_PREFLIGHT_MAX_AGE = 86400


def _cross_origin(response: HttpResponse) -> HttpResponse:
    """Any site may load these resources: they carry no one's private data."""
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _cors(response: HttpResponse, *, preflight: bool = False) -> HttpResponse:
    response["Access-Control-Allow-Origin"] = "*"
    if preflight:
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = str(_PREFLIGHT_MAX_AGE)
    return _cross_origin(response)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    return response


def _snippet_config() -> dict[str, Any]:
    return {
        "snippet": reverse("tracking:snippet"),
        "collect": reverse("tracking:collect"),
        "pixel": reverse("tracking:pixel"),
        "notice": reverse("tracking:notice"),
        "cookie": tracking.COOKIE_NAME,
        "optOut": tracking.OPT_OUT_KEY,
        "maxAge": tracking.COOKIE_MAX_AGE_DAYS * 86400,
        "idPattern": f"^{tracking.VISITOR_ID_RE.pattern}$",
        "fields": [
            {"key": f.key, "from": f.origin, "max": f.max_length} for f in tracking.COLLECTED_FIELDS
        ],
    }


@require_GET
def snippet(request: HttpRequest) -> HttpResponse:
    config = json.dumps(_snippet_config(), separators=(",", ":"))
    body = render_to_string("activity/snippet.js", {"config": config})
    etag = f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        body, content_type="text/javascript; charset=utf-8"
    )
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={_SNIPPET_MAX_AGE}"
    return _cross_origin(response)


def _automated(request: HttpRequest) -> bool:
    return tracking.request_is_automated(
        user_agent=request.headers.get("User-Agent", ""), headers=request.headers
    )


def _bad_request(detail: str, status: int = 400) -> HttpResponse:
    return _cors(JsonResponse({"detail": detail}, status=status))


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def collect(request: HttpRequest) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), preflight=True)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _bad_request("Invalid Content-Length header.")
    if length > tracking.MAX_BODY_BYTES:
        return _bad_request("Request body too large.", 413)
    if _automated(request):
        return _cors(HttpResponse(status=204))
    body = request.body
    if len(body) > tracking.MAX_BODY_BYTES:
        return _bad_request("Request body too large.", 413)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return _bad_request("The body is not JSON.")
    items = data if isinstance(data, list) else [data]
    if not items or len(items) > tracking.MAX_HITS_PER_REQUEST:
        return _bad_request(f"Send 1 to {tracking.MAX_HITS_PER_REQUEST} page views.")
    if not all(isinstance(item, dict) for item in items):
        return _bad_request("Each page view is a JSON object.")
    try:
        hits = [tracking.hit_parse(item) for item in items]
    except ValidationError as exc:
        return _bad_request(exc.message)
    decision = tracking.hits_admit(
        ip=client_ip(request), visitor_ids=[hit.visitor_id for hit in hits]
    )
    if not decision.allowed:
        response = _bad_request("Too many page views; try again later.", 429)
        response["Retry-After"] = str(decision.retry_after)
        return response
    touches.page_views_record(hits=hits)
    return _cors(HttpResponse(status=204))


@require_GET
def pixel(request: HttpRequest) -> HttpResponse:
    response = _no_store(_cross_origin(HttpResponse(GIF, content_type="image/gif")))
    if _automated(request):
        return response
    data = {key: request.GET.get(key, "") for key in request.GET}
    if not data.get("url"):
        data["url"] = request.headers.get("Referer", "")
    cookie = request.COOKIES.get(tracking.COOKIE_NAME, "")
    new_cookie = ""
    if not data.get("visitor_id") and not tracking.VISITOR_ID_RE.fullmatch(cookie):
        cookie = new_cookie = secrets.token_hex(16)
    try:
        hit = tracking.hit_parse(data, visitor_id=cookie)
    except ValidationError:
        return response  # a pixel answers an image whatever it was given
    if not tracking.hits_admit(ip=client_ip(request), visitor_ids=[hit.visitor_id]).allowed:
        return response  # the image, with nothing stored and no new cookie
    touches.page_views_record(hits=[hit])
    if new_cookie:
        secure = request.is_secure()
        response.set_cookie(
            tracking.COOKIE_NAME,
            new_cookie,
            max_age=tracking.COOKIE_MAX_AGE_DAYS * 86400,
            path=reverse("tracking:pixel"),
            secure=secure,
            httponly=True,
            samesite="None" if secure else "Lax",
        )
    return response


def notice_context() -> dict[str, Any]:
    """What the notice page shows, all from the configuration and ``tracking``'s constants."""
    site = settings.SITE_URL
    return {
        "fields": tracking.COLLECTED_FIELDS,
        "not_stored": tracking.NOT_STORED,
        "recorded": tracking.RECORDED,
        "operator_name": settings.OPERATOR_NAME,
        "privacy_policy_url": settings.PRIVACY_POLICY_URL,
        "site_url": site,
        "host": urlsplit(site).hostname or site,
        "collect_url": site + reverse("tracking:collect"),
        "pixel_url": site + reverse("tracking:pixel"),
        "cookie_name": tracking.COOKIE_NAME,
        "cookie_days": tracking.COOKIE_MAX_AGE_DAYS,
        "opt_out_key": tracking.OPT_OUT_KEY,
    }


@require_GET
def notice(request: HttpRequest) -> HttpResponse:
    """The notice, in the visitor's language; ``?lang=en`` or ``?lang=ja`` picks one (for a
    link from a website in that language)."""
    lang = request.GET.get("lang", "")
    if lang in dict(settings.LANGUAGES):
        with translation.override(lang):
            return render(request, "activity/notice.html", notice_context())
    return render(request, "activity/notice.html", notice_context())
