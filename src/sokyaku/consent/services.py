"""Writes to the consent ledger. Every opt-in, opt-out and pending double opt-in is a new
record; nothing is ever changed (see ``models``)."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import connections, models, transaction

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventType
from sokyaku.consent.defaults import DEFAULT_TOPICS
from sokyaku.consent.keyed_hash import keyed_hash
from sokyaku.consent.models import (
    ConsentRecord,
    ConsentSource,
    ConsentStatus,
    ConsentTopic,
    HashedSuppression,
    LegalBasis,
    PurposeText,
)
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError
from sokyaku.core.redaction import Redactor

logger = logging.getLogger(__name__)


# The control table whose row lets SQLite's DELETE trigger through (migration 0004).
_UNLOCK_TABLE = "consent_ledger_unlock"


@contextmanager
def ledger_erasure(*, using: str = "default") -> Iterator[None]:
    """Open the ledger to updates and deletes for the duration of one transaction: the
    data-subject erasure path (``consent_records_erase``), and the ``flush`` command that empties
    a whole database. The only door through the database's own refusal (PostgreSQL:
    ``sokyaku.ledger_erase`` set for this transaction; SQLite: the row of
    ``consent_ledger_unlock``, taken out again before commit).

    Runs inside ``transaction.atomic``; nothing else is changed.
    """
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('sokyaku.ledger_erase', 'on', true)")
            try:
                yield
            finally:
                # Shut again at once, not only at commit: an outer transaction may go on.
                cursor.execute("SELECT set_config('sokyaku.ledger_erase', 'off', true)")
        elif connection.vendor == "sqlite":
            cursor.execute(f"INSERT OR IGNORE INTO {_UNLOCK_TABLE} (id) VALUES (1)")  # noqa: S608
            try:
                yield
            finally:
                cursor.execute(f"DELETE FROM {_UNLOCK_TABLE}")  # noqa: S608
        else:
            yield
    logger.info("consent.ledger_erasure", extra={"database": using})


def text_sha256(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def purpose_text_publish(*, key: str, title: str, body: str) -> PurposeText:
    """The current version of a purpose-of-use text, with a new version if ``body`` or ``title``
    changed (old versions stay, so every record keeps pointing at what people saw).

    Raises ``ValidationError`` for an empty text.
    """
    body = body.strip()
    if not body or not title.strip():
        raise ValidationError(
            "A purpose-of-use text needs a title and a text.",
            field_errors={"body": "required"},
        )
    with transaction.atomic():
        latest = (
            PurposeText.objects.select_for_update().filter(key=key).order_by("-version").first()
        )
        if latest and latest.body == body and latest.title == title.strip():
            return latest
        return PurposeText.objects.create(
            key=key,
            version=(latest.version + 1) if latest else 1,
            title=title.strip(),
            body=body,
            sha256=text_sha256(body),
            created_at=clock.now(),
        )


@dataclass(frozen=True)
class Evidence:
    """How and where a consent was given: what the ledger keeps besides the decision."""

    source: str
    source_detail: str = ""
    purpose_text: PurposeText | None = None
    ip: str | None = None
    user_agent: str = ""


def consent_record(
    *,
    contact_id: int,
    topic: ConsentTopic | None,
    status: str,
    evidence: Evidence,
    legal_basis: str = "",
    confirms: ConsentRecord | None = None,
    at: datetime | None = None,
) -> ConsentRecord:
    """Append one record to the ledger and put it on the contact's timeline.

    ``topic=None`` means every topic (an opt-out of all marketing mail). A grant needs a legal
    basis. Raises ``ValidationError`` for an unknown status, basis or source.
    """
    if status not in ConsentStatus.values:
        raise ValidationError(
            f"Unknown consent status {status}.", field_errors={"status": "unknown"}
        )
    if evidence.source not in ConsentSource.values:
        raise ValidationError(
            f"Unknown consent source {evidence.source}.", field_errors={"source": "unknown"}
        )
    if status != ConsentStatus.WITHDRAWN and legal_basis not in LegalBasis.values:
        raise ValidationError(
            "A consent needs a legal basis.", field_errors={"legal_basis": "required"}
        )
    if status == ConsentStatus.WITHDRAWN:
        legal_basis = ""
    if evidence.ip:
        try:
            ipaddress.ip_address(evidence.ip)
        except ValueError as exc:
            raise ValidationError("Not an IP address.", field_errors={"ip": "invalid"}) from exc
    now = at or clock.now()
    text = evidence.purpose_text
    with transaction.atomic():
        record = ConsentRecord.objects.create(
            contact_id=contact_id,
            topic=topic,
            status=status,
            legal_basis=legal_basis,
            source=evidence.source,
            source_detail=evidence.source_detail[:200],
            recorded_at=now,
            purpose_text=text,
            text_version=text.version if text else None,
            text_sha256=text.sha256 if text else "",
            ip=evidence.ip or None,
            user_agent=evidence.user_agent[:500],
            confirms=confirms,
        )
        if status != ConsentStatus.PENDING:
            activity_services.event_ingest(
                event=event_factories.event_build(
                    type=EventType.CONSENT_GRANTED
                    if status == ConsentStatus.GRANTED
                    else EventType.CONSENT_WITHDRAWN,
                    occurred_at=now,
                    source=_event_source(evidence.source),
                    contact_id=contact_id,
                    properties={
                        "topic": topic.key if topic else "*",
                        "legal_basis": legal_basis,
                        "record_id": record.pk,
                    },
                )
            )
    logger.info(
        "consent.recorded",
        extra={"contact": contact_id, "topic": topic.key if topic else "*", "status": status},
    )
    return record


_EVENT_SOURCES: dict[str, str] = {
    ConsentSource.FORM: "form",
    ConsentSource.IMPORT: "import",
    ConsentSource.API: "api",
    ConsentSource.UI: "ui",
}


def _event_source(consent_source: str) -> str:
    """The timeline source of a consent change (links in mails count as "email")."""
    return _EVENT_SOURCES.get(consent_source, "email")


@dataclass(frozen=True)
class NewConsent:
    """One record for ``consent_bulk_record`` (the set-based twin of ``consent_record``)."""

    contact_id: int
    topic: ConsentTopic | None
    status: str
    legal_basis: str
    evidence: Evidence
    at: datetime


def consent_bulk_record(*, records: Sequence[NewConsent]) -> int:
    """Append many records (imports, demo data) with one insert, and their timeline events.

    Same rules as ``consent_record``; the first bad record rejects the whole set
    (``ValidationError``) before anything is written. Returns how many were written.
    """
    rows: list[ConsentRecord] = []
    for new in records:
        if new.status not in (ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN):
            raise ValidationError("Bulk consents are granted or withdrawn.")
        if new.status == ConsentStatus.GRANTED and new.legal_basis not in LegalBasis.values:
            raise ValidationError("A consent needs a legal basis.")
        text = new.evidence.purpose_text
        rows.append(
            ConsentRecord(
                contact_id=new.contact_id,
                topic=new.topic,
                status=new.status,
                legal_basis=new.legal_basis if new.status == ConsentStatus.GRANTED else "",
                source=new.evidence.source,
                source_detail=new.evidence.source_detail[:200],
                recorded_at=new.at,
                purpose_text=text,
                text_version=text.version if text else None,
                text_sha256=text.sha256 if text else "",
                ip=new.evidence.ip or None,
                user_agent=new.evidence.user_agent[:500],
            )
        )
    with transaction.atomic():
        created = ConsentRecord.objects.bulk_create(rows, batch_size=500)
        # SQLite and PostgreSQL both return the new ids from bulk_create.
        activity_services.event_ingest_batch(
            events=[
                event_factories.event_build(
                    type=EventType.CONSENT_GRANTED
                    if r.status == ConsentStatus.GRANTED
                    else EventType.CONSENT_WITHDRAWN,
                    occurred_at=r.recorded_at,
                    source=_event_source(r.source),
                    contact_id=r.contact_id,
                    properties={
                        "topic": r.topic.key if r.topic else "*",
                        "legal_basis": r.legal_basis,
                        "record_id": r.pk,
                    },
                )
                for r in created
            ]
        )
    return len(created)


def topic_save(
    *,
    key: str,
    name: str,
    description: str = "",
    is_active: bool = True,
    topic: ConsentTopic | None = None,
) -> ConsentTopic:
    """Create a consent topic, or edit ``topic``. The key of an existing topic never changes
    (records and forms refer to it). Raises ``ValidationError`` for a taken key or no name."""
    name = name.strip()
    if not name:
        raise ValidationError("A topic needs a name.", field_errors={"name": "required"})
    if topic is None:
        if ConsentTopic.objects.filter(key=key).exists():
            raise ValidationError("This key is taken.", field_errors={"key": "taken"})
        return ConsentTopic.objects.create(
            key=key, name=name, description=description.strip(), is_active=is_active
        )
    topic.name, topic.description, topic.is_active = name, description.strip(), is_active
    topic.save(update_fields=["name", "description", "is_active"])
    return topic


def topics_default_install() -> int:
    """Give a new installation its first consent topics (``defaults.DEFAULT_TOPICS``), so forms
    and imports can record consent from the start. Does nothing once any topic exists (even an
    inactive one): the marketers' own list is never touched. Returns how many were created."""
    if ConsentTopic.objects.exists():
        return 0
    ConsentTopic.objects.bulk_create(
        [ConsentTopic(key=key, name=name, description=text) for key, name, text in DEFAULT_TOPICS],
        ignore_conflicts=True,
    )
    return len(DEFAULT_TOPICS)


# --- Erasure: the ledger's proof kept under keyed hashes, the hashed suppression list -------

_CHUNK = 500


def consent_records_erase(
    *, contact_ids: Sequence[int], email_hash: str, phone_hash: str, redactor: Redactor
) -> int:
    """Keep the consent records of erased contacts as the proof the law asks for (特定電子メール法:
    until a month after the last mail), without the person: each record gets the keyed hashes
    of their email and phone, its IP address and user agent are replaced by their keyed
    hashes, a source detail that names the person by its keyed hash. Decisions, topics, times,
    purpose-of-use versions and sources stay. Goes through ``ledger_erasure``, the only door
    through the ledger's refusal to change. Records already erased are left as they are, so
    erasing twice changes nothing. Returns how many records were erased.
    """
    rows = list(
        ConsentRecord.objects.filter(contact_id__in=contact_ids, erased_at__isnull=True).values(
            "pk", "ip", "user_agent", "source_detail"
        )
    )
    if not rows:
        return 0
    # One UPDATE per distinct (IP, user agent, detail): a person has few of them.
    groups: dict[tuple[str, str, str], list[int]] = {}
    for row in rows:
        detail = row["source_detail"]
        if redactor.hits(detail):
            detail = keyed_hash(detail)
        key = (keyed_hash(row["ip"] or ""), keyed_hash(row["user_agent"]), detail)
        groups.setdefault(key, []).append(row["pk"])
    now = clock.now()
    with ledger_erasure():
        for (ip_hash, user_agent_hash, detail), ids in groups.items():
            for start in range(0, len(ids), _CHUNK):
                # The base class's update: ConsentRecordQuerySet.update refuses every caller
                # but this one, inside the open door.
                models.QuerySet.update(
                    ConsentRecord.objects.filter(pk__in=ids[start : start + _CHUNK]),
                    ip=None,
                    user_agent="",
                    ip_hash=ip_hash,
                    user_agent_hash=user_agent_hash,
                    source_detail=detail,
                    email_hash=email_hash,
                    phone_hash=phone_hash,
                    erased_at=now,
                )
    logger.info("consent.records_erased", extra={"records": len(rows)})
    return len(rows)


def hashed_suppression_add(*, email_hash: str, phone_hash: str) -> bool:
    """Put an erased person on the hashed suppression list (``HashedSuppression``); whether a
    row was added (``False``: they are on it already, or there is nothing to hash)."""
    if not email_hash and not phone_hash:
        return False
    _row, created = HashedSuppression.objects.get_or_create(
        email_hash=email_hash, phone_hash=phone_hash, defaults={"created_at": clock.now()}
    )
    return created


def hashed_suppression_lift(*, email_hash: str, phone_hash: str) -> int:
    """Take a person off the hashed suppression list because they opted in again themselves
    (a form's opt-in, a confirmed double opt-in): every row with their email's or their phone's
    hash goes. Returns how many rows went."""
    match = models.Q(pk__in=[])
    if email_hash:
        match |= models.Q(email_hash=email_hash)
    if phone_hash:
        match |= models.Q(phone_hash=phone_hash)
    deleted, _ = HashedSuppression.objects.filter(match).delete()
    if deleted:
        logger.info("consent.hashed_suppression_lifted", extra={"rows": deleted})
    return deleted
