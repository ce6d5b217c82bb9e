"""Erasing a person: their right to be forgotten (DESIGN.md, story 10; docs/privacy.md).

``erase_contact`` takes one person — the contact and every contact row merged into it — out of
every table and every stored file, in one transaction, and is safe to run twice:

1. It gathers the strings that identify the person (email, phone in its forms, name, reading,
   romaji, department, title, address, custom values, what they typed into forms and what
   anonymous submissions proposed for them) into a ``core.redaction.Redactor``.
2. Each app erases what it holds through its own service: the consent ledger keeps its proof
   under keyed hashes (``consent.services.consent_records_erase``), events, submissions, the
   outbox (and its ``.eml`` files), handoffs and sales activities, deals and orders, BANT and
   stage reasons, enrolments, predictions, segment memberships, pending changes, merge records,
   import files and error reports, the access log, and at last the contact rows themselves.
   A company nobody else belongs to and no other contact's deal names goes with them.
3. The person's email and (own) phone go on the hashed suppression list, so re-entering them
   leaves them unmailable until they opt in again.
4. An ``ErasureLog`` row records who, when, how, the keyed hashes and the rows per table.

Rows that reports count are anonymised where they are, never deleted: leads, the funnel, the
channel table, attribution, mail and handoff metrics give the same numbers before and after.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Exists, OuterRef

from sokyaku.activity import erasure as activity_erasure
from sokyaku.capture.models import Submission
from sokyaku.capture.services.submission import submissions_erase
from sokyaku.consent import services as consent_services
from sokyaku.contacts import erasure as contacts_erasure
from sokyaku.contacts import identity, normalize
from sokyaku.contacts.models import Company, Contact, PendingChange
from sokyaku.core import clock
from sokyaku.core.errors import NotFound
from sokyaku.core.redaction import Redactor
from sokyaku.core.services import data_access_log_erase
from sokyaku.deals.models import Deal
from sokyaku.deals.services.erasure import deals_erase
from sokyaku.handoff.services.erasure import handoffs_erase
from sokyaku.lifecycle.services.erasure import lifecycle_erase
from sokyaku.messaging.services.erasure import messages_erase
from sokyaku.privacy.models import ErasureJob, ErasureLog, ErasureVia
from sokyaku.scoring.services.erasure import predictions_erase
from sokyaku.segments.erasure import memberships_erase
from sokyaku.sequences.services.erasure import enrollments_erase

logger = logging.getLogger(__name__)

_EMAIL_RE = re.compile(r"[^\s@<>\"',;:]+@[^\s@<>\"',;:]+\.[^\s@<>\"',;:]+")
# A merge chain is never longer than the merges made; this bounds a corrupt one.
_MAX_HOPS = 50


@dataclass(frozen=True)
class Person:
    """Everything that identifies one person, gathered before anything is erased."""

    contact_ids: list[int]
    emails: list[str]
    phones: list[str]  # E.164
    redactor: Redactor
    company_ids: list[int]


def person_contact_ids(contact: Contact) -> tuple[int, list[int]]:
    """The contact rows that are this person: the live contact it was merged into (itself when
    it is live) — returned first — and every row merged into that one, directly or in a chain."""
    root = contact
    for _hop in range(_MAX_HOPS):
        if not root.merged_into_id:
            break
        parent = Contact.objects.filter(pk=root.merged_into_id).first()
        if parent is None:
            break
        root = parent
    ids = {root.pk}
    frontier = {root.pk}
    for _hop in range(_MAX_HOPS):
        frontier = set(
            Contact.objects.filter(merged_into_id__in=frontier)
            .exclude(pk__in=ids)
            .values_list("pk", flat=True)
        )
        if not frontier:
            break
        ids |= frontier
    return root.pk, sorted(ids)


def _strings(value: Any) -> Iterable[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def person_gather(contact_ids: Sequence[int]) -> Person:
    """The person's identifying strings (see the module docstring), from their contact rows,
    what they typed into forms and what anonymous submissions proposed for them."""
    strong: set[str] = set()
    weak: set[str] = set()
    emails: set[str] = set()
    phones: set[str] = set()
    written: set[str] = set()
    companies: set[int] = set()
    for row in Contact.objects.filter(pk__in=contact_ids).select_related("company"):
        if row.email:
            emails.add(row.email)
        if row.phone:
            phones.add(row.phone)
        if row.phone_written:
            written.add(row.phone_written)
        if row.company_id:
            companies.add(row.company_id)
        for family, given in (
            (row.family_name, row.given_name),
            (row.family_name_kana, row.given_name_kana),
        ):
            if family and given:
                strong.update({f"{family}{given}", f"{family} {given}"})
            weak.update(part for part in (family, given) if part)
        romaji = [
            normalize.kana_romaji(row.family_name_kana),
            normalize.kana_romaji(row.given_name_kana),
        ]
        if all(romaji) and len("".join(romaji)) >= 6:
            strong.update({"".join(romaji), " ".join(romaji), " ".join(reversed(romaji))})
        weak.update(part for part in romaji if part)
        weak.update(
            value
            for value in (
                row.department,
                row.title,
                row.address,
                row.postal_code,
                row.name_key,
                *(v for v in _strings(row.custom_fields or {}) if len(v) >= 4),
            )
            if value
        )
    # What they typed into forms, and what anonymous submissions proposed for them: the
    # addresses and phone numbers in it are theirs too (a second address, a mobile).
    typed: list[str] = []
    for data in Submission.objects.filter(contact_id__in=contact_ids).values_list(
        "data", flat=True
    ):
        typed.extend(_strings(data or {}))
    for values in PendingChange.objects.filter(contact_id__in=contact_ids).values_list(
        "values", flat=True
    ):
        typed.extend(_strings(values or {}))
    for text in typed:
        for found in _EMAIL_RE.findall(text):
            try:
                emails.add(normalize.email_normalize(found))
            except normalize.InvalidValue:
                strong.add(found)
        number = normalize.phone_normalize(text) if len(text) <= 40 else ""
        if number:
            phones.add(number)
    for email in emails:
        strong.add(email)
        local = email.rpartition("@")[0]
        if len(local) >= 6:
            weak.add(local)
    phone_forms = {*phones, *written}
    for phone in phones:
        phone_forms.add(normalize.phone_display(phone))
    strong.update(p for p in phone_forms if p)
    company_ids = _orphan_companies(companies, contact_ids)
    for name, kana in Company.objects.filter(pk__in=company_ids).values_list("name", "name_kana"):
        weak.update(v for v in (name, kana) if v)
    return Person(
        contact_ids=list(contact_ids),
        emails=sorted(emails),
        phones=sorted(phones),
        redactor=Redactor(strong=strong, weak=weak, phones=phone_forms),
        company_ids=company_ids,
    )


def _orphan_companies(company_ids: Iterable[int], contact_ids: Sequence[int]) -> list[int]:
    """The companies nobody but this person belongs to and no other contact's deal names."""
    others = Contact.objects.filter(company=OuterRef("pk")).exclude(pk__in=contact_ids)
    other_deals = Deal.objects.filter(company=OuterRef("pk")).exclude(contact_id__in=contact_ids)
    return list(
        Company.objects.filter(pk__in=list(company_ids))
        .exclude(Exists(others))
        .exclude(Exists(other_deals))
        .values_list("pk", flat=True)
    )


def erase_contact(
    contact: Contact,
    *,
    by: User | None,
    reason: str,
    via: str = ErasureVia.UI,
    job: ErasureJob | None = None,
) -> ErasureLog:
    """Erase the person ``contact`` is (module docstring), in one transaction, and return the
    log entry. Erasing a person erased already changes nothing and returns their earlier entry.

    Side effects: the hashed suppression list, the ``.eml`` files of the local mail sink and the
    stored import files (rewritten before the transaction commits: a rollback leaves them
    without the person, as the erasure wanted). Raises ``NotFound`` for a contact that is gone.
    """
    with transaction.atomic():
        locked = Contact.objects.select_for_update().filter(pk=contact.pk).first()
        if locked is None:
            raise NotFound(f"No contact with id {contact.pk}.")
        root_id, ids = person_contact_ids(locked)
        # Every row of the person locked: an edit or a second erasure waits for this one.
        rows = list(
            Contact.objects.select_for_update()
            .filter(pk__in=ids)
            .values_list("erased_at", flat=True)
        )
        if all(erased is not None for erased in rows):
            earlier = ErasureLog.objects.filter(contact_id__in=ids).order_by("-erased_at").first()
            if earlier is not None:
                return earlier
        log = _erase(person_gather(ids), root_id=root_id, by=by, reason=reason, via=via, job=job)
    _checkpoint()
    logger.info(
        "privacy.erased",
        extra={"log": log.pk, "contacts": len(ids), "via": via, "by": by.pk if by else None},
    )
    return log


def _erase(
    person: Person,
    *,
    root_id: int,
    by: User | None,
    reason: str,
    via: str,
    job: ErasureJob | None,
) -> ErasureLog:
    now = clock.now()
    ids, redactor = person.contact_ids, person.redactor
    root = Contact.objects.get(pk=root_id)
    email_hash, phone_hash = identity.contact_hashes(root)
    if not email_hash and person.emails:
        email_hash = identity.email_hash(person.emails[0])
    if not phone_hash and person.phones:
        phone_hash = identity.phone_hash(person.phones[0])
    counts: dict[str, int] = {
        "consent.ConsentRecord": consent_services.consent_records_erase(
            contact_ids=ids, email_hash=email_hash, phone_hash=phone_hash, redactor=redactor
        ),
        **activity_erasure.events_erase(contact_ids=ids, redactor=redactor),
        "capture.Submission": submissions_erase(contact_ids=ids, redactor=redactor),
        **messages_erase(contact_ids=ids, emails=person.emails, redactor=redactor),
        **handoffs_erase(contact_ids=ids, redactor=redactor),
        **deals_erase(contact_ids=ids, redactor=redactor),
        **lifecycle_erase(contact_ids=ids, redactor=redactor),
        **enrollments_erase(contact_ids=ids, redactor=redactor, at=now),
        "scoring.Prediction": predictions_erase(contact_ids=ids),
        "segments.SegmentMembership": memberships_erase(contact_ids=ids),
        "contacts.PendingChange": contacts_erasure.pending_changes_erase(contact_ids=ids),
        "contacts.MergeRecord": contacts_erasure.merge_records_erase(contact_ids=ids),
        "contacts.ImportRowError": contacts_erasure.import_row_errors_erase(redactor=redactor),
        "contacts.ImportJob": contacts_erasure.import_files_erase(redactor=redactor),
        "core.DataAccessLog": data_access_log_erase(redactor=redactor),
        "contacts.Contact": contacts_erasure.contacts_erase(
            contact_ids=ids, redactor=redactor, at=now
        ),
    }
    counts["contacts.Company"] = contacts_erasure.companies_erase(company_ids=person.company_ids)
    # One row per address (the first own phone with the first), one per further own phone.
    email_hashes = [identity.email_hash(email) for email in person.emails]
    phone_hashes = [h for h in map(identity.personal_phone_hash, person.phones) if h]
    first_phone = phone_hashes[0] if phone_hashes and email_hashes else ""
    entries = [(e, first_phone if i == 0 else "") for i, e in enumerate(email_hashes)]
    entries += [("", p) for p in phone_hashes if not (p == first_phone and first_phone)]
    counts["consent.HashedSuppression"] = sum(
        consent_services.hashed_suppression_add(email_hash=e, phone_hash=p) for e, p in entries
    )
    return ErasureLog.objects.create(
        erased_at=now,
        erased_by=by,
        via=via,
        reason=redactor.text(reason.strip())[:300],
        contact_id=root_id,
        email_hash=email_hash,
        phone_hash=phone_hash,
        counts={table: count for table, count in sorted(counts.items()) if count},
        job=job,
    )


def _checkpoint() -> None:
    """SQLite in WAL mode keeps the pages an erasure overwrote in its write-ahead log until a
    checkpoint; move them into the database file (whose freed space ``secure_delete`` zeroes)
    and empty the log, when no reader holds it."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
