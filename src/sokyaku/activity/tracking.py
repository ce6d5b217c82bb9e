"""Website tracking: what the snippet collects, how a hit is checked, and how it is stored.

``COLLECTED_FIELDS`` is the one list of what a browser sends: the snippet (``snippet.js``) builds
its payload from it, ``hit_parse`` reads nothing else, and the public notice (電気通信事業法の
外部送信規律) is generated from it, so the three cannot drift apart. ``NOT_STORED`` lists what
every HTTP request carries anyway and what it is used for.

A hit becomes a ``page_view`` event (source ``tracking``) through
``activity.services.event_ingest_batch`` (``page_views_store``). A visitor that identified itself
(``Visitor.contact``) has its views on the contact's timeline; a view of such a visitor that
carries UTM parameters or comes from another site is also a marketing touch, which
``contacts.touches.page_views_record`` takes (``Hit.touch`` says what it is).
Bots, link checkers and prefetches are answered but not stored (``request_is_automated``).

``hits_admit`` keeps one client from writing without bound (``core.ratelimit``, settings
``TRACKING_*``): page views per client address and per visitor, new visitors per client address,
and page views from everyone together, each per window. A refused request stores nothing.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawlerdetect import CrawlerDetect
from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from sokyaku.activity import events, services
from sokyaku.activity.models import Visitor
from sokyaku.core import clock, ratelimit
from sokyaku.core.errors import ValidationError

logger = logging.getLogger(__name__)

COOKIE_NAME = "sk_vid"
# About 13 months, the longest lifetime commonly accepted for analytics cookies.
COOKIE_MAX_AGE_DAYS = 395
OPT_OUT_KEY = "sk_optout"
VISITOR_ID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
# One request may carry a few queued page views, never more.
MAX_HITS_PER_REQUEST = 20
MAX_BODY_BYTES = 32 * 1024


@dataclass(frozen=True)
class TrackedField:
    """One item the snippet sends. ``origin`` says where the browser takes it from: the cookie
    (``visitor``), ``location.href`` (``location``), ``document.title`` (``title``),
    ``document.referrer`` (``referrer``) or the page URL's query string (``query``)."""

    key: str
    origin: str
    label: Promise
    purpose: Promise
    max_length: int


_CAMPAIGN_PURPOSE = _(
    "To measure which advertisements, emails and other campaigns bring visitors and enquiries."
)

COLLECTED_FIELDS: tuple[TrackedField, ...] = (
    TrackedField(
        "visitor_id",
        "visitor",
        _("Visitor ID (a random number kept in the first-party cookie sk_vid)"),
        _(
            "To tell visits of the same browser apart from others and, when you send a form, "
            "to link the pages you read before to your enquiry."
        ),
        64,
    ),
    TrackedField(
        "url",
        "location",
        _("Address (URL) of the page viewed"),
        _("To know which pages and products visitors are interested in."),
        2048,
    ),
    TrackedField(
        "title",
        "title",
        _("Title of the page viewed"),
        _("To show the pages viewed in a readable way."),
        300,
    ),
    TrackedField(
        "referrer",
        "referrer",
        _("Address of the previous page (referrer)"),
        _("To know through which website or search engine visitors arrived."),
        2048,
    ),
    TrackedField("utm_source", "query", _("Campaign parameter utm_source"), _CAMPAIGN_PURPOSE, 200),
    TrackedField("utm_medium", "query", _("Campaign parameter utm_medium"), _CAMPAIGN_PURPOSE, 200),
    TrackedField(
        "utm_campaign", "query", _("Campaign parameter utm_campaign"), _CAMPAIGN_PURPOSE, 200
    ),
    TrackedField("utm_term", "query", _("Campaign parameter utm_term"), _CAMPAIGN_PURPOSE, 200),
    TrackedField(
        "utm_content", "query", _("Campaign parameter utm_content"), _CAMPAIGN_PURPOSE, 200
    ),
)
FIELD_BY_KEY = {f.key: f for f in COLLECTED_FIELDS}
UTM_KEYS = tuple(f.key for f in COLLECTED_FIELDS if f.origin == "query")


@dataclass(frozen=True)
class Disclosure:
    label: Promise
    purpose: Promise


# Sent with every HTTP request by the browser itself; used at the moment of receipt only.
NOT_STORED: tuple[Disclosure, ...] = (
    Disclosure(
        _("IP address"),
        _("Needed to answer the request. Not stored with the page view."),
    ),
    Disclosure(
        _("Browser type (User-Agent) and prefetch headers"),
        _(
            "To leave out visits by search-engine robots, link checkers and prefetching. "
            "Not stored with the page view."
        ),
    ),
)
# Recorded by the server with each page view (not sent by the browser).
RECORDED: tuple[Disclosure, ...] = (
    Disclosure(_("Time the page view was received"), _("To show when pages were viewed.")),
)


# --- Checking requests and hits -------------------------------------------------------------

_crawlers = CrawlerDetect()
# Headers browsers send on speculative loads (prefetch, prerender) that no person asked for.
_PREFETCH_HEADERS = ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz")


def request_is_automated(*, user_agent: str, headers: Mapping[str, str]) -> bool:
    """Whether a request comes from a bot, a link checker or a prefetch (not a person reading).

    An empty User-Agent counts as automated: every browser sends one.
    """
    for name in _PREFETCH_HEADERS:
        value = headers.get(name, "").lower()
        if "prefetch" in value or "preview" in value:
            return True
    agent = user_agent.strip()
    return not agent or bool(_crawlers.is_crawler(agent[:1000]))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: object, max_length: int) -> str:
    """Text storable in any database: no control characters (NUL breaks PostgreSQL), no lone
    surrogates, trimmed and cut to ``max_length``."""
    if value is None or isinstance(value, bool | dict | list):
        return ""
    text = str(value)
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text).strip()[:max_length]


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True)
class Hit:
    """One page view as the browser reported it, checked and cut to size."""

    visitor_id: str
    url: str
    title: str = ""
    referrer: str = ""
    utm: dict[str, str] = field(default_factory=dict)

    def touch(self) -> dict[str, str] | None:
        """The marketing touch this view is: UTM parameters, or a referrer from another site;
        ``None`` for an internal or direct view."""
        referrer_host = _host(self.referrer)
        external = bool(referrer_host) and _site(referrer_host) != _site(_host(self.url))
        if not self.utm and not external:
            return None
        touch = {key.removeprefix("utm_"): value for key, value in self.utm.items()}
        touch["url"] = self.url
        if external:
            touch["referrer"] = self.referrer
        return touch


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _site(host: str) -> str:
    return host.removeprefix("www.")


def hit_parse(data: Mapping[str, Any], *, visitor_id: str = "") -> Hit:
    """A ``Hit`` from what a browser sent (the keys of ``COLLECTED_FIELDS``; others ignored).

    ``visitor_id`` is used when the data has none (the pixel's cookie). UTM parameters missing
    from the data are read from the page URL. Over-long values are cut, not refused. Raises
    ``ValidationError`` for a missing or malformed visitor id or a URL that is not http(s).
    """
    values = {f.key: _text(data.get(f.key), f.max_length) for f in COLLECTED_FIELDS}
    vid = values["visitor_id"] or visitor_id
    if not VISITOR_ID_RE.fullmatch(vid):
        raise ValidationError("A visitor_id is required.", field_errors={"visitor_id": "invalid"})
    url = values["url"]
    if not _is_web_url(url):
        raise ValidationError("url must be an http(s) URL.", field_errors={"url": "invalid"})
    try:
        query = parse_qs(urlsplit(url).query)
    except ValueError:
        query = {}
    utm: dict[str, str] = {}
    for key in UTM_KEYS:
        value = values[key] or _text((query.get(key) or [""])[0], FIELD_BY_KEY[key].max_length)
        if value:
            utm[key] = value
    return Hit(visitor_id=vid, url=url, title=values["title"], referrer=values["referrer"], utm=utm)


# --- Limits ---------------------------------------------------------------------------------


def hits_admit(*, ip: str | None, visitor_ids: Sequence[str]) -> ratelimit.Decision:
    """Whether a request carrying page views of ``visitor_ids`` (one per view) from ``ip`` may
    be stored, counting it if so. New visitors (ids not stored yet) count against the
    address's budget of new visitors, so one client cannot mint visitors without bound."""
    window = settings.TRACKING_WINDOW_SECONDS
    per_visitor = Counter(visitor_ids)
    charges = [
        ratelimit.Charge(f"track:v:{vid}", settings.TRACKING_VISITOR_LIMIT, window, count)
        for vid, count in per_visitor.items()
    ]
    if ip:
        charges.append(
            ratelimit.Charge(f"track:ip:{ip}", settings.TRACKING_IP_LIMIT, window, len(visitor_ids))
        )
        if settings.TRACKING_NEW_VISITORS_PER_IP > 0:
            known = set(Visitor.objects.filter(id__in=per_visitor).values_list("id", flat=True))
            if new := len(per_visitor.keys() - known):
                charges.append(
                    ratelimit.Charge(
                        f"track:new:{ip}", settings.TRACKING_NEW_VISITORS_PER_IP, window, new
                    )
                )
    charges.append(
        ratelimit.Charge("track:all", settings.TRACKING_GLOBAL_LIMIT, window, len(visitor_ids))
    )
    decision = ratelimit.charge(charges)
    if not decision.allowed and decision.refused is not None:
        logger.warning(
            "tracking.limited", extra={"limit": decision.refused.key.split(":")[1], "ip": ip}
        )
    return decision


# --- Storing --------------------------------------------------------------------------------


def page_views_store(*, hits: Sequence[Hit], at: datetime | None = None) -> int:
    """Store ``hits`` as page views received at ``at`` (default: now), in one batch. Views of
    a visitor that identified itself go to its contact (ingestion does that). Returns the number
    of events stored. The touches among them are the contact's: ``contacts.touches`` takes them
    (``page_views_record``)."""
    if not hits:
        return 0
    at = at or clock.now()
    stored = services.event_ingest_batch(
        events=[
            events.page_view(
                occurred_at=at,
                url=hit.url,
                title=hit.title,
                referrer=hit.referrer,
                utm=hit.utm,
                visitor_id=hit.visitor_id,
            )
            for hit in hits
        ]
    )
    logger.info("tracking.collected", extra={"stored": stored})
    return stored
