"""Public mail endpoints, no login and no cookies: the signed token in the path is the only
credential (``tokens.py``); a changed token is 404 and changes nothing.

- ``GET /m/o/<token>.gif`` — the open pixel (always the GIF, never cached).
- ``GET /m/c/<token>/`` — 302 to the stored link of that message and position, nowhere else.
- ``POST /m/u/<token>/`` — RFC 8058 one-click (body ``List-Unsubscribe=One-Click``) or the
  confirmation page's button: unsubscribes. ``csrf_exempt`` on purpose: the mailbox provider
  posts it with no session or cookie. ``GET`` only shows the confirmation page (link scanners
  follow GETs, so a GET must never unsubscribe).
- ``GET|POST /m/p/<token>/`` — the preference centre (per topic; the form carries the token).

Unsubscribe and preference links expire and can be invalidated (``selectors.mail_link_state``).
Such a link shows only the expired-link page (410): it names nobody and shows no topic, and
offers a button that mails a fresh link to the person it was made for (``resend=1``) and one
that still unsubscribes — an opt-out through an authentic link is honoured whatever its age,
one-click included, because refusing it would keep mailing someone who asked to stop.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sokyaku.core.errors import NotFound
from sokyaku.core.http import client_ip
from sokyaku.messaging import tokens
from sokyaku.messaging.selectors import LinkState, mail_link_max_age, mail_link_state
from sokyaku.messaging.services import links, tracking

# The smallest transparent GIF (43 bytes).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")[:500]


def _read(purpose: str, token: str) -> tuple[int, int]:
    try:
        return tokens.token_read(purpose, token)
    except NotFound as exc:
        raise Http404 from exc


@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    message_id, _position = _read(tokens.OPEN, token)
    try:
        tracking.message_open_record(
            message_id=message_id,
            ip=client_ip(request),
            user_agent=_agent(request),
            method=request.method or "GET",
        )
    except NotFound as exc:
        raise Http404 from exc
    response = HttpResponse(PIXEL, content_type="image/gif")
    add_never_cache_headers(response)
    return response


@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    message_id, position = _read(tokens.CLICK, token)
    try:
        url = tracking.message_click_record(
            message_id=message_id,
            position=position,
            ip=client_ip(request),
            user_agent=_agent(request),
            method=request.method or "GET",
        )
    except NotFound as exc:
        raise Http404 from exc
    response = HttpResponseRedirect(url)
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    return response


def _link_state(purpose: str, token: str) -> LinkState:
    try:
        return mail_link_state(link=tokens.link_read(purpose, token))
    except NotFound as exc:
        raise Http404 from exc


def _unsubscribe(request: HttpRequest, state: LinkState, method: str) -> None:
    try:
        tracking.message_unsubscribe(
            message_id=state.message_id,
            ip=client_ip(request),
            user_agent=_agent(request),
            method=method,
        )
    except NotFound as exc:
        raise Http404 from exc


def _expired(request: HttpRequest, action: str, optout: dict[str, str]) -> HttpResponse:
    """The page of a link that no longer opens anyone's settings: nothing about the person."""
    response = _page(
        request,
        "messaging/public/link_expired.html",
        {"action": action, "optout": optout, "days": mail_link_max_age().days},
    )
    response.status_code = 410
    return response


def _fresh_link(request: HttpRequest, state: LinkState) -> HttpResponse:
    try:
        links.preferences_link_send(message_id=state.message_id)
    except NotFound as exc:
        raise Http404 from exc
    return _page(request, "messaging/public/link_sent.html", {})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    state = _link_state(tokens.UNSUBSCRIBE, token)
    if request.method == "POST":
        if request.POST.get("resend") == "1":
            return _fresh_link(request, state)
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        _unsubscribe(request, state, "one-click" if one_click else "page")
        if one_click:
            return HttpResponse(status=200)  # RFC 8058: the provider reads only the status
        return _page(request, "messaging/public/unsubscribed.html", {"token": token})
    if not state.valid:
        return _expired(request, request.path, optout={})
    preferences_path = reverse(
        "mail:preferences",
        args=[tokens.token_make(tokens.PREFERENCES, state.message_id, issued_at=state.issued_at)],
    )
    return _page(
        request,
        "messaging/public/unsubscribe_confirm.html",
        {"token": token, "preferences_path": preferences_path},
    )


@csrf_exempt
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    state = _link_state(tokens.PREFERENCES, token)
    message_id = state.message_id
    if request.method == "POST" and request.POST.get("resend") == "1":
        return _fresh_link(request, state)
    if not state.valid:
        if request.method == "POST" and request.POST.get("all") == "1":
            _unsubscribe(request, state, "preferences")
            return _page(request, "messaging/public/unsubscribed.html", {"token": token})
        return _expired(request, request.path, optout={"all": "1"})
    saved = False
    try:
        if request.method == "POST":
            if request.POST.get("all") == "1":
                tracking.message_unsubscribe(
                    message_id=message_id,
                    ip=client_ip(request),
                    user_agent=_agent(request),
                    method="preferences",
                )
            else:
                tracking.preferences_save(
                    message_id=message_id,
                    topic_keys=request.POST.getlist("topic"),
                    ip=client_ip(request),
                    user_agent=_agent(request),
                )
            saved = True
        topics = tracking.preference_topics(message_id=message_id)
    except NotFound as exc:
        raise Http404 from exc
    return _page(
        request,
        "messaging/public/preferences.html",
        {"token": token, "topics": topics, "saved": saved, "title": _("Mail preferences")},
    )


def _page(request: HttpRequest, template: str, context: dict[str, object]) -> HttpResponse:
    response = render(request, template, context)
    add_never_cache_headers(response)
    response["X-Robots-Tag"] = "noindex"
    return response
