"""``contact_bulk_upsert``: the set-based twin of ``services.contact_upsert`` that creates *or
updates*, row by row in order exactly as ``contact_upsert`` would, refusing bad rows one by one
(see the package docstring)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Field

from sokyaku.activity import events as event_factories
from sokyaku.activity import services as activity_services
from sokyaku.activity.models import EventSource
from sokyaku.contacts import normalize, services
from sokyaku.contacts.bulk.create import (
    _RETRIES,
    BULK_ROWS,
    _chunks,
    _companies_for,
    _prepare_each,
    _Prepared,
)
from sokyaku.contacts.models import Company, Contact, Tag
from sokyaku.core import clock
from sokyaku.core.errors import ValidationError

logger = logging.getLogger(__name__)

_CONFLICT = (
    "This data would make the contact the same person as another contact. "
    "Merge the two contacts instead."
)
# Ranks new contacts after every stored one when "newest first" breaks a tie on created_at.
_UNSAVED_RANK = 1 << 62


@dataclass
class UpsertRow:
    """What ``contact_bulk_upsert`` did with one row: the contact it created or updated (with the
    fields that changed), or, when the row was refused, why (field → message, as
    ``contact_upsert`` raises them)."""

    contact: Contact | None = None
    created: bool = False
    changed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    # For a known contact, the import fields (``title``, ``company_name``, ``cf:<key>`` …) whose
    # stored value the row disagreed with: filled (it was empty), overwritten, or kept.
    filled: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


class _Index:
    """The live contacts a batch can match, in memory, by the rules of ``services._match``:
    email; else name key + company where the emails do not conflict; else phone, likewise.
    When several match, the newest wins (``Contact.Meta.ordering``), as ``.first()`` would."""

    def __init__(self) -> None:
        self.by_email: dict[str, list[Contact]] = defaultdict(list)
        self.by_name: dict[tuple[str, int], list[Contact]] = defaultdict(list)
        self.by_phone: dict[str, list[Contact]] = defaultdict(list)
        self.rank: dict[int, tuple[datetime, int]] = {}
        self.keys: dict[int, tuple[str, tuple[str, int] | None, str]] = {}

    def add(self, contact: Contact, *, rank: int) -> None:
        pair = (
            (contact.name_key, contact.company_id)
            if contact.name_key and contact.company_id
            else None
        )
        self.keys[id(contact)] = (contact.email, pair, contact.phone)
        self.rank[id(contact)] = (contact.created_at, rank)
        if contact.email:
            self.by_email[contact.email].append(contact)
        if pair is not None:
            self.by_name[pair].append(contact)
        if contact.phone:
            self.by_phone[contact.phone].append(contact)

    def reindex(self, contact: Contact) -> None:
        """Index ``contact`` again after its email, name, company or phone changed."""
        rank = self.rank[id(contact)][1]
        self.discard(contact)
        self.add(contact, rank=rank)

    def discard(self, contact: Contact) -> None:
        email, pair, phone = self.keys.pop(id(contact))
        del self.rank[id(contact)]
        for bucket in (
            self.by_email.get(email),
            self.by_name.get(pair) if pair else None,
            self.by_phone.get(phone),
        ):
            if bucket is not None:
                bucket[:] = [c for c in bucket if c is not contact]

    def _newest(self, contacts: Iterable[Contact]) -> Contact | None:
        return max(contacts, key=lambda c: self.rank[id(c)], default=None)

    def match(
        self, *, email: str, name_key: str, company_id: int | None, phone: str
    ) -> Contact | None:
        if email:
            found = self._newest(self.by_email.get(email, ()))
            if found is not None:
                return found

        def no_conflict(contact: Contact) -> bool:
            return not email or contact.email in ("", email)

        if name_key and company_id:
            found = self._newest(
                c for c in self.by_name.get((name_key, company_id), ()) if no_conflict(c)
            )
            if found is not None:
                return found
        if phone:
            return self._newest(c for c in self.by_phone.get(phone, ()) if no_conflict(c))
        return None


def _disagreements(
    contact: Contact, values: Mapping[str, Any], company: Company | None
) -> dict[str, tuple[bool, Any]]:
    """The import fields where the row gives a value the contact does not have: field →
    (whether the contact's value is empty, the value the row gives)."""
    found: dict[str, tuple[bool, Any]] = {}
    for name, value in values.items():
        if name in services.PHONE_COLUMNS or value in (None, ""):
            continue
        if name == "custom_fields":
            stored = contact.custom_fields or {}
            for key, item in value.items():
                if item not in (None, "") and stored.get(key) != item:
                    found[f"cf:{key}"] = (stored.get(key) in (None, ""), item)
            continue
        current = getattr(contact, name)
        if value != current:
            found[services.policy_field(name)] = (current in (None, ""), value)
    phone, written = values.get("phone") or "", values.get("phone_written") or ""
    same_number = bool(phone) and phone == contact.phone
    if written and not same_number and written != contact.phone_written:
        found["phone"] = (not (contact.phone or contact.phone_written), written)
    if company is not None and company.pk != contact.company_id:
        found["company_name"] = (contact.company_id is None, company.pk)
    return found


def _outcome(row: UpsertRow, before: Mapping[str, tuple[bool, Any]]) -> None:
    """Sort a known contact's disagreeing fields into filled, overwritten and kept."""
    contact = row.contact
    assert contact is not None
    for name, (was_empty, given) in before.items():
        if name.startswith("cf:"):
            applied = (contact.custom_fields or {}).get(name[3:]) == given
        elif name == "company_name":
            applied = contact.company_id == given
        elif name == "phone":
            applied = "phone" in row.changed
        else:
            column = {"owner": "owner_id"}.get(name, name)
            applied = getattr(contact, column) == given
        if not applied:
            row.kept.append(name)
        elif was_empty:
            row.filled.append(name)
        else:
            row.overwritten.append(name)


def _stored(items: Sequence[_Prepared], companies: Mapping[str, Company]) -> list[Contact]:
    """The live contacts any of ``items`` could match (full rows with their company), one query
    per rule and chunk of values."""
    emails = sorted({e for item in items if (e := item.clean.values.get("email"))})
    phones = sorted({p for item in items if (p := item.clean.values.get("phone"))})
    pairs: set[tuple[str, int]] = set()
    for item in items:
        company = companies.get(item.company_key) if item.company_key else None
        values = item.clean.values
        name_key = normalize.name_key(values.get("family_name", ""), values.get("given_name", ""))
        if company is not None and name_key:
            pairs.add((name_key, company.pk))
    live = Contact.objects.filter(merged_into__isnull=True).select_related("company")
    found: dict[int, Contact] = {}
    for part in _chunks(emails):
        found.update((c.pk, c) for c in live.filter(email__in=part) if c.pk not in found)
    for part in _chunks(phones):
        found.update((c.pk, c) for c in live.filter(phone__in=part) if c.pk not in found)
    # Name + company: the ids of exact (name key, company) pairs first (namesakes at the batch's
    # other companies come back too, as cheap tuples), then only those rows in full.
    wanted: set[int] = set()
    company_ids = sorted({cid for _name, cid in pairs})
    for names in _chunks(sorted({name for name, _cid in pairs})):
        for ids in _chunks(company_ids):
            keys = live.filter(name_key__in=names, company_id__in=ids).values_list(
                "pk", "name_key", "company_id"
            )
            wanted.update(pk for pk, name, cid in keys if (name, cid) in pairs)
    for part in _chunks(sorted(wanted - found.keys())):
        found.update((c.pk, c) for c in live.filter(pk__in=part))
    return list(found.values())


def _stored_tags(contacts: Sequence[Contact]) -> dict[int, set[str]]:
    tags: dict[int, set[str]] = defaultdict(set)
    through = Contact.tags.through
    for ids in _chunks([c.pk for c in contacts]):
        for contact_id, name in through.objects.filter(contact_id__in=ids).values_list(
            "contact_id", "tag__name"
        ):
            tags[contact_id].add(name)
    return tags


def _upsert(
    items: Sequence[_Prepared],
    *,
    source: str,
    now: datetime,
    first_touch_channel_id: int | None,
    policies: Mapping[str, str] | None,
) -> list[UpsertRow]:
    """One attempt at the whole batch (the caller holds the transaction)."""
    companies = _companies_for(items)
    stored = _stored(items, companies)
    index = _Index()
    for contact in stored:
        index.add(contact, rank=contact.pk)
    # The tags each contact has (by object), read only when some row adds tags.
    tags: dict[int, set[str]] = {}
    if any(item.clean.tags for item in items):
        by_pk = _stored_tags(stored)
        tags = {id(c): set(by_pk.get(c.pk, ())) for c in stored}
    new: list[Contact] = []
    dirty: dict[int, tuple[Contact, set[str]]] = {}
    tag_adds: list[tuple[Contact, list[str]]] = []
    results: list[UpsertRow] = []
    for item in items:
        clean = item.clean
        values = clean.values
        company = companies.get(item.company_key) if item.company_key else None
        name_key = normalize.name_key(values.get("family_name", ""), values.get("given_name", ""))
        existing = index.match(
            email=values.get("email", ""),
            name_key=name_key,
            company_id=company.pk if company else None,
            phone=values.get("phone", ""),
        )
        created = existing is None
        contact = existing or Contact(created_at=item.created_at, updated_at=item.created_at)
        before = {} if created else _disagreements(contact, values, company)
        changed = services._apply(
            contact, clean, company, overwrite=True, policies=None if created else policies
        )
        if first_touch_channel_id and contact.first_touch_channel_id is None:
            contact.first_touch_channel_id = first_touch_channel_id
            changed.append("first_touch_channel")
        if created:
            services._refresh_keys(contact)
            index.add(contact, rank=_UNSAVED_RANK + len(new))
            new.append(contact)
            tags[id(contact)] = set()
        elif changed:
            contact.updated_at = now
            services._refresh_keys(contact)
            index.reindex(contact)
            if contact.pk is not None:  # a contact an earlier row created goes in as it ends up
                dirty.setdefault(id(contact), (contact, set()))[1].update(changed)
        if clean.tags:
            have = tags.setdefault(id(contact), set())
            missing = [name for name in dict.fromkeys(clean.tags) if name not in have]
            if missing:
                have.update(missing)
                tag_adds.append((contact, missing))
                changed.append("tags")
        row = UpsertRow(contact=contact, created=created, changed=changed)
        if before:
            _outcome(row, before)
        results.append(row)

    Contact.objects.bulk_create(new, batch_size=BULK_ROWS)
    groups: dict[tuple[str, ...], list[Contact]] = defaultdict(list)
    for contact, columns in dirty.values():
        groups[tuple(sorted(columns))].append(contact)
    for group, contacts in groups.items():
        _update_many(contacts, [*services._columns(group), *services.KEY_COLUMNS, "updated_at"])
    _tags_add_many(tag_adds)
    activity_services.event_ingest_batch(
        events=[
            event_factories.contact_changed(
                occurred_at=row.contact.created_at if row.created else now,
                contact_id=row.contact.pk,
                created=row.created,
                source=source,
                fields=row.changed,
            )
            for row in results
            if row.contact is not None and (row.created or row.changed)
        ]
    )
    return results


def _update_many(contacts: Sequence[Contact], names: Sequence[str]) -> None:
    """``UPDATE … WHERE id = %s`` once per contact with ``executemany``: what ``bulk_update``
    does, without building one ``CASE`` expression per field and row (many times faster)."""
    columns: list[Field[Any, Any]] = []
    for name in names:
        column = Contact._meta.get_field(name)
        assert isinstance(column, Field)
        columns.append(column)
    pk = Contact._meta.pk
    assert pk is not None
    quote = connection.ops.quote_name
    # Only the model's own table and column names go into the statement, quoted.
    sql = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608
        quote(Contact._meta.db_table),
        ", ".join(f"{quote(str(column.column))} = %s" for column in columns),
        quote(str(pk.column)),
    )
    params = [
        [
            *(
                column.get_db_prep_save(getattr(contact, column.attname), connection)
                for column in columns
            ),
            contact.pk,
        ]
        for contact in contacts
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _tags_add_many(adds: Sequence[tuple[Contact, list[str]]]) -> None:
    names = list(dict.fromkeys(name for _c, missing in adds for name in missing))
    if not names:
        return
    Tag.objects.bulk_create([Tag(name=n) for n in names], ignore_conflicts=True)
    ids: dict[str, int] = {}
    for part in _chunks(names):
        ids.update(Tag.objects.filter(name__in=part).values_list("name", "id"))
    through = Contact.tags.through
    through.objects.bulk_create(
        [through(contact_id=c.pk, tag_id=ids[name]) for c, missing in adds for name in missing],
        batch_size=BULK_ROWS,
        ignore_conflicts=True,
    )


def _settle(
    todo: Sequence[tuple[int, _Prepared]],
    results: list[UpsertRow],
    *,
    source: str,
    now: datetime,
    first_touch_channel_id: int | None,
    policies: Mapping[str, str] | None,
) -> None:
    """Write ``todo`` as one batch, retrying when a concurrent writer got in first; a batch that
    keeps failing is written row by row, so only the row at fault is refused."""
    for attempt in range(_RETRIES):
        try:
            with transaction.atomic():
                done = _upsert(
                    [item for _index, item in todo],
                    source=source,
                    now=now,
                    first_touch_channel_id=first_touch_channel_id,
                    policies=policies,
                )
        except IntegrityError:
            logger.info("contacts.bulk_upsert_retry", extra={"attempt": attempt + 1})
            continue
        for (index, _item), row in zip(todo, done, strict=True):
            results[index] = row
        return
    if len(todo) > 1:
        for one in todo:
            _settle(
                [one],
                results,
                source=source,
                now=now,
                first_touch_channel_id=first_touch_channel_id,
                policies=policies,
            )
        return
    ((index, _item),) = todo
    results[index] = UpsertRow(errors={"row": _CONFLICT})


def contact_bulk_upsert(
    *,
    rows: Sequence[services.ContactInput | Mapping[str, Any]],
    source: str,
    first_touch_channel_id: int | None = None,
    policies: Mapping[str, str] | None = None,
) -> list[UpsertRow]:
    """Create or update the person of every row: the set-based twin of ``contact_upsert``.

    Rows are taken in order, as if ``contact_upsert`` (``overwrite=True``) were called once per
    row: the same normalisation, the same matching (a row can match a contact an earlier row of
    the batch created or changed), given values replace stored ones, blanks leave them, tags are
    added. ``first_touch_channel_id`` is set on contacts that have no first-touch channel yet.
    ``policies`` (an import's, see ``services._apply``) say instead, field by field, whether a
    known contact's value is filled when empty (the default), overwritten or kept; each row's
    ``filled`` / ``overwritten`` / ``kept`` then say what happened where the row disagreed.
    Writes companies the rows name, contacts (``bulk_create`` / ``bulk_update``), tags and one
    ``contact_created`` / ``contact_updated`` event per row that created or changed something
    (none for a row that changed nothing), in one transaction when the caller holds none.

    An invalid row does not stop the others: its ``UpsertRow.errors`` say why. A row that would
    give a contact another live contact's identity is refused as ``contact_upsert`` refuses it.
    Raises ``ValidationError`` only for an unknown ``source``.
    """
    if source not in EventSource.values:
        raise ValidationError(f"Unknown source: {source}", field_errors={"source": "unknown"})
    now = clock.now()
    results: list[UpsertRow] = []
    todo: list[tuple[int, _Prepared]] = []
    for index, item in enumerate(_prepare_each(rows, now)):
        if isinstance(item, ValidationError):
            results.append(UpsertRow(errors=item.field_errors or {"row": item.message}))
        else:
            results.append(UpsertRow())
            todo.append((index, item))
    if todo:
        _settle(
            todo,
            results,
            source=source,
            now=now,
            first_touch_channel_id=first_touch_channel_id,
            policies=policies,
        )
    logger.info(
        "contacts.bulk_upserted",
        extra={
            "new": sum(1 for r in results if r.created),
            "updated": sum(1 for r in results if r.contact and not r.created and r.changed),
            "refused": sum(1 for r in results if r.errors),
            "source": source,
        },
    )
    return results
