"""Every write to contacts and companies.

``contact_upsert`` is the one way a person enters the system (forms, API, imports, demo data).
It normalises, dedupes (email; else name + company key; else phone) and either creates or updates
one contact. Concurrent duplicates are settled by the database: the live ``dedupe_key`` is unique,
so the loser of a race gets an IntegrityError and retries into an update.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource, EventType
from sokyaku.contacts import normalize, sources
from sokyaku.contacts.models import (
    Company,
    Contact,
    EmployeeBand,
    FieldDefinition,
    FieldType,
    Industry,
    MergeRecord,
    RevenueBand,
    Tag,
    UpdatePolicy,
)
from sokyaku.contacts.prefectures import PREFECTURE_BY_CODE, prefecture_code
from sokyaku.contacts.selectors import company_by_email_domain, company_by_kana
from sokyaku.core import clock
from sokyaku.core.errors import Conflict, SokyakuError, ValidationError

logger = logging.getLogger(__name__)

_RETRIES = 3
_DEDUPE_KEY_MAX = Contact._meta.get_field("dedupe_key").max_length or 300


@dataclass
class ContactInput:
    """What a caller knows about a person; ``None`` means "not given" (leave as is)."""

    family_name: str | None = None
    given_name: str | None = None
    family_name_kana: str | None = None
    given_name_kana: str | None = None
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    department: str | None = None
    title: str | None = None
    postal_code: str | None = None
    prefecture: int | str | None = None
    address: str | None = None
    owner_id: int | None = None
    tags: list[str] | None = None
    custom_fields: dict[str, Any] | None = None
    first_touch_channel_id: int | None = None
    # Fields to empty (``contact_update`` only): "prefecture", "owner_id", "first_touch_channel_id".
    clear: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ContactInput:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class UpsertResult:
    contact: Contact
    created: bool
    changed: list[str] = field(default_factory=list)


# Fields copied as text, stripped at the ends only: 髙, 﨑, emoji and inner full-width spaces
# are the person's own spelling and stay exactly as given.
_TEXT_FIELDS = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "department",
    "title",
    "address",
)


_MAX_LENGTH = {
    name: int(getattr(Contact._meta.get_field(name), "max_length", 0)) for name in _TEXT_FIELDS
}


_CLEARABLE = ("prefecture", "owner_id", "first_touch_channel_id")
_KANA_FIELDS = frozenset({"family_name_kana", "given_name_kana"})
_NAME_FIELDS = frozenset({"family_name", "given_name", "family_name_kana", "given_name_kana"})
NAME_CONTROL_ERROR = "Line breaks and control characters are not allowed in a name."
# An erased contact is an anonymous row kept for the numbers: nothing is written to it again.
ERASED_ERROR = "This person was erased at their request; their contact cannot be changed."
_PHONE_WRITTEN_MAX = int(getattr(Contact._meta.get_field("phone_written"), "max_length", 100))
_PHONE_EXTENSION_MAX = int(getattr(Contact._meta.get_field("phone_extension"), "max_length", 10))
# The columns one phone number is kept in; they change together.
PHONE_COLUMNS = ("phone", "phone_written", "phone_extension", "phone_needs_review")


@dataclass
class _Clean:
    values: dict[str, Any]
    company_name: str | None
    tags: list[str] | None


def _clean(data: ContactInput) -> _Clean:
    """Normalise and validate; raises ``ValidationError`` listing every bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        raw = getattr(data, name)
        if raw is not None:
            values[name] = str(raw).strip()
            if name in _NAME_FIELDS and normalize.has_control_characters(values[name]):
                errors[name] = NAME_CONTROL_ERROR
                continue
            if name in _KANA_FIELDS:
                # Readings are stored as forms store them: ｻｻｷ and ささき are ササキ.
                values[name] = normalize.kana_reading(values[name])
            limit = _MAX_LENGTH[name]
            if len(values[name]) > limit:
                errors[name] = f"At most {limit} characters."
    if data.email is not None:
        try:
            values["email"] = normalize.email_normalize(str(data.email))
        except normalize.InvalidValue as exc:
            errors["email"] = f"Enter a valid email address ({exc})."
    if data.phone is not None:
        # Never refused for its format: a number that cannot be read is kept as written and
        # marked for review (a lead is worth more than a tidy phone column).
        phone = normalize.phone_parse(str(data.phone))
        if len(phone.written) > _PHONE_WRITTEN_MAX:
            errors["phone"] = f"At most {_PHONE_WRITTEN_MAX} characters."
        values.update(
            phone=phone.e164,
            phone_written=phone.written,
            phone_extension=phone.extension[:_PHONE_EXTENSION_MAX],
            phone_needs_review=phone.needs_review,
        )
    if data.postal_code is not None:
        try:
            values["postal_code"] = normalize.postal_code_normalize(str(data.postal_code))
        except normalize.InvalidValue:
            errors["postal_code"] = "Enter a postal code like 100-0001."
    for name in data.clear:
        if name not in _CLEARABLE:
            errors[name] = "Cannot be cleared."
        values[name] = None
    if data.prefecture not in (None, ""):
        code = _prefecture(data.prefecture)
        if code is None:
            errors["prefecture"] = "Unknown prefecture."
        else:
            values["prefecture"] = code
    elif values.get("postal_code"):
        values["prefecture"] = normalize.postal_code_prefecture(values["postal_code"])
    if data.owner_id is not None:
        values["owner_id"] = data.owner_id
    if data.first_touch_channel_id is not None:
        values["first_touch_channel_id"] = data.first_touch_channel_id
    if data.custom_fields is not None:
        try:
            values["custom_fields"] = custom_fields_clean(values=data.custom_fields)
        except ValidationError as exc:
            errors.update(exc.field_errors)
    company_name = data.company_name.strip() if data.company_name is not None else None
    if company_name and normalize.has_control_characters(company_name):
        errors["company_name"] = NAME_CONTROL_ERROR
    if errors:
        raise ValidationError("Invalid contact data.", field_errors=errors)
    tags = [t.strip() for t in data.tags if t and t.strip()] if data.tags is not None else None
    return _Clean(values=values, company_name=company_name, tags=tags)


def _prefecture(value: int | str) -> int | None:
    # isdecimal, not isdigit: "²" is a digit that int() refuses.
    if isinstance(value, int) or (isinstance(value, str) and value.isdecimal()):
        code = int(value)
        return code if code in PREFECTURE_BY_CODE else None
    return prefecture_code(normalize.nfkc(str(value)))


def custom_fields_clean(
    *, values: Mapping[str, Any], definitions: Mapping[str, FieldDefinition] | None = None
) -> dict[str, Any]:
    """Check custom field values against their definitions; returns JSON-ready values.

    ``definitions`` (by key) lets a batch load them once; by default they are read here.
    """
    if definitions is None:
        definitions = {d.key: d for d in FieldDefinition.objects.filter(key__in=list(values))}
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors[f"custom_fields.{key}"] = "No such custom field."
            continue
        if value is None or value == "":
            cleaned[key] = None
            continue
        try:
            cleaned[key] = _custom_value(definition, value)
        except (TypeError, ValueError, OverflowError):
            errors[f"custom_fields.{key}"] = f"Not a valid {definition.type}."
    if errors:
        raise ValidationError("Invalid custom fields.", field_errors=errors)
    return cleaned


def field_definition_create(*, label: str, type: str = FieldType.TEXT) -> FieldDefinition:
    """The custom contact field labelled ``label``: the existing one, else a new one whose key
    is made from the label (``ブース`` → ``busu``; ``field`` when it has no kana or Latin
    letters), numbered when taken. Raises ``ValidationError`` for an empty label."""
    label = label.strip()[: int(FieldDefinition._meta.get_field("label").max_length or 100)]
    if not label:
        raise ValidationError("Enter a label.", field_errors={"label": "required"})
    if type not in FieldType.values:
        raise ValidationError("Unknown field type.", field_errors={"type": "unknown"})
    existing = FieldDefinition.objects.filter(label=label).first()
    if existing is not None:
        return existing
    latin = re.sub(r"[^a-z0-9]+", "-", normalize.nfkc(label).lower()).strip("-")
    base = (latin or normalize.kana_romaji(label) or "field")[:40]
    taken = set(FieldDefinition.objects.filter(key__startswith=base).values_list("key", flat=True))
    key, number = base, 2
    while key in taken:
        key, number = f"{base}-{number}", number + 1
    definition = FieldDefinition.objects.create(key=key, label=label, type=type)
    logger.info("contacts.field_definition_created", extra={"key": key})
    return definition


def _custom_value(definition: FieldDefinition, value: Any) -> Any:
    if definition.type == FieldType.NUMBER:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
        if not math.isfinite(number):  # "nan", "inf": not numbers JSON (or PostgreSQL) can hold
            raise ValueError(value)
        return int(number) if number.is_integer() else number
    if definition.type == FieldType.DATE:
        return date.fromisoformat(str(value)).isoformat()
    if definition.type == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if str(value).lower() in {"true", "1", "yes"}:
            return True
        if str(value).lower() in {"false", "0", "no"}:
            return False
        raise ValueError
    if definition.type == FieldType.CHOICE:
        if str(value) not in definition.choices:
            raise ValueError
        return str(value)
    return str(value)


def _dedupe_key(*, email: str, name_key: str, company_key: str, phone: str) -> str | None:
    """The identity the dedupe rules give a person: email, else name + company, else phone."""
    if email:
        return f"e:{email}"
    if name_key and company_key:
        key = f"n:{name_key}|{company_key}"
        # A long name at a long company name would not fit the column; its digest is as unique.
        if len(key) > _DEDUPE_KEY_MAX:
            return "h:" + hashlib.sha256(key.encode()).hexdigest()
        return key
    if phone:
        return f"p:{phone}"
    return None


def contact_search_text(contact: Contact) -> str:
    """Everything a person might type to find this contact, normalised for ``search_key``."""
    kana = f"{contact.family_name_kana}{contact.given_name_kana}"
    parts = [
        contact.name_key,
        normalize.search_key(kana),
        normalize.kana_romaji(contact.family_name_kana)
        + normalize.kana_romaji(contact.given_name_kana),
        normalize.email_search_text(contact.email),
        contact.phone,
        normalize.phone_digits(normalize.phone_display(contact.phone)),
        # A number that could not be read is still found by its digits.
        normalize.phone_digits(contact.phone_written) if contact.phone_needs_review else "",
        normalize.search_key(contact.department),
        normalize.search_key(contact.title),
    ]
    company = contact.company if contact.company_id else None
    if company is not None:
        parts += [
            company.match_key,
            normalize.company_key(company.name_kana),
            normalize.search_key(company.domain),
        ]
    return " ".join(p for p in parts if p)


def _match(*, email: str, name_key: str, company_id: int | None, phone: str) -> Contact | None:
    """The live contact the dedupe rules say this person already is, if any."""
    live = Contact.objects.filter(merged_into__isnull=True).select_related("company")
    if email:
        found = live.filter(email=email).first()
        if found:
            return found
    # Name + company and phone only match a contact whose email does not contradict ours.
    no_conflict = Q(email="") | Q(email=email) if email else Q()
    if name_key and company_id:
        found = live.filter(no_conflict, name_key=name_key, company_id=company_id).first()
        if found:
            return found
    if phone:
        found = live.filter(no_conflict, phone=phone).first()
        if found:
            return found
    return None


def _company_for(name: str | None, *, actor: User | None, email: str = "") -> Company | None:
    """The company a person works at: the live one with this name's key; else the one whose
    reading it is, or whose domain is their email's (ｻｸﾗﾉｳﾞｧﾃﾞｻﾞｲﾝ株式会社 is 株式会社桜ノヴァ
    デザイン when that is the company's reading, or its domain that of @sakura-nova.example);
    else a new company."""
    if not name:
        return None
    key = normalize.company_key(name)
    if key and not Company.objects.filter(match_key=key, merged_into__isnull=True).exists():
        found = company_by_kana(keys=[key]).get(key)
        if found is None and email:
            found = company_by_email_domain(emails=[email]).get(email)
        if found is not None:
            return found
    return company_upsert(name=name, actor=actor).company


def _refresh_keys(contact: Contact) -> None:
    contact.name_key = normalize.name_key(contact.family_name, contact.given_name)
    company_key = contact.company.match_key if contact.company_id and contact.company else ""
    contact.dedupe_key = _dedupe_key(
        email=contact.email, name_key=contact.name_key, company_key=company_key, phone=contact.phone
    )
    contact.search_text = contact_search_text(contact)
    contact.title_level = normalize.title_level(contact.title)


# The derived columns ``_refresh_keys`` writes, saved with every change.
KEY_COLUMNS = ("name_key", "dedupe_key", "search_text", "title_level")


def _apply(
    contact: Contact,
    clean: _Clean,
    company: Company | None,
    *,
    overwrite: bool,
    policies: Mapping[str, str] | None = None,
) -> list[str]:
    """Copy cleaned values onto ``contact``; returns the names of fields that changed.

    With ``overwrite=False`` (anonymous input about a known person) only empty fields are filled.
    ``policies`` (an import's, by import field: ``title``, ``company_name``, ``cf:<key>`` …)
    decide field by field instead: ``fill`` (the default), ``overwrite`` or ``keep``.
    """

    def rule(field_name: str) -> str:
        if policies is None:
            return UpdatePolicy.OVERWRITE if overwrite else UpdatePolicy.FILL
        return policies.get(field_name, UpdatePolicy.FILL)

    def takes(field_name: str, current: Any) -> bool:
        """Whether a given value replaces ``current`` under the field's rule."""
        chosen = rule(field_name)
        if chosen == UpdatePolicy.KEEP:
            return False
        return chosen == UpdatePolicy.OVERWRITE or current in (None, "")

    changed: list[str] = []
    for name, value in clean.values.items():
        if name in PHONE_COLUMNS:
            continue
        current = getattr(contact, name)
        if name == "custom_fields":
            merged = dict(current or {})
            for key, item in value.items():
                if item in (None, "") and policies is not None:
                    continue  # an empty cell in a file never clears a custom field
                if takes(f"cf:{key}", merged.get(key)):
                    merged[key] = item
            if merged != current:
                contact.custom_fields = merged
                changed.append(name)
            continue
        if value in (None, "") or value == current:
            continue
        if takes(policy_field(name), current):
            setattr(contact, name, value)
            changed.append(name.removesuffix("_id"))
    phone_rule = rule("phone")
    if phone_rule != UpdatePolicy.KEEP and _phone_apply(
        contact, clean.values, overwrite=phone_rule == UpdatePolicy.OVERWRITE
    ):
        changed.append("phone")
    if (
        company is not None
        and contact.company_id != company.pk
        and takes("company_name", contact.company_id)
    ):
        contact.company = company
        changed.append("company")
    return changed


def policy_field(name: str) -> str:
    """The import field whose policy governs a contact column (``owner_id`` → ``owner``)."""
    if name in PHONE_COLUMNS:
        return "phone"
    return {"owner_id": "owner", "company": "company_name", "company_id": "company_name"}.get(
        name, name
    )


def _phone_apply(contact: Contact, values: Mapping[str, Any], *, overwrite: bool) -> bool:
    """Copy a given phone number (all its columns at once); whether anything changed.

    A number that could not be read never replaces one that could: it would lose a number we
    can dial for one we cannot.
    """
    written = values.get("phone_written") or ""
    if not written:
        return False
    new = {name: values.get(name, "") for name in PHONE_COLUMNS}
    new["phone_needs_review"] = bool(values.get("phone_needs_review"))
    has_number = bool(contact.phone or contact.phone_written)
    if has_number and not overwrite:
        return False
    if has_number and contact.phone and not new["phone"]:
        return False
    # The same number written another way (03-1234-5678 / 0312345678) is no change.
    if (
        contact.phone
        and new["phone"] == contact.phone
        and new["phone_extension"] in ("", contact.phone_extension)
    ):
        return False
    if all(getattr(contact, name) == value for name, value in new.items()):
        return False
    for name, value in new.items():
        setattr(contact, name, value)
    return True


def _tags_add(contact: Contact, names: Iterable[str]) -> bool:
    names = list(dict.fromkeys(names))
    if not names:
        return False
    existing = set(contact.tags.values_list("name", flat=True))
    missing = [n for n in names if n not in existing]
    if not missing:
        return False
    Tag.objects.bulk_create([Tag(name=n) for n in missing], ignore_conflicts=True)
    contact.tags.add(*Tag.objects.filter(name__in=missing))
    return True


def contact_upsert(
    *,
    data: ContactInput,
    source: str = EventSource.API,
    actor: User | None = None,
    overwrite: bool = True,
) -> UpsertResult:
    """Create the person, or update the contact they already are (see the module docstring).

    ``overwrite=False`` keeps every value the contact already has and only fills blanks: for
    anonymous input (a public form) about a known person. Records ``contact_created`` or
    ``contact_updated`` on the timeline. Raises ``ValidationError`` with field errors for bad
    input (nothing is written then), ``Conflict`` when the update would give the contact the
    identity of another live contact.
    """
    clean = _clean(data)
    company = _company_for(clean.company_name, actor=actor, email=clean.values.get("email", ""))
    probe = Contact(
        **{k: v for k, v in clean.values.items() if k in _TEXT_FIELDS or k in ("email", "phone")}
    )
    probe_name_key = normalize.name_key(probe.family_name, probe.given_name)
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                existing = _match(
                    email=clean.values.get("email", ""),
                    name_key=probe_name_key,
                    company_id=company.pk if company else None,
                    phone=clean.values.get("phone", ""),
                )
                result = _save(existing, clean, company, source=source, overwrite=overwrite)
            return result
        except IntegrityError as exc:
            # Someone else created this person between our lookup and our insert. When it
            # persists, the update itself makes this contact another one's identity (a phone
            # match given the company of a namesake): that takes a merge, not an upsert.
            if attempt == _RETRIES - 1:
                raise Conflict(
                    "This data would make the contact the same person as another contact. "
                    "Merge the two contacts instead."
                ) from exc
            logger.info("contact.upsert_retry", extra={"attempt": attempt + 1})
    raise AssertionError("unreachable")


def _save(
    existing: Contact | None,
    clean: _Clean,
    company: Company | None,
    *,
    source: str,
    overwrite: bool,
) -> UpsertResult:
    now = clock.now()
    if existing is None:
        contact = Contact(created_at=now, updated_at=now)
        changed = _apply(contact, clean, company, overwrite=True)
        _refresh_keys(contact)
        if contact.dedupe_key is None and not contact.name_key:
            raise ValidationError(
                "A contact needs at least an email, a phone number or a name.",
                field_errors={"email": "Enter an email, a phone number or a name."},
            )
        contact.save()
        created = True
    else:
        contact = existing
        changed = _apply(contact, clean, company, overwrite=overwrite)
        created = False
        if changed:
            contact.updated_at = now
            _refresh_keys(contact)
            contact.save(
                update_fields=[
                    *_columns(changed),
                    *KEY_COLUMNS,
                    "updated_at",
                ]
            )
    if clean.tags and _tags_add(contact, clean.tags):
        changed.append("tags")
    if created or changed:
        activity_services.event_ingest(
            event=event_factories.contact_changed(
                occurred_at=now,
                contact_id=contact.pk,
                created=created,
                source=source,
                fields=changed,
            )
        )
    return UpsertResult(contact=contact, created=created, changed=changed)


def _columns(changed: Iterable[str]) -> list[str]:
    """The columns to save for the fields ``_apply`` reports (a phone number is four)."""
    columns: list[str] = []
    for name in changed:
        if name == "phone":
            columns += PHONE_COLUMNS
        elif name != "tags":
            columns.append(name)
    return columns


def _refuse_erased(contact_ids: list[int]) -> None:
    """Raise ``ValidationError`` when one of these contacts was erased (read from the database:
    the caller's object may be older than the erasure)."""
    if Contact.objects.filter(pk__in=contact_ids, erased_at__isnull=False).exists():
        raise ValidationError(ERASED_ERROR)


def contact_update(
    *, contact: Contact, data: ContactInput, actor: User | None = None
) -> UpsertResult:
    """Edit a contact explicitly (UI or API): given values replace what it has, blanks clear.

    Raises ``ValidationError`` for bad input or an erased contact, and ``Conflict`` when the
    new email (or name + company, or phone) already belongs to another contact: merge them
    instead.
    """
    clean = _clean(data)
    company = _company_for(clean.company_name, actor=actor)
    try:
        return _update(contact, clean, company, actor=actor)
    except SokyakuError:
        contact.refresh_from_db()  # leave the caller's object as stored
        raise


def _update(
    contact: Contact, clean: _Clean, company: Company | None, *, actor: User | None
) -> UpsertResult:
    now = clock.now()
    changed: list[str] = []
    for name, value in clean.values.items():
        if getattr(contact, name) != value:
            setattr(contact, name, value)
            if name not in PHONE_COLUMNS:
                changed.append(name.removesuffix("_id"))
            elif "phone" not in changed:
                changed.append("phone")
    if clean.company_name is not None and contact.company_id != (company.pk if company else None):
        contact.company = company
        changed.append("company")
    try:
        with transaction.atomic():
            _refuse_erased([contact.pk])
            if changed:
                contact.updated_at = now
                _refresh_keys(contact)
                if contact.dedupe_key is None and not contact.name_key:
                    raise ValidationError(
                        "A contact needs at least an email, a phone number or a name.",
                        field_errors={"email": "Enter an email, a phone number or a name."},
                    )
                contact.save(update_fields=[*_columns(changed), *KEY_COLUMNS, "updated_at"])
            if clean.tags is not None:
                before = set(contact.tags.values_list("name", flat=True))
                if before != set(clean.tags):
                    Tag.objects.bulk_create(
                        [Tag(name=n) for n in clean.tags], ignore_conflicts=True
                    )
                    contact.tags.set(Tag.objects.filter(name__in=clean.tags))
                    changed.append("tags")
            if changed:
                activity_services.event_ingest(
                    event=event_factories.contact_changed(
                        occurred_at=now,
                        contact_id=contact.pk,
                        created=False,
                        source=EventSource.UI if actor else EventSource.API,
                        fields=changed,
                    )
                )
    except IntegrityError as exc:
        raise Conflict(
            "Another contact already has this email (or name and company, or phone). "
            "Merge the two contacts instead."
        ) from exc
    return UpsertResult(contact=contact, created=False, changed=changed)


def contact_note_add(*, contact: Contact, text: str, author: User) -> None:
    """Add a note to a contact's timeline. Refused for an erased person (a note would hold
    personal data again)."""
    text = text.strip()
    if not text:
        raise ValidationError("A note cannot be empty.", field_errors={"text": "required"})
    _refuse_erased([contact.pk])
    activity_services.event_ingest(
        event=event_factories.note(
            occurred_at=clock.now(), contact_id=contact.pk, text=text, author=author.get_username()
        )
    )


# --- Companies ------------------------------------------------------------------------------


@dataclass
class CompanyUpsertResult:
    company: Company
    created: bool


def company_upsert(
    *,
    name: str,
    actor: User | None = None,
    domain: str | None = None,
    industry: str | None = None,
    employee_count: int | None = None,
    employee_band: str | None = None,
    revenue_band: str | None = None,
    prefecture: int | str | None = None,
    name_kana: str | None = None,
) -> CompanyUpsertResult:
    """The live company with this name's match key, created if there is none.

    Attributes given fill the company's blanks; they never overwrite what it has. Raises
    ``ValidationError`` for an empty name or an unknown industry/band/prefecture.
    """
    name = name.strip()
    key = normalize.company_key(name)
    errors: dict[str, str] = {}
    if not key:
        errors["company_name"] = "Enter a company name."
    elif normalize.has_control_characters(name):
        errors["company_name"] = NAME_CONTROL_ERROR
    if industry and industry not in Industry.values:
        errors["industry"] = "Unknown industry."
    if employee_count is not None:
        employee_band = EmployeeBand.for_count(employee_count).value
    if employee_band and employee_band not in EmployeeBand.values:
        errors["employee_band"] = "Unknown employee band."
    if revenue_band and revenue_band not in RevenueBand.values:
        errors["revenue_band"] = "Unknown revenue band."
    pref = _prefecture(prefecture) if prefecture not in (None, "") else None
    if prefecture not in (None, "") and pref is None:
        errors["prefecture"] = "Unknown prefecture."
    if errors:
        raise ValidationError("Invalid company data.", field_errors=errors)
    attrs = {
        "domain": (domain or "").strip().lower(),
        "industry": industry or "",
        "employee_band": employee_band or "",
        "revenue_band": revenue_band or "",
        "prefecture": pref,
        "name_kana": (name_kana or "").strip(),
    }
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                company = Company.objects.filter(match_key=key, merged_into__isnull=True).first()
                if company is None:
                    now = clock.now()
                    company = Company.objects.create(
                        name=name, match_key=key, created_at=now, updated_at=now, **attrs
                    )
                    return CompanyUpsertResult(company=company, created=True)
                blanks = [k for k, v in attrs.items() if v and not getattr(company, k)]
                if blanks:
                    for k in blanks:
                        setattr(company, k, attrs[k])
                    company.updated_at = clock.now()
                    company.save(update_fields=[*blanks, "updated_at"])
                    _company_contacts_changed(
                        company_ids=[company.pk], fields=[f"company.{k}" for k in blanks]
                    )
                return CompanyUpsertResult(company=company, created=False)
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _company_contacts_changed(*, company_ids: list[int], fields: list[str]) -> None:
    """Record ``contact_updated`` for the live contacts of these companies: a company's size,
    industry or region is part of each contact's fit (scores, MQL rules, segments follow)."""
    now = clock.now()
    ids = Contact.objects.filter(company_id__in=company_ids, merged_into__isnull=True)
    activity_services.event_ingest_batch(
        events=[
            event_factories.contact_changed(
                occurred_at=now,
                contact_id=contact_id,
                created=False,
                source=EventSource.SYSTEM,
                fields=fields,
            )
            for contact_id in ids.values_list("id", flat=True).iterator()
        ]
    )


# --- Merge ----------------------------------------------------------------------------------

_CONTACT_MERGE_FIELDS = (
    *_TEXT_FIELDS,
    "email",
    *PHONE_COLUMNS,
    "postal_code",
    "prefecture",
    "owner_id",
    "company_id",
    "first_touch_channel_id",
)


def _contact_snapshot(contact: Contact) -> dict[str, Any]:
    snap: dict[str, Any] = {name: getattr(contact, name) for name in _CONTACT_MERGE_FIELDS}
    snap["custom_fields"] = dict(contact.custom_fields or {})
    snap["tags"] = sorted(contact.tags.values_list("name", flat=True))
    snap["created_at"] = contact.created_at.isoformat()
    return snap


def contact_merge(*, winner: Contact, loser: Contact, actor: User | None = None) -> MergeRecord:
    """Merge ``loser`` into ``winner``.

    The winner keeps its values and takes the loser's where it has none; tags and custom fields
    are combined; all the loser's events and visitors move to the winner; the winner keeps the
    earlier creation time (and so the first touch). The loser stays as a hidden row pointing at
    the winner. Returns the ``MergeRecord`` that ``contact_merge_undo`` takes.
    Raises ``ValidationError`` when either side is already merged or erased, or both are the
    same.
    """
    if winner.pk == loser.pk:
        raise ValidationError("A contact cannot be merged with itself.")
    if winner.merged_into_id or loser.merged_into_id:
        raise ValidationError("One of these contacts was already merged.")
    now = clock.now()
    with transaction.atomic():
        _refuse_erased([winner.pk, loser.pk])
        winner_before = _contact_snapshot(winner)
        loser_before = _contact_snapshot(loser)
        # The loser leaves the live set first, so its identity is free for the winner.
        loser.merged_into = winner
        loser.updated_at = now
        loser.save(update_fields=["merged_into", "updated_at"])
        filled = []
        # One phone number is four columns, taken together: the loser's when the winner has
        # none, or has only one that could not be read while the loser's could.
        winner_has = winner.phone or winner.phone_written
        if (loser.phone and not winner.phone) or (loser.phone_written and not winner_has):
            for name in PHONE_COLUMNS:
                setattr(winner, name, getattr(loser, name))
            filled.append("phone")
        for name in _CONTACT_MERGE_FIELDS:
            if name in PHONE_COLUMNS:
                continue
            if getattr(winner, name) in (None, "") and getattr(loser, name) not in (None, ""):
                setattr(winner, name, getattr(loser, name))
                filled.append(name)
        winner.custom_fields = {**(loser.custom_fields or {}), **(winner.custom_fields or {})}
        if loser.created_at < winner.created_at:
            winner.created_at = loser.created_at
        winner.updated_at = now
        _refresh_keys(winner)
        winner.save()
        winner.tags.add(*loser.tags.all())
        moved = activity_services.events_move(from_contact_id=loser.pk, to_contact_id=winner.pk)
        record = MergeRecord.objects.create(
            kind=MergeRecord.Kind.CONTACT,
            winner_id=winner.pk,
            loser_id=loser.pk,
            winner_before=winner_before,
            loser_before=loser_before,
            moved=moved,
            merged_by=actor,
            merged_at=now,
        )
        activity_services.event_ingest(
            event=event_factories.event_build(
                type=EventType.CONTACT_MERGED,
                occurred_at=now,
                source=EventSource.UI if actor else EventSource.SYSTEM,
                contact_id=winner.pk,
                properties={"merge_id": record.pk, "loser_id": loser.pk, "filled": filled},
            )
        )
    logger.info("contact.merged", extra={"winner": winner.pk, "loser": loser.pk})
    return record


def contact_merge_undo(*, record: MergeRecord, actor: User | None = None) -> Contact:
    """Undo a contact merge: both contacts get back what they had, the loser's events return.

    Changes made to the winner after the merge are replaced by its state before the merge for
    the fields the merge touched. Raises ``Conflict`` when the loser's email (or other identity)
    now belongs to another live contact, and ``ValidationError`` when already undone.
    """
    if record.kind != MergeRecord.Kind.CONTACT:
        raise ValidationError("Not a contact merge.")
    if record.undone_at:
        raise ValidationError("This merge was already undone.")
    now = clock.now()
    try:
        with transaction.atomic():
            winner = Contact.objects.select_for_update().get(pk=record.winner_id)
            loser = Contact.objects.select_for_update().get(pk=record.loser_id)
            for obj, snap in ((winner, record.winner_before), (loser, record.loser_before)):
                for name in _CONTACT_MERGE_FIELDS:
                    # Merges recorded before a column existed do not have it: left as is.
                    setattr(obj, name, snap.get(name, getattr(obj, name)))
                obj.custom_fields = snap["custom_fields"]
                obj.created_at = _parse_dt(snap["created_at"])
                obj.updated_at = now
            loser.merged_into = None
            _refresh_keys(winner)
            winner.save()
            _refresh_keys(loser)
            loser.save()
            winner.tags.set(Tag.objects.filter(name__in=record.winner_before["tags"]))
            loser.tags.set(Tag.objects.filter(name__in=record.loser_before["tags"]))
            activity_services.events_move_back(moved=record.moved, to_contact_id=loser.pk)
            sources.sources_changed(contact_ids=[winner.pk, loser.pk])
            record.undone_at = now
            record.save(update_fields=["undone_at"])
    except IntegrityError as exc:
        raise Conflict(
            "The merged-away contact's identity now belongs to another contact; "
            "it cannot be restored."
        ) from exc
    logger.info("contact.merge_undone", extra={"winner": winner.pk, "loser": loser.pk})
    return loser


def _parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


_COMPANY_MERGE_FIELDS = (
    "name_kana",
    "domain",
    "industry",
    "employee_band",
    "revenue_band",
    "prefecture",
    "owner_id",
)


def company_merge(*, winner: Company, loser: Company, actor: User | None = None) -> MergeRecord:
    """Merge company ``loser`` into ``winner``: blanks filled, contacts moved, loser hidden.

    Contacts moved to the winner keep their ids; their dedupe identity is recomputed (two
    contacts that become the same person by this are left for a contact merge).
    """
    if winner.pk == loser.pk:
        raise ValidationError("A company cannot be merged with itself.")
    if winner.merged_into_id or loser.merged_into_id:
        raise ValidationError("One of these companies was already merged.")
    now = clock.now()
    with transaction.atomic():
        winner_before = {n: getattr(winner, n) for n in _COMPANY_MERGE_FIELDS}
        loser_before = {n: getattr(loser, n) for n in _COMPANY_MERGE_FIELDS}
        loser.merged_into = winner
        loser.updated_at = now
        loser.save(update_fields=["merged_into", "updated_at"])
        for name in _COMPANY_MERGE_FIELDS:
            if getattr(winner, name) in (None, "") and getattr(loser, name) not in (None, ""):
                setattr(winner, name, getattr(loser, name))
        winner.updated_at = now
        winner.save()
        contact_ids = list(Contact.objects.filter(company=loser).values_list("id", flat=True))
        for contact in Contact.objects.filter(id__in=contact_ids).select_related("company"):
            contact.company = winner
            _refresh_keys(contact)
            try:
                with transaction.atomic():
                    contact.save(update_fields=["company", "dedupe_key", "search_text"])
            except IntegrityError:
                # Same person at both companies: keep the old key; a contact merge settles it.
                Contact.objects.filter(pk=contact.pk).update(company=winner)
        record = MergeRecord.objects.create(
            kind=MergeRecord.Kind.COMPANY,
            winner_id=winner.pk,
            loser_id=loser.pk,
            winner_before=winner_before,
            loser_before=loser_before,
            moved={"contacts": contact_ids},
            merged_by=actor,
            merged_at=now,
        )
        _company_contacts_changed(company_ids=[winner.pk], fields=["company"])
    logger.info("company.merged", extra={"winner": winner.pk, "loser": loser.pk})
    return record


def company_merge_undo(*, record: MergeRecord, actor: User | None = None) -> Company:
    """Undo a company merge: both companies get back their values, the contacts move back."""
    if record.kind != MergeRecord.Kind.COMPANY:
        raise ValidationError("Not a company merge.")
    if record.undone_at:
        raise ValidationError("This merge was already undone.")
    now = clock.now()
    try:
        with transaction.atomic():
            winner = Company.objects.select_for_update().get(pk=record.winner_id)
            loser = Company.objects.select_for_update().get(pk=record.loser_id)
            for obj, snap in ((winner, record.winner_before), (loser, record.loser_before)):
                for name in _COMPANY_MERGE_FIELDS:
                    setattr(obj, name, snap[name])
                obj.updated_at = now
            loser.merged_into = None
            winner.save()
            loser.save()
            for contact in Contact.objects.filter(id__in=record.moved.get("contacts", [])):
                contact.company = loser
                _refresh_keys(contact)
                contact.save(update_fields=["company", "dedupe_key", "search_text"])
            record.undone_at = now
            record.save(update_fields=["undone_at"])
            _company_contacts_changed(company_ids=[winner.pk, loser.pk], fields=["company"])
    except IntegrityError as exc:
        raise Conflict("The merged-away company's name now belongs to another company.") from exc
    return loser
