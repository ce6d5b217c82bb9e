"""Audience export: a segment's members as a hashed customer list for ad retargeting.

Formats: Google Ads Customer Match (header ``Email,Phone``; phone in E.164 with the ``+``) and
Meta custom audiences (header ``email,phone``; phone as digits with the country code, no
``+``). Emails are trimmed and lower-cased, then every value is SHA-256, lower-case hex. A
contact with neither email nor phone is skipped; a missing one of the two is an empty cell.

Consent rule: only contacts whose consent ledger grants, right now, the ``advertising`` topic
when one exists (create it to ask people for ad use specifically), and otherwise at least one
active topic. A withdrawal of all topics therefore always excludes a person. Every export is
logged (``segment.audience_exported``, who, which segment, how many rows).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging

from django.contrib.auth.models import User
from django.db.models import Q

from sokyaku.consent.models import ConsentTopic
from sokyaku.contacts.export import neutralise
from sokyaku.core.errors import PermissionDenied, ValidationError
from sokyaku.segments.conditions import consent_granted_q
from sokyaku.segments.models import Segment, SegmentMembership
from sokyaku.segments.selectors import EXPORT

logger = logging.getLogger(__name__)

GOOGLE = "google"
META = "meta"
FORMATS = (GOOGLE, META)
HEADERS = {GOOGLE: ("Email", "Phone"), META: ("email", "phone")}
ADVERTISING_TOPIC = "advertising"


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def email_for_audience(email: str) -> str:
    return email.strip().lower()


def phone_for_audience(phone: str, *, format: str) -> str:
    """``phone`` (stored as E.164, ``+81312345678``) as the platform wants it before hashing."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return ""
    return f"+{digits}" if format == GOOGLE else digits


def audience_consent_q() -> Q:
    """Contacts the consent rule above lets into an audience (a ``Q`` over Contact)."""
    keys = list(ConsentTopic.objects.filter(is_active=True).values_list("key", flat=True))
    if ADVERTISING_TOPIC in keys:
        keys = [ADVERTISING_TOPIC]
    allowed = Q(pk__in=[])
    for key in keys:
        allowed |= consent_granted_q(topic_key=key)
    return allowed


def audience_export(*, segment: Segment, format: str, actor: User | None) -> bytes:
    """The segment's consenting members as a hashed CSV for ``format`` ("google" | "meta").

    Raises ``PermissionDenied`` when ``actor`` may not export audiences and
    ``ValidationError`` for an unknown format.
    """
    if actor is not None and not actor.has_perm(EXPORT):
        raise PermissionDenied("You do not have permission to export audiences.")
    if format not in FORMATS:
        raise ValidationError(
            f"Unknown audience format {format}.", field_errors={"format": "google or meta"}
        )
    from sokyaku.contacts.models import Contact

    members = SegmentMembership.objects.filter(segment=segment).values("contact_id")
    contacts = (
        Contact.objects.filter(merged_into__isnull=True, pk__in=members)
        .filter(audience_consent_q())
        .exclude(email="", phone="")
        .order_by("pk")
        .values_list("email", "phone")
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS[format])
    rows = 0
    for email, phone in contacts.iterator(chunk_size=2000):
        email_value = email_for_audience(email)
        phone_value = phone_for_audience(phone, format=format)
        writer.writerow(
            [
                neutralise(sha256_hex(email_value)) if email_value else "",
                neutralise(sha256_hex(phone_value)) if phone_value else "",
            ]
        )
        rows += 1
    logger.info(
        "segment.audience_exported",
        extra={
            "segment": segment.pk,
            "format": format,
            "rows": rows,
            "actor": actor.pk if actor else None,
        },
    )
    return out.getvalue().encode("utf-8")
