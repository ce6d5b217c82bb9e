"""The demo's mail history as outbox rows, so mail reports have something to show.

``behaviour`` records every mail a demo person got as events that name the mail by a made-up
Message-ID (``<demo-N@mail.demo-ma.example>``): ``email_sent`` with the subject, then maybe
``email_bounced``, ``email_opened`` and ``email_clicked``. ``mail_demo_setup()`` gives each such
mail the ``messaging.Message`` a real send would have left:

- email, marketing stream, status sent, from the default marketing sender profile, to the
  contact's address, with the subject; ``created_at`` and ``sent_at`` from ``email_sent``,
  ``opened_at`` from the first human open (or click), ``clicked_at`` from the first click,
  ``bounced_at`` from the bounce (a bounce reported after sending leaves the status sent);
- the seeds' three step mails (``behaviour.STEP_MAIL_SUBJECTS``) point at the email steps of
  the B2B sequence, in order, with the step's template and the sequence's consent topic, so the
  per-step report has history; newsletters (topic ``newsletter``) and webinar and trade-show
  follow-ups (``seminars``) belong to no sequence;
- a hard-bounced address goes on the suppression list, as a real bounce puts it there.

Then the events' ``message_id`` becomes the row's id, so events join their message as those of
real sends do, and a step mail's ``email_sent`` names its ``sequence`` and ``step`` as the
delivery service writes them. Events that already name a row are left alone, so a second run
writes nothing.

Works through ranges of contact ids, one transaction each, with one ``executemany`` insert of
the rows and one of the event updates per range: memory stays flat however large the demo is,
and tens of thousands of mails take a second or two.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import DateTimeField, Max, Min

from sokyaku.activity.models import Event, EventSource, EventType
from sokyaku.consent.models import Suppression, SuppressionReason
from sokyaku.contacts.models import Contact
from sokyaku.demo.behaviour import NEWSLETTER_PREFIX, STEP_MAIL_SUBJECTS
from sokyaku.messaging.models import (
    Message,
    MessageChannel,
    MessageStatus,
    SenderProfile,
    Stream,
)

logger = logging.getLogger(__name__)

_CONTACTS_PER_PASS = 5000
_BATCH = 2000
_TYPES = (
    EventType.EMAIL_SENT,
    EventType.EMAIL_BOUNCED,
    EventType.EMAIL_OPENED,
    EventType.EMAIL_CLICKED,
)
# How the Message-IDs of ``Stream.message_id`` start (a real event names its row by number).
_DEMO_ID = "<demo-"
_BOUNCE_DETAIL = "550 5.1.1 User unknown"


@dataclass(frozen=True)
class _Step:
    sequence_id: int
    step_id: int
    template_id: int | None
    topic_key: str


@dataclass
class _Mail:
    """One demo mail, gathered from its events."""

    contact_id: int
    sent_at: datetime | None = None
    subject: str = ""
    opened_at: datetime | None = None
    clicked_at: datetime | None = None
    bounced_at: datetime | None = None
    # (event id, type, properties) of every event that names the mail
    events: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)


def _step_mails() -> dict[str, _Step]:
    """Subject of each step mail → the B2B sequence's email step it stands for ({} when the
    sequence cannot be installed)."""
    from sokyaku.sequences.models import StepKind
    from sokyaku.sequences.presets import b2b_sequence, sequences_presets_install_if_missing

    sequences_presets_install_if_missing()
    sequence = b2b_sequence()
    if sequence is None:
        return {}
    steps = sequence.steps.filter(kind=StepKind.EMAIL).order_by("position")
    result: dict[str, _Step] = {}
    for subject, step in zip(STEP_MAIL_SUBJECTS, steps, strict=False):
        template = (step.config or {}).get("template")
        result[subject] = _Step(
            sequence_id=sequence.pk,
            step_id=step.pk,
            template_id=template if isinstance(template, int) else None,
            topic_key=sequence.topic_key,
        )
    return result


def _gather(lo: int, hi: int) -> dict[str, _Mail]:
    """The demo mails of contacts with ids in [lo, hi), in the order they were sent."""
    rows = (
        Event.objects.filter(
            contact_id__gte=lo,
            contact_id__lt=hi,
            type__in=_TYPES,
            source=EventSource.EMAIL,
        )
        .order_by("occurred_at", "id")
        .values_list("id", "type", "contact_id", "occurred_at", "properties")
    )
    mails: dict[str, _Mail] = {}
    for event_id, type, contact_id, at, properties in rows.iterator(chunk_size=_BATCH):
        demo_id = (properties or {}).get("message_id")
        if not isinstance(demo_id, str) or not demo_id.startswith(_DEMO_ID):
            continue
        mail = mails.get(demo_id)
        if mail is None:
            mail = mails[demo_id] = _Mail(contact_id=contact_id)
        mail.events.append((event_id, type, properties))
        if type == EventType.EMAIL_SENT and mail.sent_at is None:
            mail.sent_at, mail.subject = at, str(properties.get("subject", ""))
        elif type == EventType.EMAIL_BOUNCED:
            mail.bounced_at = mail.bounced_at or at
        elif type == EventType.EMAIL_CLICKED:
            mail.clicked_at = mail.clicked_at or at
            mail.opened_at = mail.opened_at or at  # a click implies an open
        elif type == EventType.EMAIL_OPENED and properties.get("machine") is not True:
            mail.opened_at = mail.opened_at or at
    return mails


def _topic(subject: str) -> str:
    return "newsletter" if subject.startswith(NEWSLETTER_PREFIX) else "seminars"


def _row(demo_id: str, mail: _Mail, *, to: str, step: _Step | None) -> dict[str, Any]:
    """The columns in which one demo mail's row differs from the others."""
    return {
        "dedupe_key": f"demo:{demo_id}",
        "contact_id": mail.contact_id,
        "to_address": to,
        "template_id": step.template_id if step else None,
        "topic_key": step.topic_key if step else _topic(mail.subject),
        "sequence_id": step.sequence_id if step else None,
        "step_id": step.step_id if step else None,
        "subject": mail.subject,
        "created_at": mail.sent_at,
        "sent_at": mail.sent_at,
        "opened_at": mail.opened_at,
        "clicked_at": mail.clicked_at,
        "bounced_at": mail.bounced_at,
    }


def _messages_insert(rows: list[dict[str, Any]], *, sender_id: int | None) -> None:
    """``INSERT`` once per row with ``executemany``: the shared columns (channel, stream, status,
    sender …) are prepared once, and only timestamps need preparing per row. ``bulk_create``
    prepares every column of every row and splits SQLite's inserts into statements of a few
    dozen rows; this is several times faster for the demo's tens of thousands of mails."""
    shared = Message(
        channel=MessageChannel.EMAIL,
        stream=Stream.MARKETING,
        status=MessageStatus.SENT,
        sender_id=sender_id,
        attempts=1,
    )
    columns = [f for f in Message._meta.concrete_fields if not f.primary_key]
    constant = {
        f.attname: f.get_db_prep_save(getattr(shared, f.attname), connection)
        for f in columns
        if f.attname not in rows[0]
    }
    timestamps = {f.attname for f in columns if isinstance(f, DateTimeField)}
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    # Only the model's own table and column names go into the statement, quoted.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(Message._meta.db_table),
        ", ".join(quote(str(f.column)) for f in columns),
        ", ".join(["%s"] * len(columns)),
    )
    params = [
        [
            constant[f.attname]
            if f.attname in constant
            else adapt(row[f.attname])
            if f.attname in timestamps
            else row[f.attname]
            for f in columns
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _properties_write(changes: list[tuple[int, dict[str, Any]]]) -> None:
    """``UPDATE … SET properties = %s WHERE id = %s`` once per event with ``executemany``."""
    column = Event._meta.get_field("properties")
    quote = connection.ops.quote_name
    # Only the model's own table and column names go into the statement, quoted.
    sql = "UPDATE {} SET {} = %s WHERE {} = %s".format(  # noqa: S608
        quote(Event._meta.db_table), quote("properties"), quote("id")
    )
    params = [
        [column.get_db_prep_save(properties, connection), event_id]
        for event_id, properties in changes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _pass(lo: int, hi: int, *, sender_id: int | None, steps: dict[str, _Step]) -> int:
    """The outbox rows of the demo mails of contacts [lo, hi); returns how many were made."""
    from sokyaku.messaging.services.delivery import address_hash

    mails = {k: m for k, m in _gather(lo, hi).items() if m.sent_at is not None}
    if not mails:
        return 0
    emails = dict(Contact.objects.filter(pk__gte=lo, pk__lt=hi).values_list("pk", "email"))
    rows = [
        _row(demo_id, mail, to=emails.get(mail.contact_id, ""), step=steps.get(mail.subject))
        for demo_id, mail in mails.items()
    ]
    _messages_insert(rows, sender_id=sender_id)
    ids = dict(
        Message.objects.filter(
            contact_id__gte=lo, contact_id__lt=hi, dedupe_key__startswith="demo:"
        ).values_list("dedupe_key", "pk")
    )
    changes: list[tuple[int, dict[str, Any]]] = []
    for demo_id, mail in mails.items():
        step = steps.get(mail.subject)
        for event_id, type, properties in mail.events:
            changed = {**properties, "message_id": ids[f"demo:{demo_id}"]}
            if type == EventType.EMAIL_SENT and step is not None:
                changed.update(sequence=step.sequence_id, step=step.step_id)
            changes.append((event_id, changed))
    _properties_write(changes)
    dead = {
        address_hash(row["to_address"]): row["bounced_at"]
        for row in rows
        if row["bounced_at"] is not None and row["to_address"]
    }
    Suppression.objects.bulk_create(
        [
            Suppression(
                email_sha256=digest,
                reason=SuppressionReason.HARD_BOUNCE,
                detail=_BOUNCE_DETAIL,
                created_at=at,
            )
            for digest, at in dead.items()
        ],
        batch_size=_BATCH,
        ignore_conflicts=True,
    )
    return len(rows)


def mail_demo_setup() -> int:
    """Outbox rows for the demo's mail events (see the module docstring); returns how many.

    Writes ``Message`` rows, rewrites the ``message_id`` (and, on a step mail's ``email_sent``,
    ``sequence`` and ``step``) of their events, adds hard-bounced addresses to the suppression
    list. Installs the sequence presets when they are missing (the step mails point at one).
    """
    sender_id = (
        SenderProfile.objects.filter(stream=Stream.MARKETING, is_default=True)
        .values_list("pk", flat=True)
        .first()
    )
    steps = _step_mails()
    bounds = Contact.objects.aggregate(lo=Min("pk"), hi=Max("pk"))
    if bounds["lo"] is None:
        return 0
    made = 0
    for lo in range(bounds["lo"], bounds["hi"] + 1, _CONTACTS_PER_PASS):
        with transaction.atomic():
            made += _pass(lo, lo + _CONTACTS_PER_PASS, sender_id=sender_id, steps=steps)
    logger.info("demo.mail", extra={"messages": made})
    return made
