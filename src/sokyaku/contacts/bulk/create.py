"""Set-based creation of contacts and companies (see the package docstring): rows are
normalised and validated as ``contact_upsert`` does, dedupe runs per batch, and people already
known are skipped. The helpers here are shared with ``upsert``."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource
from sokyaku.contacts import normalize, selectors, services
from sokyaku.contacts.models import (
    Company,
    Contact,
    EmployeeBand,
    FieldDefinition,
    Industry,
    RevenueBand,
    Tag,
)
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError

logger = logging.getLogger(__name__)

BULK_ROWS = 2000
# Values per ``IN (...)`` lookup: well under every backend's limit on bound parameters.
_IN_CHUNK = 500
_RETRIES = 3

_T = TypeVar("_T")


@dataclass
class ContactRow(services.ContactInput):
    """A ``ContactInput`` that may say when the person first appeared (imports of history, demo
    data); ``None`` means now."""

    created_at: datetime | None = None


@dataclass
class CompanyRow:
    """What a caller knows about a company (the arguments of ``services.company_upsert``)."""

    name: str
    name_kana: str = ""
    domain: str = ""
    industry: str = ""
    employee_count: int | None = None
    employee_band: str = ""
    revenue_band: str = ""
    prefecture: int | str | None = None
    owner_id: int | None = None
    created_at: datetime | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CompanyRow:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _chunks(items: Sequence[_T], size: int = _IN_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _created_at(value: datetime | None, now: datetime) -> datetime:
    if value is None:
        return now
    if timezone.is_naive(value):
        raise ValidationError(
            "created_at needs a time zone", field_errors={"created_at": "no time zone"}
        )
    return value


def _row_errors(index: int, exc: ValidationError) -> dict[str, str]:
    return {
        f"rows.{index}.{name}": msg
        for name, msg in (exc.field_errors or {"row": exc.message}).items()
    }


# --- Companies ------------------------------------------------------------------------------


def _company_values(row: CompanyRow, now: datetime) -> dict[str, Any]:
    """The column values of a new company; the same checks as ``services.company_upsert``."""
    name = row.name.strip()
    key = normalize.company_key(name)
    errors: dict[str, str] = {}
    if not key:
        errors["company_name"] = "Enter a company name."
    if row.industry and row.industry not in Industry.values:
        errors["industry"] = "Unknown industry."
    employee_band = row.employee_band
    if row.employee_count is not None:
        employee_band = EmployeeBand.for_count(row.employee_count).value
    if employee_band and employee_band not in EmployeeBand.values:
        errors["employee_band"] = "Unknown employee band."
    if row.revenue_band and row.revenue_band not in RevenueBand.values:
        errors["revenue_band"] = "Unknown revenue band."
    pref = services._prefecture(row.prefecture) if row.prefecture not in (None, "") else None
    if row.prefecture not in (None, "") and pref is None:
        errors["prefecture"] = "Unknown prefecture."
    try:
        created_at = _created_at(row.created_at, now)
    except ValidationError as exc:
        errors.update(exc.field_errors)
        created_at = now
    if errors:
        raise ValidationError("Invalid company data.", field_errors=errors)
    return {
        "name": name,
        "match_key": key,
        "name_kana": row.name_kana.strip(),
        "domain": row.domain.strip().lower(),
        "industry": row.industry,
        "employee_band": employee_band,
        "revenue_band": row.revenue_band,
        "prefecture": pref,
        "owner_id": row.owner_id,
        "created_at": created_at,
        "updated_at": created_at,
    }


def _live_company_keys(keys: Sequence[str]) -> dict[str, Company]:
    found: dict[str, Company] = {}
    for part in _chunks(keys):
        for company in Company.objects.filter(match_key__in=part, merged_into__isnull=True):
            found[company.match_key] = company
    return found


def company_bulk_insert(*, rows: Sequence[CompanyRow | Mapping[str, Any]]) -> list[Company | None]:
    """Create the companies of ``rows`` whose match key no live company (or earlier row) has.

    Returns, per row, the new company or ``None`` when the row was skipped. Raises
    ``ValidationError`` (fields ``rows.<index>.<field>``) when any row is invalid; nothing is
    written then.
    """
    now = clock.now()
    prepared: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for index, raw in enumerate(rows):
        row = raw if isinstance(raw, CompanyRow) else CompanyRow.from_mapping(raw)
        try:
            prepared.append(_company_values(row, now))
        except ValidationError as exc:
            errors.update(_row_errors(index, exc))
    if errors:
        raise ValidationError(f"Invalid company rows ({len(errors)} errors).", field_errors=errors)
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                seen = set(
                    _live_company_keys(list(dict.fromkeys(v["match_key"] for v in prepared)))
                )
                result: list[Company | None] = []
                for values in prepared:
                    if values["match_key"] in seen:
                        result.append(None)
                        continue
                    seen.add(values["match_key"])
                    result.append(Company(**values))
                Company.objects.bulk_create(
                    [c for c in result if c is not None], batch_size=BULK_ROWS
                )
            created = sum(1 for c in result if c is not None)
            logger.info(
                "companies.bulk_created",
                extra={"count": created, "skipped": len(result) - created},
            )
            return result
        except IntegrityError:
            # A concurrent writer created one of these companies first: look again.
            if attempt == _RETRIES - 1:
                raise
            logger.info("companies.bulk_retry", extra={"attempt": attempt + 1})
    raise AssertionError("unreachable")


def company_bulk_create(*, rows: Sequence[CompanyRow | Mapping[str, Any]]) -> int:
    """Create the companies of ``rows`` that do not exist yet (by match key); returns how many
    were created. See ``company_bulk_insert``."""
    return sum(1 for company in company_bulk_insert(rows=rows) if company is not None)


# --- Contacts -------------------------------------------------------------------------------


@dataclass
class _Prepared:
    clean: services._Clean
    created_at: datetime
    company_key: str


def _prepare_each(
    rows: Sequence[services.ContactInput | Mapping[str, Any]], now: datetime
) -> list[_Prepared | ValidationError]:
    """Each row normalised and validated on its own: its ``_Prepared`` or its error."""
    inputs = [
        r if isinstance(r, services.ContactInput) else ContactRow.from_mapping(r) for r in rows
    ]
    custom_keys = {key for row in inputs for key in (row.custom_fields or {})}
    definitions = (
        {d.key: d for d in FieldDefinition.objects.filter(key__in=custom_keys)}
        if custom_keys
        else {}
    )
    prepared: list[_Prepared | ValidationError] = []
    for row in inputs:
        try:
            clean = services._clean(replace(row, custom_fields=None))
            if row.custom_fields is not None:
                clean.values["custom_fields"] = services.custom_fields_clean(
                    values=row.custom_fields, definitions=definitions
                )
            created_at = _created_at(getattr(row, "created_at", None), now)
            company_key = normalize.company_key(clean.company_name) if clean.company_name else ""
            if clean.company_name and not company_key:
                raise ValidationError(
                    "Invalid company.", field_errors={"company_name": "Enter a company name."}
                )
            values = clean.values
            if not (
                values.get("email")
                or values.get("phone")
                or normalize.name_key(values.get("family_name", ""), values.get("given_name", ""))
            ):
                raise ValidationError(
                    "A contact needs at least an email, a phone number or a name.",
                    field_errors={"email": "Enter an email, a phone number or a name."},
                )
        except ValidationError as exc:
            prepared.append(exc)
            continue
        prepared.append(_Prepared(clean=clean, created_at=created_at, company_key=company_key))
    return prepared


def _prepare(
    rows: Sequence[services.ContactInput | Mapping[str, Any]], now: datetime
) -> list[_Prepared]:
    prepared: list[_Prepared] = []
    errors: dict[str, str] = {}
    for index, item in enumerate(_prepare_each(rows, now)):
        if isinstance(item, ValidationError):
            errors.update(_row_errors(index, item))
        else:
            prepared.append(item)
    if errors:
        raise ValidationError(f"Invalid contact rows ({len(errors)} errors).", field_errors=errors)
    return prepared


def _companies_for(prepared: Sequence[_Prepared]) -> dict[str, Company]:
    """Live companies by match key for every company the rows name. A name no live company
    has is the company whose reading it is, else the company whose domain the row's email has
    (the same firm written another way: ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ株式会社 for 株式会社桜ノヴァデザイン);
    only then is a missing company created."""
    names: dict[str, str] = {}
    emails: dict[str, list[str]] = defaultdict(list)
    for item in prepared:
        if item.company_key and item.clean.company_name:
            names.setdefault(item.company_key, item.clean.company_name)
            if email := item.clean.values.get("email"):
                emails[item.company_key].append(email)
    companies = _live_company_keys(list(names))
    companies.update(selectors.company_by_kana(keys=[k for k in names if k not in companies]))
    unknown = [key for key in names if key not in companies and emails.get(key)]
    if unknown:
        by_email = selectors.company_by_email_domain(
            emails=[email for key in unknown for email in emails[key]]
        )
        for key in unknown:
            found = next((by_email[e] for e in emails[key] if e in by_email), None)
            if found is not None:
                companies[key] = found
    missing = [CompanyRow(name=name) for key, name in names.items() if key not in companies]
    if missing:
        for company in company_bulk_insert(rows=missing):
            if company is not None:
                companies[company.match_key] = company
        companies.update(_live_company_keys([k for k in names if k not in companies]))
    return companies


class _Identities:
    """Who is already known, by the dedupe rules of ``services._match``: dedupe keys, and the
    emails of contacts with a given name + company or phone (an empty email never conflicts)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.by_name: dict[tuple[str, int], set[str]] = defaultdict(set)
        self.by_phone: dict[str, set[str]] = defaultdict(set)

    def add(self, contact: Contact) -> None:
        if contact.dedupe_key:
            self.keys.add(contact.dedupe_key)
        if contact.email:
            self.keys.add(f"e:{contact.email}")
        if contact.name_key and contact.company_id:
            self.by_name[(contact.name_key, contact.company_id)].add(contact.email)
        if contact.phone:
            self.by_phone[contact.phone].add(contact.email)

    def matches(self, contact: Contact) -> bool:
        if contact.dedupe_key in self.keys or (contact.email and f"e:{contact.email}" in self.keys):
            return True

        def no_conflict(emails: set[str]) -> bool:
            return bool(emails) and (not contact.email or bool(emails & {"", contact.email}))

        pair = (contact.name_key, contact.company_id or 0)
        if contact.name_key and contact.company_id and no_conflict(self.by_name.get(pair, set())):
            return True
        return bool(contact.phone) and no_conflict(self.by_phone.get(contact.phone, set()))

    @classmethod
    def stored(cls, candidates: Sequence[Contact]) -> _Identities:
        """The live contacts any of ``candidates`` could match, one query per rule and chunk."""
        found = cls()
        live = Contact.objects.filter(merged_into__isnull=True).only(
            "id", "email", "phone", "name_key", "company_id", "dedupe_key"
        )
        keys = list({c.dedupe_key for c in candidates if c.dedupe_key})
        emails = list({c.email for c in candidates if c.email})
        pairs = list(
            {(c.name_key, c.company_id) for c in candidates if c.name_key and c.company_id}
        )
        phones = list({c.phone for c in candidates if c.phone})
        for part in _chunks(keys):
            for contact in live.filter(dedupe_key__in=part):
                found.add(contact)
        for part in _chunks(emails):
            for contact in live.filter(email__in=part):
                found.add(contact)
        # Name + company: only companies that have contacts can match (a company created with
        # this batch has none), and those are found through the company's index.
        populated: set[int] = set()
        for ids in _chunks(sorted({cid for _name, cid in pairs})):
            rows = live.filter(company_id__in=ids).values_list("company_id", flat=True)
            populated.update(cid for cid in rows.distinct() if cid is not None)
        wanted = {(name, cid) for name, cid in pairs if cid in populated}
        names = sorted({name for name, _cid in wanted})
        for ids in _chunks(sorted(populated)):
            for contact in live.filter(company_id__in=ids, name_key__in=names):
                if (contact.name_key, contact.company_id) in wanted:
                    found.add(contact)
        for part in _chunks(phones):
            for contact in live.filter(phone__in=part):
                found.add(contact)
        return found


def _tags_set(pairs: Iterable[tuple[Contact, list[str]]]) -> None:
    pairs = [(c, tags) for c, tags in pairs if tags]
    names = list(dict.fromkeys(name for _c, tags in pairs for name in tags))
    if not names:
        return
    Tag.objects.bulk_create([Tag(name=n) for n in names], ignore_conflicts=True)
    ids: dict[str, int] = {}
    for part in _chunks(names):
        ids.update(Tag.objects.filter(name__in=part).values_list("name", "id"))
    through = Contact.tags.through
    through.objects.bulk_create(
        [
            through(contact_id=contact.pk, tag_id=ids[name])
            for contact, tags in pairs
            for name in dict.fromkeys(tags)
        ],
        batch_size=BULK_ROWS,
    )


def contact_bulk_insert(
    *, rows: Sequence[services.ContactInput | Mapping[str, Any]], source: str
) -> list[Contact | None]:
    """Create the people of ``rows`` who are not contacts yet (see the module docstring).

    ``rows`` are ``ContactInput``/``ContactRow`` objects or mappings with the same keys (plus
    ``created_at``). Returns, per row, the new contact or ``None`` when the row was skipped as a
    duplicate. Writes companies the rows name, tags, and a ``contact_created`` event per contact
    (``source`` is its event source). Raises ``ValidationError`` for an unknown source or any
    invalid row; nothing is written then.
    """
    if source not in EventSource.values:
        raise ValidationError(f"Unknown source: {source}", field_errors={"source": "unknown"})
    if not rows:
        return []
    prepared = _prepare(rows, clock.now())
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                result = _insert(prepared, source=source)
            created = sum(1 for c in result if c is not None)
            logger.info(
                "contacts.bulk_created",
                extra={"count": created, "skipped": len(result) - created, "source": source},
            )
            return result
        except IntegrityError:
            # Someone else created one of these people between our lookup and our insert.
            if attempt == _RETRIES - 1:
                raise
            logger.info("contacts.bulk_retry", extra={"attempt": attempt + 1})
    raise AssertionError("unreachable")


def _insert(prepared: Sequence[_Prepared], *, source: str) -> list[Contact | None]:
    companies = _companies_for(prepared)
    candidates: list[tuple[Contact, list[str], _Prepared]] = []
    for item in prepared:
        contact = Contact(created_at=item.created_at, updated_at=item.created_at)
        company = companies.get(item.company_key) if item.company_key else None
        changed = services._apply(contact, item.clean, company, overwrite=True)
        services._refresh_keys(contact)
        candidates.append((contact, changed, item))
    known = _Identities.stored([c for c, _changed, _item in candidates])
    result: list[Contact | None] = []
    fresh: list[tuple[Contact, list[str], _Prepared]] = []
    for contact, changed, item in candidates:
        if known.matches(contact):
            result.append(None)
            continue
        known.add(contact)
        result.append(contact)
        fresh.append((contact, changed, item))
    Contact.objects.bulk_create([c for c, _changed, _item in fresh], batch_size=BULK_ROWS)
    _tags_set((contact, item.clean.tags or []) for contact, _changed, item in fresh)
    activity_services.event_ingest_batch(
        events=[
            event_factories.contact_changed(
                occurred_at=contact.created_at,
                contact_id=contact.pk,
                created=True,
                source=source,
                fields=[*changed, "tags"] if item.clean.tags else changed,
            )
            for contact, changed, item in fresh
        ]
    )
    return result


def contact_bulk_create(
    *, rows: Sequence[services.ContactInput | Mapping[str, Any]], source: str
) -> int:
    """Create the people of ``rows`` who are not contacts yet; returns how many were created.

    The set-based twin of ``contact_upsert`` (see the module docstring and
    ``contact_bulk_insert``, which also returns the contacts).
    """
    return sum(
        1 for contact in contact_bulk_insert(rows=rows, source=source) if contact is not None
    )
