"""The sending engine: claim due outbox rows, check them again, render once, send, record.

Contract (DESIGN.md, "Sending that is exactly-once where it can be"):

- **Claim.** ``messages_deliver`` (ids from ``message_enqueue``) and ``outbox_tick`` (everything
  due: queued with ``next_attempt_at`` empty or past, or ``sending`` whose lease ran out — a
  crashed worker's) move rows to ``sending`` with ``lease_until``: one read and one ``UPDATE …
  WHERE id IN (…) AND <still due>`` in one transaction (PostgreSQL: ``SELECT … FOR UPDATE SKIP
  LOCKED``; SQLite: its transactions are serialisable). Two workers never hold the same row.
- **Check at the moment of sending.** Contact live (not merged away, not erased), address
  present, address not suppressed, consent/legal basis for the topic and, for marketing mail,
  not a person erased at their request who has not opted in again (the hashed suppression
  list, ``consent.HashedSuppression``), sender profile complete → otherwise the
  row becomes ``suppressed`` with a reason a marketer can read. A *paused* sender profile makes its
  messages wait (``queued``, retried later, the reason in ``last_error``), not disappear.
- **Render once.** Subject, HTML, text, headers (with the Date) and links are stored on the row
  before the first SMTP attempt, so a retry sends the same content with the same Message-ID.
- **Send.** All database work happens in the calling thread; only the SMTP conversations run in
  threads (``transport.mail_transmit``, one reused connection per thread).
- **Record.** 2xx → ``sent`` + ``email_sent``; 4xx → retry with exponential backoff, ``failed``
  after ``MAIL_MAX_ATTEMPTS``; server unreachable → waits (never fails for that); 5xx at RCPT →
  ``failed`` + hard bounce (suppression); other 5xx → ``failed``. Only a mail to a contact is
  recorded on the contact's timeline (``email_sent``, ``email_bounced``; a system mail's carry
  its ``mail_kind``); an internal notice about the contact (``recipient_kind`` staff, see
  ``notices``) is not a mail the contact got.
- **System mail** (``system_mail``: download links, opt-in and webinar confirmations) is
  written when queued and sent as stored, with its text attachments; from the default
  transactional profile, else ``DEFAULT_FROM_EMAIL``.

Per claimed batch, not per message: one query loads the messages with their contacts (company,
owner), sender profiles and templates, one more the contacts' tags; the suppression list is one
query over the addresses' hashes, the hashed suppression list one over their keyed hashes, and
consent is ``consent.selectors.may_send_many`` (two queries); every message is still checked on
its own. One ``MessageRenderer`` and one
``MimePolicy`` serve the whole batch (templates compiled, footers and shared headers built once).
Status writes are grouped by what changed (one ``UPDATE … WHERE id IN`` when the values are the
same, else one ``executemany``), links are one ``bulk_create`` and events one
``event_ingest_batch`` per flush.

**Pauses** (``pausing``): while all marketing sending is paused the claim skips marketing rows
(they stay ``queued``); right before a batch is handed to the server, the switch and the batch's
sender profiles are read once more and mail paused since the claim is held back (``queued``,
its rendering kept). So a running broadcast stops within the batch already on the wire.

Batches overlap: while one batch is on the wire, the next is claimed, checked, rendered and
stored; right before it goes out, its suppression list and consent are read once more (an
opt-out, complaint or hard bounce recorded meanwhile stops its mail).

The bound: a row is sent at most once, except when a worker dies between the server's acceptance
and the status write; the row is then still ``sending`` and is sent again after its lease ends,
with the same Message-ID. A worker process hands one batch at a time to the server before its
statuses are written — its threads take turns at the wire (``wire_turns``) — so duplicates are
at most one batch (``MAIL_BATCH`` rows) per worker process that died; more rows may be left
``sending`` (batches claimed and prepared but never sent), and those go out once.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.utils import format_datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, Q, prefetch_related_objects

from sokyaku.activity import services as activity_services
from sokyaku.activity.events import NewEvent, event_build
from sokyaku.activity.models import EventSource, EventType
from sokyaku.consent.models import Suppression, SuppressionReason
from sokyaku.consent.selectors import hashed_suppressed, may_send_many
from sokyaku.contacts import identity
from sokyaku.contacts.models import Contact
from sokyaku.contacts.normalize import InvalidValue, email_normalize
from sokyaku.core import clock
from sokyaku.messaging import tokens
from sokyaku.messaging.dkim_sign import DkimKey, dkim_key, dkim_sign
from sokyaku.messaging.mime import MimePolicy, mime_build
from sokyaku.messaging.models import (
    Message,
    MessageChannel,
    MessageLink,
    MessageStatus,
    RecipientKind,
    SenderProfile,
    Stream,
)
from sokyaku.messaging.rendering import MessageRenderer, sender_profile_check
from sokyaku.messaging.services.pausing import MARKETING_PAUSED, marketing_paused, paused_text
from sokyaku.messaging.services.system_mail import system_sender_fallback
from sokyaku.messaging.transport import Outcome, Outgoing, Result, mail_transmit, smtp_target

logger = logging.getLogger(__name__)

# Why marketing mail to an erased person who came back (re-imported, re-created) is refused.
ERASED_REFUSAL = (
    "The person was erased at their request; marketing mail needs their new opt-in first."
)

RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=6)
UNREACHABLE_CAP = timedelta(minutes=30)
PAUSED_RECHECK = timedelta(minutes=15)
_TICK_ROUNDS = 50

_MUTABLE = [
    "status",
    "subject",
    "body_html",
    "body_text",
    "headers",
    "suppressed_reason",
    "attempts",
    "last_error",
    "next_attempt_at",
    "lease_until",
    "sent_at",
    "failed_at",
    "bounced_at",
]


def _concrete(name: str) -> Field[Any, Any]:
    model_field = Message._meta.get_field(name)
    assert isinstance(model_field, Field)
    return model_field


_MUTABLE_FIELDS = {name: _concrete(name) for name in _MUTABLE}


@dataclass
class DeliveryReport:
    """What one call did, by outcome."""

    sent: int = 0
    retrying: int = 0
    waiting: int = 0
    failed: int = 0
    suppressed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.waiting += other.waiting
        self.failed += other.failed
        self.suppressed += other.suppressed
        self.errors.extend(other.errors)

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.waiting + self.failed + self.suppressed


# --- Claiming --------------------------------------------------------------------------------


def _due(now: datetime) -> Q:
    queued = Q(status=MessageStatus.QUEUED) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )
    abandoned = Q(status=MessageStatus.SENDING, lease_until__lt=now)
    return queued | abandoned


def messages_claim(*, ids: Sequence[int] | None = None, limit: int | None = None) -> list[int]:
    """Move due rows (all due, or due among ``ids``) to ``sending`` with a lease; their ids.

    Safe against other workers doing the same at once: a row is claimed by one of them only.
    One transaction reads the due ids and updates them with one ``UPDATE … WHERE id IN (…) AND
    <still due>``. PostgreSQL locks the rows it read (``FOR UPDATE SKIP LOCKED``: a row another
    worker holds is skipped); SQLite transactions are serialisable (the product's connections
    begin them IMMEDIATE, so a second worker waits for the first to commit), so no other worker
    can claim a row between the read and the update.
    """
    now = clock.now()
    lease = now + timedelta(seconds=settings.MAIL_LEASE_SECONDS)
    limit = limit or settings.MAIL_BATCH
    candidates = Message.objects.filter(_due(now))
    if marketing_paused():  # they stay queued until the resume (``pausing``)
        candidates = candidates.exclude(stream=Stream.MARKETING)
    if ids is not None:
        candidates = candidates.filter(pk__in=list(ids))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            candidates = candidates.select_for_update(skip_locked=True)
        picked = list(candidates.order_by("id").values_list("pk", flat=True)[:limit])
        if not picked:
            return []
        claimed = Message.objects.filter(_due(now), pk__in=picked).update(
            status=MessageStatus.SENDING, lease_until=lease
        )
        if claimed != len(picked):  # not on the databases above; never hand out a row twice
            return list(
                Message.objects.filter(
                    pk__in=picked, status=MessageStatus.SENDING, lease_until=lease
                ).values_list("pk", flat=True)
            )
        return picked


# --- Entry points ----------------------------------------------------------------------------


def messages_deliver(*, message_ids: Sequence[int]) -> DeliveryReport:
    """Deliver the due messages among ``message_ids`` (others are left alone).

    Side effects: status changes, stored rendering and links, ``email_sent`` / ``email_bounced``
    / ``chat_sent`` events, suppressions for hard bounces, mail to SMTP or the sink. Never
    raises for a delivery problem (it is recorded on the row).
    """
    ids = sorted(set(message_ids))
    size = settings.MAIL_BATCH
    claims = (
        messages_claim(ids=ids[start : start + size], limit=size)
        for start in range(0, len(ids), size)
    )
    return _deliver(claims)


def outbox_tick() -> DeliveryReport:
    """Deliver everything due, batch by batch (bounded per call; the next tick continues)."""

    def claims() -> Iterator[list[int]]:
        for _round in range(_TICK_ROUNDS):
            claimed = messages_claim(limit=settings.MAIL_BATCH)
            if not claimed:
                return
            yield claimed

    report = _deliver(claims())
    if report.handled:
        logger.info("outbox.tick", extra={"sent": report.sent, "handled": report.handled})
    return report


class _WireTurns:
    """The process's one turn at the wire: first come, first served; re-entrant for its holder.

    A batch takes the turn before it is handed to the server and gives it back once its
    statuses are written, so however many worker threads deliver at once, a process has at most
    one batch on the wire with unwritten statuses. Re-entrant because recording a batch commits,
    and a commit may deliver (inline, with the task engine in immediate mode) in this thread.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: collections.deque[int] = collections.deque()
        self._holder: int | None = None
        self._depth = 0

    def take(self) -> bool:
        """Wait for the turn; whether another batch went first meanwhile."""
        me = threading.get_ident()
        with self._changed:
            if self._holder == me:
                self._depth += 1
                return False
            waited = self._holder is not None or bool(self._waiting)
            self._waiting.append(me)
            while self._holder is not None or self._waiting[0] != me:
                self._changed.wait()
            self._waiting.popleft()
            self._holder, self._depth = me, 1
            return waited

    def give_back(self) -> None:
        with self._changed:
            assert self._holder == threading.get_ident()
            self._depth -= 1
            if self._depth == 0:
                self._holder = None
                self._changed.notify_all()


wire_turns = _WireTurns()


def _deliver(claims: Iterable[Sequence[int]]) -> DeliveryReport:
    """Prepare each claimed batch while the one before it is on the wire.

    One batch at a time is sent (in a thread: SMTP only, no database); meanwhile this thread
    claims, checks and renders the next one and stores its rendering. A batch goes out only with
    the process's turn at the wire (``wire_turns``), held until its outcomes are recorded: at
    most one batch per worker process has been handed to the server without its statuses
    written, however many threads deliver (the crash bound is one batch per process).
    """
    report = DeliveryReport()
    on_wire: tuple[_Batch, Future[list[Outcome]]] | None = None

    def finish() -> None:
        nonlocal on_wire
        assert on_wire is not None
        sent, on_wire = on_wire, None
        try:
            report.add(_finish(*sent))
        finally:
            wire_turns.give_back()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-batch") as wire:
        try:
            for ids in claims:
                batch = _prepare(ids)
                overlapped = on_wire is not None
                if on_wire is not None:
                    finish()
                if not batch.outgoing:
                    report.add(batch.report)
                    continue
                waited = wire_turns.take()
                try:
                    if overlapped or waited:
                        # Checked while another batch was on the wire: look once more.
                        _recheck(batch)
                    # A pause since the claim holds the batch back (a broadcast stops here).
                    _hold_paused(batch)
                except BaseException:
                    wire_turns.give_back()
                    raise
                if batch.outgoing:
                    on_wire = (batch, wire.submit(mail_transmit, items=batch.outgoing))
                else:
                    wire_turns.give_back()
                    report.add(batch.report)
        finally:  # a batch on the wire is recorded even when preparing the next one failed
            if on_wire is not None:
                finish()
    return report


# --- One batch -------------------------------------------------------------------------------


@dataclass
class _Batch:
    """One claimed batch: what it read once for all its messages and what it will write."""

    now: datetime
    report: DeliveryReport = field(default_factory=DeliveryReport)
    renderer: MessageRenderer = field(default_factory=MessageRenderer)
    mime_policy: MimePolicy = field(default_factory=MimePolicy)
    # The stored values of each message's mutable fields: a flush writes only what changed.
    stored: dict[int, dict[str, Any]] = field(default_factory=dict)
    dirty: dict[int, Message] = field(default_factory=dict)
    events: list[NewEvent] = field(default_factory=list)
    links: list[MessageLink] = field(default_factory=list)
    suppress: dict[str, str] = field(default_factory=dict)
    # The mail to send (after the checks, rendering and rate limit) and its messages by id.
    outgoing: list[Outgoing] = field(default_factory=list)
    by_id: dict[int, Message] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)  # suppression keys by message id

    def track(self, messages: Iterable[Message]) -> None:
        for message in messages:
            self.stored[message.pk] = _mutable_values(message)

    def touch(self, message: Message) -> None:
        self.dirty[message.pk] = message

    def flush(self) -> None:
        with transaction.atomic():
            if self.links:
                MessageLink.objects.bulk_create(self.links, ignore_conflicts=True)
            _messages_write(self.dirty.values(), self.stored)
            for address_hash, detail in self.suppress.items():
                Suppression.objects.get_or_create(
                    email_sha256=address_hash,
                    defaults={
                        "reason": SuppressionReason.HARD_BOUNCE,
                        "detail": detail[:300],
                        "created_at": self.now,
                    },
                )
            if self.events:
                activity_services.event_ingest_batch(events=self.events)
        self.links, self.dirty, self.events, self.suppress = [], {}, [], {}


def _mutable_values(message: Message) -> dict[str, Any]:
    return {name: getattr(message, name) for name in _MUTABLE}


def _messages_write(messages: Iterable[Message], stored: dict[int, dict[str, Any]]) -> None:
    """Write what changed on ``messages`` since ``stored``, set-based.

    Messages are grouped by the fields that changed. A group whose values are all the same (the
    sent ones: status, ``sent_at``, attempts, lease) is one ``UPDATE … WHERE id IN (…)``; any
    other group (renderings, reasons) is one parameterised ``UPDATE … WHERE id = %s`` sent with
    ``executemany``. Measured on a batch of 200: a plain UPDATE per row compiles the ORM query
    200 times, and ``bulk_update``'s ``CASE WHEN`` per field grows with rows × fields; both
    were several times slower than this on SQLite and PostgreSQL.
    """
    groups: dict[tuple[str, ...], list[Message]] = {}
    for message in messages:
        before = stored[message.pk]
        now = _mutable_values(message)
        changed = tuple(name for name in _MUTABLE if now[name] != before[name])
        if changed:
            groups.setdefault(changed, []).append(message)
        stored[message.pk] = now
    for names, rows in groups.items():
        values = [tuple(getattr(message, name) for name in names) for message in rows]
        if all(value == values[0] for value in values[1:]):
            Message.objects.filter(pk__in=[message.pk for message in rows]).update(
                **dict(zip(names, values[0], strict=True))
            )
        else:
            _rows_update(names, rows)


def _rows_update(names: Sequence[str], rows: Sequence[Message]) -> None:
    """One ``UPDATE … SET <names> WHERE id = %s`` for all ``rows``, through ``executemany``."""
    fields = [_MUTABLE_FIELDS[name] for name in names]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields)
    # Only the model's own quoted table and column names go into the SQL; values are parameters.
    table, pk = quote(Message._meta.db_table), quote(str(_concrete("id").column))
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608
    # Values are prepared as the ORM's own UPDATE prepares them (JSON, datetimes).
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _prepare(ids: Sequence[int]) -> _Batch:
    """Check and render a claimed batch and store the result; its mail is ready to send.

    Chat messages are delivered here and now. The rendering is stored (and the checks' results
    written) before any byte leaves, so a retry after a crash sends what was rendered first.
    """
    batch = _Batch(now=clock.now())
    if not ids:
        return batch
    messages = list(
        Message.objects.filter(pk__in=ids, status=MessageStatus.SENDING).select_related(
            "contact__company",
            "contact__owner",
            "sender",
            "template",
            "chat_channel",
            "staff_user",
        )
    )
    emails = [m for m in messages if m.channel == MessageChannel.EMAIL]
    chats = [m for m in messages if m.channel == MessageChannel.CHAT]
    if chats:
        from sokyaku.messaging.services import chat

        batch.report.add(chat.chat_messages_deliver(messages=chats))
    if not emails:
        return batch
    # The merge data of the whole batch: contacts came with their company and owner; their tags
    # come in one more query.
    prefetch_related_objects([m.contact for m in emails if m.contact is not None], "tags")
    batch.track(emails)
    ready = _check(emails, batch)
    key = dkim_key()
    batch.renderer.preload(ready)
    outgoing: list[Outgoing] = []
    for message in ready:
        try:
            outgoing.append(_outgoing(message, batch, key))
            batch.by_id[message.pk] = message
        except Exception as exc:  # a template that fails at render must not stop the batch
            logger.exception("message.render_failed", extra={"message_id": message.pk})
            _fail(message, batch, f"Could not render: {exc}")
    batch.outgoing = _rate_limited(outgoing, batch.by_id, batch)
    batch.flush()
    return batch


def _recheck(batch: _Batch) -> None:
    """The suppression list and consent once more, right before ``batch`` goes on the wire.

    A batch is checked and rendered while the previous one is being sent; an opt-out, a
    complaint or a hard bounce (the previous batch's included) recorded meanwhile stops its mail.
    """
    messages = [batch.by_id[item.message_id] for item in batch.outgoing]
    permissions = _permissions_read(messages, batch)
    allowed = []
    for item, message in zip(batch.outgoing, messages, strict=True):
        refusal = _refusal(message, permissions)
        if refusal is None:
            allowed.append(item)
        else:
            _suppress(message, batch, refusal)
    if len(allowed) < len(batch.outgoing):
        batch.outgoing = allowed
        batch.flush()


def _hold_paused(batch: _Batch) -> None:
    """Right before ``batch`` is handed to the server: hold back its marketing mail when all
    marketing sending was paused since it was claimed, and the mail of a sender profile paused
    meanwhile. Held mail stays ``queued`` with its rendering (the same Message-ID later)."""
    messages = [batch.by_id[item.message_id] for item in batch.outgoing]
    marketing = any(m.stream == Stream.MARKETING for m in messages) and marketing_paused()
    sender_ids = {m.sender.pk for m in messages if m.sender is not None and m.sender.pk}
    paused = dict(
        SenderProfile.objects.filter(pk__in=sender_ids, paused_at__isnull=False).values_list(
            "pk", "pause_reason"
        )
    )
    if not marketing and not paused:
        return
    allowed = []
    for item, message in zip(batch.outgoing, messages, strict=True):
        assert message.sender is not None
        if marketing and message.stream == Stream.MARKETING:
            _wait(message, batch, MARKETING_PAUSED, recheck=False)
        elif message.sender.pk in paused:
            _wait(message, batch, f"{paused_text(message.sender)}: {paused[message.sender.pk]}")
        else:
            allowed.append(item)
    batch.outgoing = allowed
    batch.flush()


def _finish(batch: _Batch, sending: Future[list[Outcome]]) -> DeliveryReport:
    """Record what the server answered for each message of ``batch``."""
    for outcome in sending.result():
        _record(batch.by_id[outcome.message_id], outcome, batch)
    batch.flush()
    return batch.report


# --- Checks ----------------------------------------------------------------------------------


def address_hash(address: str) -> str:
    """SHA-256 of the normalised address: the key of ``consent.Suppression``."""
    try:
        normal = email_normalize(address)
    except InvalidValue:
        normal = address.strip().lower()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


@dataclass
class _Senders:
    """The batch's sender profiles: one instance per profile, the stream defaults read once,
    the legal-item check done once per profile."""

    by_id: dict[int | None, SenderProfile] = field(default_factory=dict)
    defaults: dict[str, SenderProfile | None] = field(default_factory=dict)
    missing: dict[int | None, list[str]] = field(default_factory=dict)

    def of(self, message: Message) -> SenderProfile | None:
        sender = message.sender
        if sender is None:
            if message.stream not in self.defaults:
                self.defaults[message.stream] = SenderProfile.objects.filter(
                    stream=message.stream, is_default=True
                ).first()
            sender = self.defaults[message.stream]
        if sender is None and message.system_mail:
            # System mail went from DEFAULT_FROM_EMAIL before any profile was set up; it still
            # does (an unsaved profile, cached under the key None).
            sender = self.by_id.get(None) or system_sender_fallback()
        if sender is None:
            return None
        return self.by_id.setdefault(sender.pk, sender)

    def missing_items(self, sender: SenderProfile) -> list[str]:
        if sender.pk not in self.missing:
            self.missing[sender.pk] = [str(item) for item in sender_profile_check(sender)]
        return self.missing[sender.pk]


@dataclass(frozen=True)
class _Permissions:
    """The suppression lists and consent for a batch's recipients, read at once. ``erased``:
    the keys of marketing recipients who were erased at their request and have not opted in
    again (their address or own phone is on the hashed suppression list)."""

    hashes: dict[int, str]
    suppressed: dict[str, str]
    consent: dict[tuple[int, str], bool]
    erased: frozenset[int] = frozenset()


def _permissions_read(messages: Sequence[Message], batch: _Batch) -> _Permissions:
    """One query over the addresses' hashes, one over their keyed hashes (erased people), and
    ``may_send_many`` (topics, records)."""
    for message in messages:
        if message.to_address and message.pk not in batch.hashes:
            batch.hashes[message.pk] = address_hash(message.to_address)
    hashes = {m.pk: batch.hashes[m.pk] for m in messages if m.to_address}
    marketing = [
        (m, m.contact) for m in messages if m.stream == Stream.MARKETING and m.contact is not None
    ]
    pairs = {(contact.pk, m.topic_key) for m, contact in marketing if m.topic_key}
    identities = {m.pk: (m.to_address, contact.phone) for m, contact in marketing}
    return _permissions_for(hashes=hashes, pairs=pairs, identities=identities)


def _permissions_for(
    *,
    hashes: dict[int, str],
    pairs: set[tuple[int, str]],
    identities: Mapping[int, tuple[str, str]],
) -> _Permissions:
    suppressed: dict[str, str] = {}
    wanted = sorted(set(hashes.values()))
    for start in range(0, len(wanted), 500):
        suppressed.update(
            Suppression.objects.filter(email_sha256__in=wanted[start : start + 500]).values_list(
                "email_sha256", "reason"
            )
        )
    return _Permissions(
        hashes=hashes,
        suppressed=suppressed,
        consent=may_send_many(pairs=pairs),
        erased=_erased(identities),
    )


def _erased(identities: Mapping[int, tuple[str, str]]) -> frozenset[int]:
    """The keys whose ``(address, phone)`` belong to an erased person who has not opted in
    again (``consent.HashedSuppression``, by keyed hash)."""
    emails = {key: identity.email_hash(address) for key, (address, _p) in identities.items()}
    phones = {key: identity.personal_phone_hash(phone) for key, (_a, phone) in identities.items()}
    found_emails, found_phones = hashed_suppressed(
        email_hashes=emails.values(), phone_hashes=phones.values()
    )
    return frozenset(
        {key for key, digest in emails.items() if digest and digest in found_emails}
        | {key for key, digest in phones.items() if digest and digest in found_phones}
    )


def _refusal(message: Message, permissions: _Permissions) -> str | None:
    """Why the suppression list or the consent ledger forbid this mail now; ``None`` if not."""
    return _refusal_of(
        key=message.pk,
        marketing=message.stream == Stream.MARKETING,
        contact_id=message.contact.pk if message.contact is not None else None,
        topic_key=message.topic_key,
        permissions=permissions,
    )


def _refusal_of(
    *,
    key: int,
    marketing: bool,
    contact_id: int | None,
    topic_key: str,
    permissions: _Permissions,
) -> str | None:
    reason = permissions.suppressed.get(permissions.hashes[key])
    if reason is not None and (marketing or reason != SuppressionReason.COMPLAINT):
        return f"The address is on the suppression list: {SuppressionReason(reason).label}."
    if not marketing:
        return None
    if key in permissions.erased:
        return ERASED_REFUSAL
    if not topic_key:
        return "Marketing mail without a consent topic."
    assert contact_id is not None
    if not permissions.consent[(contact_id, topic_key)]:
        return f"No consent or legal basis for topic “{topic_key}”, or the person opted out."
    return None


def marketing_refusals(*, recipients: Sequence[tuple[int, str]], topic_key: str) -> dict[int, str]:
    """Why a marketing mail under ``topic_key`` to each ``(contact_id, address)`` would be
    refused if it were sent now: the suppression list and consent/legal basis checks of
    sending itself (``_refusal``), read set-based. Contacts missing from the answer may be
    mailed. Broadcasts count and queue their recipients with this."""
    hashes = {contact_id: address_hash(address) for contact_id, address in recipients if address}
    pairs = {(contact_id, topic_key) for contact_id in hashes} if topic_key else set()
    phones = dict(Contact.objects.filter(pk__in=list(hashes)).values_list("pk", "phone"))
    identities = {
        contact_id: (address, phones.get(contact_id, ""))
        for contact_id, address in recipients
        if address
    }
    permissions = _permissions_for(hashes=hashes, pairs=pairs, identities=identities)
    refused: dict[int, str] = {}
    for contact_id, address in recipients:
        if not address:
            refused[contact_id] = "No email address."
            continue
        reason = _refusal_of(
            key=contact_id,
            marketing=True,
            contact_id=contact_id,
            topic_key=topic_key,
            permissions=permissions,
        )
        if reason is not None:
            refused[contact_id] = reason
    return refused


def _check(messages: list[Message], batch: _Batch) -> list[Message]:
    """The messages that may go now; the others are marked suppressed or waiting.

    Reads the suppression list and the consent ledger for the whole batch at once, right
    before rendering (``_permissions_read``); every message is then checked on its own.
    """
    permissions = _permissions_read(messages, batch)
    senders = _Senders()
    ready = []
    for message in messages:
        marketing = message.stream == Stream.MARKETING
        contact = message.contact
        if contact is not None and contact.merged_into_id is not None:
            _suppress(message, batch, "The contact was merged into another contact.")
            continue
        if contact is not None and contact.erased_at is not None:
            _suppress(message, batch, "The person was erased at their request.")
            continue
        if contact is None and marketing:
            _suppress(message, batch, "The contact no longer exists.")
            continue
        if message.recipient_kind == RecipientKind.STAFF_USER and message.staff_user is None:
            _suppress(message, batch, "The staff user of this internal notice was deleted.")
            continue
        if not message.to_address:
            _suppress(message, batch, "No email address.")
            continue
        refusal = _refusal(message, permissions)
        if refusal is not None:
            _suppress(message, batch, refusal)
            continue
        sender = senders.of(message)
        if sender is None:
            _suppress(message, batch, f"No sender profile for the {message.stream} stream.")
            continue
        missing = senders.missing_items(sender)
        if missing:
            _suppress(
                message,
                batch,
                f"Sender profile “{sender.name}” is incomplete: {', '.join(missing)}.",
            )
            continue
        if sender.paused_at is not None:
            _wait(message, batch, f"{paused_text(sender)}: {sender.pause_reason}")
            continue
        message.sender = sender
        ready.append(message)
    return ready


def _suppress(message: Message, batch: _Batch, reason: str) -> None:
    message.status = MessageStatus.SUPPRESSED
    message.suppressed_reason = reason[:300]
    message.lease_until = None
    batch.report.suppressed += 1
    batch.touch(message)


def _wait(message: Message, batch: _Batch, reason: str, *, recheck: bool = True) -> None:
    """Back to ``queued``: due again after ``PAUSED_RECHECK``, or (``recheck=False``, all
    marketing paused: the claim skips it until the resume) due at once."""
    message.status = MessageStatus.QUEUED
    message.last_error = reason
    message.next_attempt_at = batch.now + PAUSED_RECHECK if recheck else None
    message.lease_until = None
    batch.report.waiting += 1
    batch.touch(message)


def _fail(message: Message, batch: _Batch, error: str) -> None:
    message.status = MessageStatus.FAILED
    message.failed_at = batch.now
    message.last_error = error
    message.lease_until = None
    message.next_attempt_at = None
    batch.report.failed += 1
    batch.report.errors.append(f"{message.pk}: {error}")
    batch.touch(message)


# --- Rendering and MIME ----------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _address(name: str, email: str) -> str:
    # Cached: the same few sender addresses head every mail, and ``Address`` parses its input.
    return str(Address(display_name=name, addr_spec=email)) if name else email


def message_headers(*, message: Message, sender: SenderProfile, subject: str) -> dict[str, str]:
    """The headers a message is sent with (stored on the row, shown on the Outbox page)."""
    headers = {
        "From": _address(sender.from_name, sender.from_email),
        "To": message.to_address,
        "Subject": subject,
        "Date": format_datetime(clock.now()),
        "Message-ID": tokens.message_id_header(message.pk),
    }
    if sender.reply_to:
        headers["Reply-To"] = sender.reply_to
    if message.stream == Stream.MARKETING:
        token = tokens.token_make(tokens.UNSUBSCRIBE, message.pk)
        mailto = f"mailto:unsubscribe+{token}@{tokens.mail_domain()}"
        url = tokens.unsubscribe_url_for(token)
        headers["List-Unsubscribe"] = f"<{url}>, <{mailto}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def _render_once(message: Message, batch: _Batch) -> None:
    if message.headers:
        return  # rendered on an earlier attempt: send exactly that again
    assert message.sender is not None
    rendered = batch.renderer.render(message)
    message.subject = rendered.subject[:300]
    message.body_html = rendered.html
    message.body_text = rendered.text
    message.headers = message_headers(
        message=message, sender=message.sender, subject=message.subject
    )
    batch.links.extend(
        MessageLink(message_id=message.pk, position=position, url=url[:2000])
        for position, url in enumerate(rendered.links)
    )
    batch.touch(message)


def envelope_sender(message: Message, sender: SenderProfile) -> str:
    """VERP (``bounces+m<id>@domain``) when a bounce address is set, else the From address."""
    bounce = settings.BOUNCE_ADDRESS
    if not bounce or "@" not in bounce:
        return sender.from_email
    local, _at, domain = bounce.rpartition("@")
    return f"{local}+m{message.pk}@{domain}"


def _is_notice(message: Message) -> bool:
    """A template-less internal notice (a sales alert, an owner notification): the renderer
    writes it from ``context["notification"]``."""
    context = message.context if isinstance(message.context, dict) else {}
    return message.stream == Stream.TRANSACTIONAL and isinstance(context.get("notification"), dict)


def _outgoing(message: Message, batch: _Batch, key: DkimKey | None) -> Outgoing:
    written = bool(message.headers) or bool(message.system_mail) or _is_notice(message)
    if message.template_id is None and not written:
        raise ValueError("the template was deleted")
    _render_once(message, batch)
    assert message.sender is not None
    data = mime_build(
        headers=message.headers,
        text=message.body_text,
        html=message.body_html,
        policy=batch.mime_policy,
        attachments=message.attachments if isinstance(message.attachments, list) else (),
    )
    if key is not None:
        data = dkim_sign(data, key=key)
    return Outgoing(
        message_id=message.pk,
        envelope_from=envelope_sender(message, message.sender),
        recipient=message.to_address,
        data=data,
    )


# --- Per-domain rate limit -------------------------------------------------------------------


class _Buckets:
    """Token buckets per recipient domain, per worker process (rate per minute, burst = rate)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, datetime]] = {}

    def take(self, domain: str, now: datetime, rate: int) -> timedelta | None:
        """``None`` when a token was taken, else how long until the next one."""
        with self._lock:
            tokens_left, at = self._state.get(domain, (float(rate), now))
            elapsed = max(0.0, (now - at).total_seconds())
            tokens_left = min(float(rate), tokens_left + elapsed * rate / 60.0)
            if tokens_left >= 1:
                self._state[domain] = (tokens_left - 1, now)
                return None
            self._state[domain] = (tokens_left, now)
            return timedelta(seconds=(1 - tokens_left) * 60.0 / rate)

    def reset(self) -> None:
        with self._lock:
            self._state.clear()


domain_buckets = _Buckets()


def _rate_limited(
    outgoing: list[Outgoing], by_id: dict[int, Message], batch: _Batch
) -> list[Outgoing]:
    rate = settings.MAIL_DOMAIN_RATE
    if rate <= 0 or smtp_target() is None:
        return outgoing  # no limit, or the local sink (nobody to be polite to)
    allowed = []
    for item in outgoing:
        domain = item.recipient.rpartition("@")[2].lower()
        wait = domain_buckets.take(domain, batch.now, rate)
        if wait is None:
            allowed.append(item)
            continue
        message = by_id[item.message_id]
        message.status = MessageStatus.QUEUED
        message.next_attempt_at = batch.now + wait
        message.lease_until = None
        batch.report.waiting += 1
        batch.touch(message)
    return allowed


# --- Outcomes --------------------------------------------------------------------------------


def retry_delay(attempts: int, *, cap: timedelta = RETRY_CAP) -> timedelta:
    """Exponential backoff: 1, 2, 4 … minutes after the 1st, 2nd, 3rd … failed attempt."""
    return min(cap, RETRY_BASE * (2 ** max(0, attempts - 1)))


def _email_event(message: Message, type: str, at: datetime, **extra: Any) -> NewEvent | None:
    if message.contact_id is None or message.recipient_kind != RecipientKind.CONTACT:
        return None
    properties: dict[str, Any] = {"message_id": message.pk, **extra}
    for name in ("sequence_id", "step_id"):
        if getattr(message, name) is not None:
            properties[name.removesuffix("_id")] = getattr(message, name)
    if message.broadcast_id is not None:
        properties["broadcast"] = message.broadcast_id
    if message.system_mail:
        properties["mail_kind"] = message.system_mail
    return event_build(
        type=type,
        occurred_at=at,
        source=EventSource.EMAIL,
        contact_id=message.contact_id,
        properties=properties,
        # A re-send after a crash must not count the mail twice on the timeline.
        idempotency_key=f"{type}:{message.pk}",
    )


def _record(message: Message, outcome: Outcome, batch: _Batch) -> None:
    now = batch.now
    message.attempts += 1
    message.lease_until = None
    if outcome.result == Result.SENT:
        message.status = MessageStatus.SENT
        message.sent_at = now
        message.next_attempt_at = None
        message.last_error = ""
        batch.report.sent += 1
        event = _email_event(message, EventType.EMAIL_SENT, now, subject=message.subject)
        if event is not None:
            batch.events.append(event)
    elif outcome.result == Result.UNREACHABLE:
        message.status = MessageStatus.QUEUED
        message.next_attempt_at = now + retry_delay(message.attempts, cap=UNREACHABLE_CAP)
        message.last_error = f"SMTP server unreachable: {outcome.detail}"[:2000]
        batch.report.waiting += 1
    elif outcome.result == Result.RETRY and message.attempts < settings.MAIL_MAX_ATTEMPTS:
        message.status = MessageStatus.QUEUED
        message.next_attempt_at = now + retry_delay(message.attempts)
        message.last_error = outcome.detail
        batch.report.retrying += 1
    elif outcome.result == Result.REJECTED:
        message.status = MessageStatus.FAILED
        message.failed_at = now
        message.bounced_at = now
        message.next_attempt_at = None
        message.last_error = f"Rejected (hard bounce): {outcome.detail}"
        batch.report.failed += 1
        batch.suppress[address_hash(message.to_address)] = outcome.detail
        event = _email_event(
            message, EventType.EMAIL_BOUNCED, now, kind="hard", reason=outcome.detail[:200]
        )
        if event is not None:
            batch.events.append(event)
    else:  # FAILED, or RETRY with no attempts left
        message.status = MessageStatus.FAILED
        message.failed_at = now
        message.next_attempt_at = None
        message.last_error = outcome.detail
        batch.report.failed += 1
    batch.touch(message)


def messages_release(*, ids: Iterable[int]) -> int:
    """Hand ``sending`` rows back to the queue now (a worker shutting down cleanly)."""
    return Message.objects.filter(pk__in=list(ids), status=MessageStatus.SENDING).update(
        status=MessageStatus.QUEUED, lease_until=None
    )
