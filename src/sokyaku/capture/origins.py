"""Which sites may post a form, and where a form may send people afterwards.

A form's allow-list holds entries of three shapes: ``https://www.example.co.jp`` (that scheme,
host and port), ``www.example.co.jp`` (that host over http or https, any port) and
``*.example.co.jp`` (any subdomain of example.co.jp, not the domain itself). sokyaku's own site
(the request's host and ``SITE_URL``) is always allowed. A redirect after submit must go to an
allowed host over http(s): a form can never be used as an open redirect.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ENTRIES = 50


class InvalidOrigin(ValueError):
    """An allow-list entry or URL that cannot be understood."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    @property
    def text(self) -> str:
        default = _DEFAULT_PORTS.get(self.scheme)
        suffix = "" if self.port == default else f":{self.port}"
        return f"{self.scheme}://{self.host}{suffix}"


def _host_clean(host: str) -> str:
    host = host.strip().rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidOrigin(host) from exc
    if host == "localhost" or _HOST_RE.match(host) or _is_ip(host):
        return host
    raise InvalidOrigin(host)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def origin_parse(value: str) -> Origin | None:
    """The origin (scheme, host, port) of a URL or an ``Origin`` header; ``None`` for anything
    that is not http(s) (``null``, ``file:``, garbage)."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    try:
        host = _host_clean(parts.hostname)
    except InvalidOrigin:
        return None
    return Origin(scheme=parts.scheme, host=host, port=port or _DEFAULT_PORTS[parts.scheme])


def origin_entry_clean(raw: str) -> str:
    """An allow-list entry in its stored form; raises ``InvalidOrigin`` for a bad one.

    ``https://Example.co.jp/contact`` → ``https://example.co.jp``; ``*.Example.co.jp`` →
    ``*.example.co.jp``; ``www.example.co.jp`` stays a bare host.
    """
    value = raw.strip()
    if not value or len(value) > 300:
        raise InvalidOrigin(raw)
    if "://" in value:
        origin = origin_parse(value)
        if origin is None:
            raise InvalidOrigin(raw)
        return origin.text
    if value.startswith("*."):
        host = _host_clean(value[2:])
        if "." not in host or _is_ip(host):
            raise InvalidOrigin(raw)  # "*.com" or "*.1.2.3" would allow far too much
        return f"*.{host}"
    if "/" in value or ":" in value.strip("[]"):
        raise InvalidOrigin(raw)
    return _host_clean(value)


def _entry_matches(entry: str, origin: Origin) -> bool:
    if "://" in entry:
        return entry == origin.text
    if entry.startswith("*."):
        return origin.host.endswith(entry[1:])
    return origin.host == entry


def own_origins(request: HttpRequest | None = None) -> list[Origin]:
    """sokyaku's own origins: ``SITE_URL`` and the host this request came to."""
    found = [o for o in [origin_parse(settings.SITE_URL)] if o is not None]
    if request is not None:
        mine = origin_parse(f"{request.scheme}://{request.get_host()}")
        if mine is not None:
            found.append(mine)
    return found


def origin_allowed(
    *, origin: Origin, allowed: Iterable[str], request: HttpRequest | None = None
) -> bool:
    """Whether ``origin`` is sokyaku itself or on the allow-list."""
    if any(origin == own for own in own_origins(request)):
        return True
    return any(_entry_matches(entry, origin) for entry in allowed)


def request_origin(request: HttpRequest) -> tuple[bool, Origin | None]:
    """(whether the browser said where the request came from, that origin).

    ``Origin`` decides when present, else ``Referer``. ``(True, None)`` means a source was
    named but it is no web origin (``Origin: null`` from a sandboxed frame or a file): refused.
    """
    header = request.headers.get("Origin") or request.headers.get("Referer") or ""
    if not header:
        return False, None
    return True, origin_parse(header)


def redirect_allowed(
    *, url: str, allowed: Iterable[str], request: HttpRequest | None = None
) -> bool:
    """Whether a form may send people to ``url`` after submitting (http(s), allowed host)."""
    origin = origin_parse(url)
    if origin is None or "\\" in url or any(ord(c) < 32 for c in url):
        return False
    return origin_allowed(origin=origin, allowed=allowed, request=request)
