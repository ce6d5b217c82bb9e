"""What people do with a sent mail: opens, clicks, unsubscribes, preference changes — and the
rule that an opt-out stops every queued marketing message at once.

- ``message_open_record``: the first *human* open sets ``opened_at`` and writes
  ``email_opened`` ``{message_id, machine: false}``; a machine open (``machine_opens``) writes
  one ``email_opened`` with ``machine: true`` and sets nothing. Repeats write nothing.
- ``message_click_record``: resolves only a link stored for that message (no open redirect);
  a human click sets ``clicked_at`` (and ``opened_at``, a click implies an open) and writes one
  ``email_clicked`` ``{message_id, url}`` per link.
- ``message_unsubscribe``: RFC 8058 one-click or the confirmation page. It records a withdrawal
  of **all marketing topics** (a NULL-topic record, ``ConsentSource.UNSUBSCRIBE``): one-click
  gives the person no choice of topic, the mailbox provider's "unsubscribe" button reads as "no
  more mail from this sender", and 特定電子メール法 forbids further advertising mail to someone
  who refused it. The preference centre is where a person picks topics (and may opt in again).
- ``messages_stop_for_withdrawals``: the ``consent_withdrawn`` listener (registered in
  ``MessagingConfig.ready``): queued marketing messages of that contact (of the topic, or all
  for a ``*`` withdrawal) become ``suppressed`` "Opted out" in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

from django.db import transaction

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import event_build
from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.consent.models import ConsentSource, ConsentStatus, ConsentTopic, LegalBasis
from sokyaku.consent.selectors import consent_state
from sokyaku.consent.services import Evidence, consent_record
from sokyaku.core import clock
from sokyaku.core.errors import NotFound
from sokyaku.messaging.machine_opens import machine_request
from sokyaku.messaging.models import Message, MessageLink, MessageStatus, RecipientKind, Stream

logger = logging.getLogger(__name__)

OPTED_OUT = "Opted out"


def _message(message_id: int) -> Message:
    message = Message.objects.filter(pk=message_id).first()
    if message is None:
        raise NotFound("Unknown message.")
    return message


def _ingest(message: Message, type: str, key: str, **properties: Any) -> None:
    # A staff member opening or clicking an internal notice about a contact is not the
    # contact's engagement (no score, no timeline entry).
    if message.contact_id is None or message.recipient_kind != RecipientKind.CONTACT:
        return
    activity_services.event_ingest(
        event=event_build(
            type=type,
            occurred_at=clock.now(),
            source=EventSource.EMAIL,
            contact_id=message.contact_id,
            properties={"message_id": message.pk, **properties},
            idempotency_key=key,
        )
    )


def message_open_record(
    *, message_id: int, ip: str | None, user_agent: str, method: str = "GET"
) -> bool:
    """Record a pixel load; returns whether it counted as a machine open.

    Side effects: ``opened_at`` (first human open), one ``email_opened`` event per kind.
    Raises ``NotFound`` for an unknown message.
    """
    message = _message(message_id)
    now = clock.now()
    machine = machine_request(
        user_agent=user_agent, ip=ip, method=method, sent_at=message.sent_at, at=now
    )
    with transaction.atomic():
        if not machine:
            updated = Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(
                opened_at=now
            )
            if not updated:
                return False  # a repeat open: counted once
        kind = "machine" if machine else "human"
        _ingest(
            message, EventType.EMAIL_OPENED, f"email_opened:{message.pk}:{kind}", machine=machine
        )
    return machine


def message_click_record(
    *, message_id: int, position: int, ip: str | None, user_agent: str, method: str = "GET"
) -> str:
    """The stored URL of link ``position`` of the message (only those resolve).

    Side effects for a human click: ``clicked_at`` (and ``opened_at`` if unset), one
    ``email_clicked`` event per link. Raises ``NotFound`` for an unknown message or link.
    """
    link = (
        MessageLink.objects.filter(message_id=message_id, position=position)
        .select_related("message")
        .first()
    )
    if link is None:
        raise NotFound("Unknown link.")
    message = link.message
    now = clock.now()
    machine = machine_request(
        user_agent=user_agent, ip=ip, method=method, sent_at=message.sent_at, at=now,
        apple_rule=False,
    )  # fmt: skip
    if machine:
        return link.url
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, clicked_at__isnull=True).update(clicked_at=now)
        Message.objects.filter(pk=message.pk, opened_at__isnull=True).update(opened_at=now)
        _ingest(
            message,
            EventType.EMAIL_CLICKED,
            f"email_clicked:{message.pk}:{position}",
            url=link.url,
            position=position,
        )
    return link.url


def message_unsubscribe(
    *, message_id: int, ip: str | None = None, user_agent: str = "", method: str = "one-click"
) -> Message:
    """Opt the message's recipient out of all marketing mail (see the module docstring).

    Side effects: a consent withdrawal (→ queued marketing messages suppressed at once),
    ``unsubscribed_at``, an ``email_unsubscribed`` event. Safe to repeat. ``NotFound`` for an
    unknown message.
    """
    message = _message(message_id)
    now = clock.now()
    with transaction.atomic():
        if message.contact_id is not None and _any_granted(message.contact_id):
            consent_record(
                contact_id=message.contact_id,
                topic=None,
                status=ConsentStatus.WITHDRAWN,
                evidence=Evidence(
                    source=ConsentSource.UNSUBSCRIBE,
                    source_detail=f"message {message.pk} ({method})",
                    ip=ip,
                    user_agent=user_agent[:500],
                ),
            )
        if message.unsubscribed_at is None:
            message.unsubscribed_at = now
            message.save(update_fields=["unsubscribed_at"])
            _ingest(
                message,
                EventType.EMAIL_UNSUBSCRIBED,
                f"email_unsubscribed:{message.pk}",
                topic="*",
                method=method,
            )
    logger.info("message.unsubscribed", extra={"message_id": message.pk, "method": method})
    return message


def _any_granted(contact_id: int) -> bool:
    return any(state.granted for state in consent_state(contact_id=contact_id).values())


def preferences_save(
    *,
    message_id: int,
    topic_keys: Collection[str],
    ip: str | None = None,
    user_agent: str = "",
) -> list[str]:
    """Set the recipient's topics to exactly ``topic_keys`` (from the preference centre).

    A topic ticked that was not granted is an opt-in (``LegalBasis.OPT_IN``, source
    ``PREFERENCES``); a granted topic unticked is withdrawn (→ its queued messages stop).
    Returns the keys that changed. ``NotFound`` for an unknown message or one with no contact.
    """
    message = _message(message_id)
    if message.contact_id is None:
        raise NotFound("Unknown recipient.")
    wanted = set(topic_keys)
    evidence = Evidence(
        source=ConsentSource.PREFERENCES,
        source_detail=f"message {message.pk}",
        ip=ip,
        user_agent=user_agent[:500],
    )
    changed = []
    with transaction.atomic():
        for key, state in consent_state(contact_id=message.contact_id).items():
            if state.granted == (key in wanted):
                continue
            consent_record(
                contact_id=message.contact_id,
                topic=state.topic,
                status=ConsentStatus.GRANTED if key in wanted else ConsentStatus.WITHDRAWN,
                legal_basis=LegalBasis.OPT_IN if key in wanted else "",
                evidence=evidence,
            )
            changed.append(key)
    return changed


def preference_topics(*, message_id: int) -> list[tuple[ConsentTopic, bool]]:
    """The active topics with whether the message's recipient receives them now."""
    message = _message(message_id)
    if message.contact_id is None:
        raise NotFound("Unknown recipient.")
    states = consent_state(contact_id=message.contact_id)
    return [(state.topic, state.granted) for state in states.values()]


# --- An opt-out stops queued messages --------------------------------------------------------


def _queued_stop(*, contact_id: int | None, topic_key: str | None) -> int:
    if contact_id is None:
        return 0
    queued = Message.objects.filter(
        contact_id=contact_id, status=MessageStatus.QUEUED, stream=Stream.MARKETING
    )
    if topic_key is not None:
        queued = queued.filter(topic_key=topic_key)
    return queued.update(
        status=MessageStatus.SUPPRESSED,
        suppressed_reason=OPTED_OUT,
        next_attempt_at=None,
        lease_until=None,
    )


def messages_stop_for_withdrawals(rows: Sequence[Event]) -> None:
    """Listener: every ``consent_withdrawn`` suppresses that contact's queued marketing mail."""
    for row in rows:
        if row.type != EventType.CONSENT_WITHDRAWN or row.contact_id is None:
            continue
        topic = (row.properties or {}).get("topic", "*")
        stopped = _queued_stop(contact_id=row.contact_id, topic_key=None if topic == "*" else topic)
        if stopped:
            logger.info(
                "messages.stopped_by_optout",
                extra={"contact": row.contact_id, "topic": topic, "count": stopped},
            )
