"""Chat delivery: outbox rows with ``channel = chat`` to a generic JSON webhook, a Slack incoming
webhook or the LINE Messaging API (push), with httpx.

Payloads:

- generic: ``{"text", "message_id", "contact": {id, name, email, company, url}}``; when the
  channel has a secret, ``X-Sokyaku-Signature: sha256=<hex HMAC-SHA256 of the body>``;
- Slack: ``{"text", "blocks": [section mrkdwn]}``;
- LINE: ``POST https://api.line.me/v2/bot/message/push`` with ``Authorization: Bearer <token>``
  and ``{"to": <id>, "messages": [{"type": "text", ...}]}``.

Who ``to`` is depends on the row's ``recipient_kind`` and nothing else: a ``contact`` message
goes to ``contact.custom_fields["line_user_id"]``; an internal notice (``staff_user``,
``team_channel``, see ``notices``) goes to the staff user's own LINE user id or the channel's
team group id — never to the contact it is about, even when that contact has a LINE id. On
Slack an internal notice mentions its staff user (``<@member id>``); the generic payload names
its ``recipient`` (``{"kind", "user"}``), and ``contact`` is then the lead it is about.

SSRF guard: the host is resolved first and every address must be public — private, loopback,
link-local, multicast, reserved, unspecified and IPv4-mapped IPv6 forms of those are refused —
and the request then goes to the checked address (Host header and TLS SNI keep the name), so a
DNS answer that changes between check and connect cannot redirect it. Redirects are not
followed. ``SOKYAKU_CHAT_ALLOW_PRIVATE=1`` (tests against a local server only) lifts the guard.

Outcomes are recorded like mail: 2xx → ``sent`` + ``chat_sent``; 429, 5xx, network errors →
retry with backoff (``failed`` after ``MAIL_MAX_ATTEMPTS``); other 4xx and refused targets →
``failed``; no consent, no LINE user id (of the contact, or of the staff user or team for an
internal notice), an inactive channel → ``suppressed`` with the reason. Only a message to a
contact is recorded as ``chat_sent`` on the contact's timeline.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.template import Context, TemplateSyntaxError

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import EventSource, EventType
from sokyaku.consent.selectors import may_send
from sokyaku.core import clock
from sokyaku.core import selectors as core_selectors
from sokyaku.messaging import mail_syntax
from sokyaku.messaging.models import ChatKind, Message, MessageStatus, RecipientKind, Stream
from sokyaku.messaging.services.delivery import DeliveryReport, retry_delay

logger = logging.getLogger(__name__)

LINE_PUSH_URL = "https://api.line.me/v2/bot/message/push"
TIMEOUT = httpx.Timeout(10.0)
# The mail templates' language, without escaping (chat text is plain text): no {% now %},
# {% debug %}, {% load %} or |safe in a notice text.
_ENGINE = mail_syntax.engine(autoescape=False)
_FIELDS = [
    "status",
    "body_text",
    "headers",
    "suppressed_reason",
    "attempts",
    "last_error",
    "next_attempt_at",
    "lease_until",
    "sent_at",
    "failed_at",
]


class RefusedTarget(Exception):
    """The webhook URL resolves to an address we must not call (SSRF guard)."""


def address_forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether an address is not a public one (private, loopback, link-local, …)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return address_forbidden(mapped)
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


@dataclass(frozen=True)
class Target:
    url: str  # with the host replaced by the checked address
    host: str  # the original host name (Host header, SNI)


def target_check(url: str, *, allow_private: bool | None = None) -> Target:
    """Resolve ``url``'s host and refuse non-public addresses; ``RefusedTarget`` explains.

    ``allow_private`` lifts the guard (default: ``SOKYAKU_CHAT_ALLOW_PRIVATE``); outgoing
    webhooks pass their own operator setting.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget(f"Not an http(s) URL: {url}")
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise RefusedTarget(f"Cannot resolve {host}: {exc}") from exc
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if allow_private is None:
        allow_private = settings.CHAT_ALLOW_PRIVATE
    if not allow_private:
        bad = [a for a in addresses if address_forbidden(a)]
        if bad:
            raise RefusedTarget(f"{host} resolves to a non-public address ({bad[0]}).")
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return Target(url=urlunsplit(parts._replace(netloc=netloc)), host=host)


def _is_notice(message: Message) -> bool:
    return message.recipient_kind != RecipientKind.CONTACT


def _text(message: Message) -> str:
    if message.body_text:
        return message.body_text  # rendered on an earlier attempt
    if _is_notice(message):
        # Written by our code with the lead's own words in it: a value, never template source.
        notification = (message.context or {}).get("notification") or {}
        return str(notification.get("text") or "").strip()
    from sokyaku.messaging.rendering import contact_context

    source = str(message.context.get("text", ""))
    data: dict[str, Any] = {**message.context, "contact": contact_context(message.contact)}
    try:
        return _ENGINE.from_string(source).render(Context(data)).strip()
    except TemplateSyntaxError:
        return source


def _contact_payload(message: Message) -> dict[str, Any]:
    contact = message.contact
    if contact is None:
        return {}
    return {
        "id": contact.pk,
        "name": contact.display_name,
        "email": contact.email,
        "company": contact.company.name if contact.company else "",
        "url": f"{settings.SITE_URL}/contacts/{contact.pk}/",
    }


def _staff_ids(message: Message) -> tuple[str, str]:
    """The staff user's (Slack member id, LINE user id), blank when unset."""
    if message.staff_user is None:
        return "", ""
    profile = core_selectors.staff_identity(user=message.staff_user)
    if profile is None:
        return "", ""
    return profile.slack_member_id, profile.line_user_id


def line_to(message: Message) -> str:
    """Whom a LINE push goes to (see the module): decided by ``recipient_kind`` alone."""
    channel = message.chat_channel
    if message.recipient_kind == RecipientKind.STAFF_USER:
        return _staff_ids(message)[1]
    if message.recipient_kind == RecipientKind.TEAM_CHANNEL:
        return channel.team_to if channel is not None else ""
    custom = message.contact.custom_fields if message.contact else {}
    return str((custom or {}).get("line_user_id", ""))


def _recipient_payload(message: Message) -> dict[str, Any]:
    user = message.staff_user
    slack, line = _staff_ids(message)
    return {
        "kind": message.recipient_kind,
        "user": None
        if user is None
        else {
            "id": user.pk,
            "name": " ".join(p for p in (user.last_name, user.first_name) if p)
            or user.get_username(),
            "email": user.email,
            "slack_member_id": slack,
            "line_user_id": line,
        },
    }


def chat_request(message: Message, text: str) -> tuple[str, dict[str, str], bytes]:
    """``(url, headers, body)`` for the message's channel (no network)."""
    channel = message.chat_channel
    assert channel is not None
    headers = {"Content-Type": "application/json; charset=utf-8"}
    payload: dict[str, Any]
    url = channel.url
    if _is_notice(message) and channel.kind == ChatKind.SLACK:
        member = _staff_ids(message)[0]
        if member:
            text = f"<@{member}> {text}"
    if channel.kind == ChatKind.SLACK:
        payload = {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
    elif channel.kind == ChatKind.LINE:
        url = channel.url or LINE_PUSH_URL
        payload = {
            "to": line_to(message),
            "messages": [{"type": "text", "text": text[:5000]}],
        }
        headers["Authorization"] = f"Bearer {channel.secret}"
    else:
        payload = {"text": text, "message_id": message.pk, "contact": _contact_payload(message)}
        if _is_notice(message):
            payload["recipient"] = _recipient_payload(message)
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    if channel.kind == ChatKind.GENERIC and channel.secret:
        digest = hmac.new(channel.secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Sokyaku-Signature"] = f"sha256={digest}"
    return url, headers, body


def _refusal(message: Message) -> str:
    """Why this chat message may not go, or ``""``."""
    channel = message.chat_channel
    if channel is None:
        return "The chat channel was deleted."
    if not channel.is_active:
        return f"Chat channel “{channel.name}” is inactive."
    contact = message.contact
    if contact is not None and contact.merged_into_id is not None:
        return "The contact was merged into another contact."
    if message.stream == Stream.MARKETING:
        if contact is None:
            return "The contact no longer exists."
        if not message.topic_key or not may_send(
            contact_id=contact.pk, topic_key=message.topic_key
        ):
            return f"No consent or legal basis for topic “{message.topic_key}”."
    if channel.kind == ChatKind.LINE and not line_to(message):
        if message.recipient_kind == RecipientKind.STAFF_USER:
            return "The staff user has no LINE user id (set it on their profile)."
        if message.recipient_kind == RecipientKind.TEAM_CHANNEL:
            return f"Chat channel “{channel.name}” has no team group id for internal notices."
        return "The contact has no LINE user id (custom field line_user_id)."
    return ""


def chat_messages_deliver(*, messages: Sequence[Message]) -> DeliveryReport:
    """Send claimed (``sending``) chat messages and record each outcome on its row."""
    report = DeliveryReport()
    now = clock.now()
    events = []
    with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
        for message in messages:
            message.lease_until = None
            reason = _refusal(message)
            if reason:
                message.status = MessageStatus.SUPPRESSED
                message.suppressed_reason = reason
                report.suppressed += 1
                continue
            text = _text(message)
            message.body_text = text
            url, headers, body = chat_request(message, text)
            message.headers = {
                "URL": url,
                **{k: v for k, v in headers.items() if k != "Authorization"},
            }
            message.attempts += 1
            try:
                target = target_check(url)
                response = client.post(
                    target.url,
                    content=body,
                    headers={**headers, "Host": target.host},
                    extensions={"sni_hostname": target.host},
                )
            except RefusedTarget as exc:
                _chat_fail(message, report, f"Refused target: {exc}")
                continue
            except httpx.HTTPError as exc:
                _chat_retry(message, report, f"{type(exc).__name__}: {exc}", now)
                continue
            if response.is_success:
                message.status = MessageStatus.SENT
                message.sent_at = now
                message.last_error = ""
                message.next_attempt_at = None
                report.sent += 1
                if message.contact_id is not None and not _is_notice(message):
                    events.append(
                        event_build(
                            type=EventType.CHAT_SENT,
                            occurred_at=now,
                            source=EventSource.SYSTEM,
                            contact_id=message.contact_id,
                            properties={
                                "message_id": message.pk,
                                "channel": message.chat_channel.name
                                if message.chat_channel
                                else "",
                            },
                            idempotency_key=f"{EventType.CHAT_SENT}:{message.pk}",
                        )
                    )
            elif response.status_code == 429 or response.status_code >= 500:
                _chat_retry(message, report, f"HTTP {response.status_code}", now)
            else:
                _chat_fail(message, report, f"HTTP {response.status_code}: {response.text[:300]}")
    Message.objects.bulk_update(list(messages), _FIELDS)
    if events:
        activity_services.event_ingest_batch(events=events)
    return report


def _chat_retry(message: Message, report: DeliveryReport, error: str, now: Any) -> None:
    if message.attempts >= settings.MAIL_MAX_ATTEMPTS:
        _chat_fail(message, report, error)
        return
    message.status = MessageStatus.QUEUED
    message.last_error = error[:2000]
    message.next_attempt_at = now + retry_delay(message.attempts)
    report.retrying += 1


def _chat_fail(message: Message, report: DeliveryReport, error: str) -> None:
    message.status = MessageStatus.FAILED
    message.failed_at = clock.now()
    message.last_error = error[:2000]
    message.next_attempt_at = None
    report.failed += 1
    report.errors.append(f"{message.pk}: {error}")
