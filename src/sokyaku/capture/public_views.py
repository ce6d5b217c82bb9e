"""Public endpoints, no login: hosted forms (``/f/<slug>``), the embed script and fragment,
double opt-in confirmation links and landing pages (``/p/<slug>``).

The form POST is ``csrf_exempt`` on purpose: an embedded form posts from another site, where no
CSRF cookie of ours exists. What protects it instead: the Origin/Referer allow-list of the form
(403, nothing stored), a signed render token with a minimum fill time, a honeypot, a per-IP rate
limit counted from stored submissions (429), a body-size limit (413) and one submission per
rendered form (a retry stores nothing new). A browser that asks for JSON (``Accept:
application/json``, as the embed script does) gets JSON with CORS headers for allowed origins;
everything else gets HTML pages. All pages show in the form's (or page's) language.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from sokyaku.capture import display, origins, selectors, tokens
from sokyaku.capture import fields as catalogue
from sokyaku.capture.models import BlockKind, Form, LandingPage
from sokyaku.capture.richtext import markdown_render
from sokyaku.capture.services import confirmation
from sokyaku.capture.services import submission as pipeline
from sokyaku.core.errors import NotFound, SokyakuError, TooManyRequests, ValidationError
from sokyaku.core.http import client_ip

logger = logging.getLogger(__name__)

# A form post is a few kilobytes; anything near this is not a person filling in a form.
MAX_BODY_BYTES = 64 * 1024
VISITOR_COOKIE = "sk_vid"  # set by the tracking snippet
OPT_OUT_COOKIE = "sk_optout"
_JSON = {"ensure_ascii": False}


# --- Request helpers ------------------------------------------------------------------------


# A customer's referral link (``/r/<code>``) leaves its code in this signed first-party cookie;
# a later form submission carries it, so the lead is attributed to the referrer.
REFERRAL_COOKIE = "sk_ref"
REFERRAL_COOKIE_SALT = "sokyaku.referral"
REFERRAL_COOKIE_AGE = timedelta(days=90)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _clean_text(value: str, limit: int) -> str:
    return "".join(c for c in value if c >= " " or c == "\t")[:limit]


def _posted(request: HttpRequest) -> dict[str, list[str]]:
    return {key: request.POST.getlist(key) for key in request.POST}


def _last(posted: Mapping[str, Sequence[str]], name: str) -> str:
    values = posted.get(name) or []
    return str(values[-1]) if values else ""


def _tracking_refused(request: HttpRequest) -> bool:
    """The person opted out of tracking (the snippet's opt-out cookie) or their browser sends
    Global Privacy Control: their anonymous visits are then not joined to them."""
    return request.COOKIES.get(OPT_OUT_COOKIE) == "1" or request.headers.get("Sec-GPC") == "1"


def _arrival(request: HttpRequest, posted: Mapping[str, Sequence[str]]) -> pipeline.Arrival:
    visitor = ""
    if not _tracking_refused(request):
        visitor = catalogue.visitor_id_clean(_last(posted, catalogue.VISITOR)) or (
            catalogue.visitor_id_clean(request.COOKIES.get(VISITOR_COOKIE, ""))
        )
    return pipeline.Arrival(
        ip=client_ip(request),
        user_agent=_clean_text(request.headers.get("User-Agent", ""), 500),
        page_url=_clean_text(
            _last(posted, catalogue.PAGE_URL) or request.headers.get("Referer", ""), 1000
        ),
        referrer=_clean_text(_last(posted, catalogue.REFERRER), 1000),
        visitor_id=visitor,
        utm={k: _clean_text(_last(posted, k), 200) for k in catalogue.UTM_KEYS},
        ref=_clean_text(
            request.get_signed_cookie(
                REFERRAL_COOKIE, default="", salt=REFERRAL_COOKIE_SALT, max_age=REFERRAL_COOKIE_AGE
            )
            or "",
            32,
        ),
    )


def _cors(response: HttpResponse, origin: origins.Origin | None, request: HttpRequest) -> None:
    """Let an allowed other site read the answer (never with cookies)."""
    patch_vary_headers(response, ("Origin",))
    if origin is not None and not any(origin == own for own in origins.own_origins(request)):
        response["Access-Control-Allow-Origin"] = origin.text


def _message_page(
    request: HttpRequest, *, title: str, text: str, status: int, language: str | None = None
) -> HttpResponse:
    context = {"title": title, "text": text, "language": language or translation.get_language()}
    return render(request, "capture/public/message.html", context, status=status)


def _error(
    request: HttpRequest,
    status: int,
    detail: str,
    *,
    origin: origins.Origin | None = None,
    title: str = "",
    extra: Mapping[str, Any] | None = None,
) -> HttpResponse:
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse(
            {"ok": False, "detail": detail, **(extra or {})}, status=status, json_dumps_params=_JSON
        )
    else:
        response = _message_page(request, title=title or detail, text=detail, status=status)
    _cors(response, origin, request)
    return response


def _published_form(slug: str) -> Form | None:
    try:
        return selectors.form_public_get(slug=slug)
    except NotFound:
        return None


def _not_found(request: HttpRequest) -> HttpResponse:
    return _error(request, 404, gettext("This form is not available."), title=gettext("Not found"))


# --- Rendering ------------------------------------------------------------------------------


def _shown(
    request: HttpRequest,
    form: Form,
    *,
    hidden: Mapping[str, str],
    posted: Mapping[str, Sequence[str]] | None = None,
    errors: Mapping[str, str] | None = None,
    message: str = "",
) -> display.ShownForm:
    """The form as shown now, with a fresh render token (the person's view of it)."""
    text = selectors.purpose_text_current(key=form.purpose_key)
    token = tokens.render_token_issue(form_id=form.pk, purpose_text_id=text.pk if text else None)
    return display.form_shown(
        form=form,
        action_url=request.build_absolute_uri(reverse("public:form", kwargs={"slug": form.slug})),
        token=token,
        purpose_text=text,
        hidden=hidden,
        values=posted,
        errors=errors,
        message=message,
        query={k: _clean_text(str(v), 500) for k, v in request.GET.items()},
    )


def _page_hidden(request: HttpRequest) -> dict[str, str]:
    """What a server-rendered form knows of the visit: UTM of the URL, the page, the referrer."""
    hidden = {k: _clean_text(request.GET.get(k, ""), 200) for k in catalogue.UTM_KEYS}
    hidden[catalogue.PAGE_URL] = _clean_text(request.build_absolute_uri(), 1000)
    hidden[catalogue.REFERRER] = _clean_text(request.headers.get("Referer", ""), 1000)
    return hidden


def _form_page(
    request: HttpRequest, form: Form, shown: display.ShownForm, *, status: int = 200
) -> HttpResponse:
    context = {"form": form, "shown": shown, "language": form.language}
    response = render(request, "capture/public/form_page.html", context, status=status)
    # Each rendering carries its own submission token: a shared cache must never hand one
    # visitor's page to another (their submissions would count as one).
    add_never_cache_headers(response)
    return response


# --- Hosted form ----------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST", "OPTIONS"])
def form_public(request: HttpRequest, slug: str) -> HttpResponse:
    """The hosted form: GET renders it, POST submits it (from here or an allowed site)."""
    form = _published_form(slug)
    if form is None:
        return _not_found(request)
    with translation.override(form.language):
        if request.method == "OPTIONS":
            return _preflight(request, form)
        if request.method == "POST":
            return _submit(request, form)
        return _form_page(request, form, _shown(request, form, hidden=_page_hidden(request)))


def _preflight(request: HttpRequest, form: Form) -> HttpResponse:
    named, origin = origins.request_origin(request)
    response = HttpResponse(status=204)
    if origin is not None and origins.origin_allowed(
        origin=origin, allowed=form.allowed_origins, request=request
    ):
        _cors(response, origin, request)
        response["Access-Control-Allow-Methods"] = "POST, GET"
        response["Access-Control-Allow-Headers"] = "Content-Type, Accept"
        response["Access-Control-Max-Age"] = "600"
    return response


def _submit(request: HttpRequest, form: Form) -> HttpResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = MAX_BODY_BYTES + 1
    named, origin = origins.request_origin(request)
    allowed = origin is not None and origins.origin_allowed(
        origin=origin, allowed=form.allowed_origins, request=request
    )
    cors_origin = origin if allowed else None
    if length > MAX_BODY_BYTES:
        return _error(request, 413, gettext("The submission is too large."), origin=cors_origin)
    if named and not allowed:
        logger.info(
            "capture.origin_refused",
            extra={"form": form.pk, "origin": origin.text if origin else "null"},
        )
        return _error(request, 403, gettext("This site may not send this form."))
    try:
        posted = _posted(request)
    except RequestDataTooBig:
        return _error(request, 413, gettext("The submission is too large."), origin=cors_origin)
    except SuspiciousOperation:
        return _error(
            request, 400, gettext("The submission could not be read."), origin=cors_origin
        )
    try:
        result = pipeline.submission_process(
            form=form, posted=posted, arrival=_arrival(request, posted)
        )
    except TooManyRequests as exc:
        response = _error(request, 429, gettext(exc.message), origin=cors_origin)
        response["Retry-After"] = str(exc.retry_after)
        return response
    except ValidationError as exc:
        return _refused(request, form, posted, exc, cors_origin)
    except SokyakuError as exc:
        logger.warning("capture.submit_failed", extra={"form": form.pk, "error": exc.message})
        return _error(
            request,
            exc.status,
            gettext("We could not take your submission. Please contact us directly."),
            origin=cors_origin,
        )
    return _thanks(request, form, result, cors_origin)


def _refused(
    request: HttpRequest,
    form: Form,
    posted: Mapping[str, Sequence[str]],
    exc: ValidationError,
    origin: origins.Origin | None,
) -> HttpResponse:
    expired = exc.message == pipeline.MSG_EXPIRED
    if _wants_json(request):
        body: dict[str, Any] = {
            "ok": False,
            "detail": gettext(exc.message),
            "errors": {name: gettext(msg) for name, msg in exc.field_errors.items()},
        }
        if expired:
            text = selectors.purpose_text_current(key=form.purpose_key)
            body["token"] = tokens.render_token_issue(
                form_id=form.pk, purpose_text_id=text.pk if text else None
            )
        response: HttpResponse = JsonResponse(body, status=422, json_dumps_params=_JSON)
    else:
        hidden = {k: _last(posted, k) for k in (*catalogue.UTM_KEYS, catalogue.PAGE_URL)}
        hidden[catalogue.REFERRER] = _last(posted, catalogue.REFERRER)
        hidden[catalogue.VISITOR] = _last(posted, catalogue.VISITOR)
        message = exc.message if not exc.field_errors else ""
        shown = _shown(
            request, form, hidden=hidden, posted=posted, errors=exc.field_errors, message=message
        )
        response = _form_page(request, form, shown, status=422)
    _cors(response, origin, request)
    return response


def _link_safe(url: str) -> bool:
    """An http(s) address or a path on this site (never ``javascript:`` or ``//other``)."""
    if url.startswith("/"):
        return not url.startswith("//") and "\\" not in url
    return url.lower().startswith(("http://", "https://"))


def _thanks(
    request: HttpRequest,
    form: Form,
    result: pipeline.SubmissionResult,
    origin: origins.Origin | None,
) -> HttpResponse:
    thank_you = result.thank_you
    redirect_url = thank_you.redirect_url
    if redirect_url and not origins.redirect_allowed(
        url=redirect_url, allowed=form.allowed_origins, request=request
    ):
        logger.warning("capture.redirect_refused", extra={"form": form.pk})
        redirect_url = ""
    message = thank_you.message or gettext("Thank you. We have received your submission.")
    confirm_note = (
        gettext("We have sent you an email. Please open the link in it to confirm.")
        if thank_you.needs_confirmation
        else ""
    )
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse(
            {
                "ok": True,
                "status": result.status if result.status != pipeline.IGNORED else pipeline.CREATED,
                "message": message,
                "confirmation": confirm_note,
                "links": [link for link in thank_you.links if _link_safe(link["url"])],
                "redirect": redirect_url,
            },
            status=200 if result.status == pipeline.DUPLICATE else 201,
            json_dumps_params=_JSON,
        )
    elif redirect_url:
        response = HttpResponseRedirect(redirect_url, status=303)
    else:
        context = {
            "form": form,
            "message": message,
            "confirm_note": confirm_note,
            "links": [link for link in thank_you.links if _link_safe(link["url"])],
            "language": form.language,
        }
        response = render(request, "capture/public/thanks.html", context)
    _cors(response, origin, request)
    return response


# --- Embedding ------------------------------------------------------------------------------


@require_GET
def form_embed_script(request: HttpRequest, slug: str) -> HttpResponse:
    """``/f/<slug>/embed.js``: renders the form into ``<div data-sokyaku-form="<slug>">`` on
    another site and sends it there with ``fetch`` (no cookies, no CSRF token needed)."""
    form = _published_form(slug)
    if form is None:
        return HttpResponse(
            "/* sokyaku: this form is not available */\n",
            status=404,
            content_type="text/javascript; charset=utf-8",
        )
    context = {
        "slug": form.slug,
        "site_url": settings.SITE_URL,
        "css_path": static("capture/form.css"),
    }
    response = render(
        request, "capture/embed.js", context, content_type="text/javascript; charset=utf-8"
    )
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def form_embed_fragment(request: HttpRequest, slug: str) -> HttpResponse:
    """The form's HTML for the embed script: readable only by allowed sites (CORS)."""
    form = _published_form(slug)
    if form is None:
        return _not_found(request)
    named, origin = origins.request_origin(request)
    if named and (
        origin is None
        or not origins.origin_allowed(origin=origin, allowed=form.allowed_origins, request=request)
    ):
        return _error(request, 403, gettext("This site may not show this form."))
    with translation.override(form.language):
        shown = _shown(request, form, hidden={})
        response = render(
            request,
            "capture/public/embed_fragment.html",
            {"form": form, "shown": shown, "site_url": settings.SITE_URL},
        )
    add_never_cache_headers(response)
    _cors(response, origin, request)
    return response


# --- Double opt-in --------------------------------------------------------------------------


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def form_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link of a confirmation mail: GET shows a confirm button, POST confirms."""
    if request.method == "POST":
        result = confirmation.confirmation_confirm(
            token=token,
            ip=client_ip(request),
            user_agent=_clean_text(request.headers.get("User-Agent", ""), 500),
        )
    else:
        result = confirmation.confirmation_check(token=token)
    language = result.submission.form.language if result.submission else None
    with translation.override(language or settings.LANGUAGE_CODE):
        if result.status == confirmation.INVALID:
            return _message_page(
                request,
                title=gettext("Link not valid"),
                text=gettext("This confirmation link is not valid."),
                status=404,
            )
        if result.status == confirmation.EXPIRED:
            return _message_page(
                request,
                title=gettext("Link expired"),
                text=gettext(
                    "This confirmation link has expired. Please send the form again to get a "
                    "new one."
                ),
                status=410,
            )
        if result.status == confirmation.ALREADY:
            return _message_page(
                request,
                title=gettext("Already confirmed"),
                text=gettext("Your registration is already confirmed. Thank you."),
                status=200,
            )
        if request.method == "POST":
            return _message_page(
                request,
                title=gettext("Confirmed"),
                text=gettext("Thank you. Your registration is confirmed."),
                status=200,
            )
        context = {
            "submission": result.submission,
            "form": result.submission.form if result.submission else None,
            "language": translation.get_language(),
        }
        return render(request, "capture/public/confirm.html", context)


# --- Landing pages --------------------------------------------------------------------------


@require_GET
def page_public(request: HttpRequest, slug: str) -> HttpResponse:
    """A published landing page with its blocks (forms rendered in place)."""
    try:
        page: LandingPage = selectors.page_public_get(slug=slug)
    except NotFound:
        return _message_page(
            request,
            title=gettext("Not found"),
            text=gettext("This page is not available."),
            status=404,
        )
    with translation.override(page.language):
        hidden = _page_hidden(request)
        blocks: list[dict[str, Any]] = []
        for block in page.blocks.all():
            item: dict[str, Any] = {"block": block}
            if block.kind == BlockKind.TEXT:
                item["html"] = markdown_render(block.text)
            elif block.kind == BlockKind.FORM:
                form = _published_form(block.form.slug) if block.form else None
                if form is None:
                    continue
                item["shown"] = _shown(request, form, hidden=hidden)
            blocks.append(item)
        context = {"page": page, "blocks": blocks, "language": page.language}
        response = render(request, "capture/public/page.html", context)
    if any("shown" in item for item in blocks):
        add_never_cache_headers(response)  # forms carry per-visitor tokens
    return response
