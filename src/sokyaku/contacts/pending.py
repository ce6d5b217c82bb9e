"""Pending changes: what anonymous input (a public form) proposed for a known contact.

An anonymous submission never overwrites what a contact already has: ``contact_upsert`` with
``overwrite=False`` only fills blanks. Whatever the submission gave that *differs* from a value
the contact already has is kept here as a ``PendingChange`` (``values`` uses ``ContactInput``
names), shown on the contact page, and applied only when someone who may edit the contact
accepts it (through ``contact_update``, which records the change on the timeline).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import FieldDoesNotExist
from django.db import transaction
from django.utils.text import capfirst

from sokyaku.contacts import normalize
from sokyaku.contacts.models import Contact, PendingChange
from sokyaku.contacts.prefectures import prefecture_name
from sokyaku.contacts.services import ContactInput, _clean, contact_update
from sokyaku.core import clock
from sokyaku.core.errors import NotFound, ValidationError

logger = logging.getLogger(__name__)

# Compared as people read them: NFKC (half-width kana, full-width digits) and trimmed.
_TEXT = (
    "family_name",
    "given_name",
    "family_name_kana",
    "given_name_kana",
    "department",
    "title",
    "address",
)
_EXACT = ("email", "phone", "postal_code", "prefecture")


def _blank(value: Any) -> bool:
    return value in (None, "")


def pending_change_propose(
    *, contact: Contact, data: ContactInput, source: str, at: datetime | None = None
) -> PendingChange | None:
    """Store the values of ``data`` that differ from what ``contact`` already has.

    Call it after ``contact_upsert(overwrite=False)`` matched a known contact: blanks are filled
    by then, so only real disagreements remain. Tags are additive and never pending. Returns the
    new ``PendingChange``, or ``None`` when nothing differs. Raises ``ValidationError`` for
    input ``contact_upsert`` would refuse too.
    """
    clean = _clean(data)
    proposed: dict[str, Any] = {}
    for name in _TEXT:
        value, current = clean.values.get(name), getattr(contact, name)
        if (
            not _blank(value)
            and not _blank(current)
            and normalize.nfkc(str(value)) != normalize.nfkc(str(current))
        ):
            proposed[name] = value
    for name in _EXACT:
        value, current = clean.values.get(name), getattr(contact, name)
        if name == "phone" and not value:
            value = clean.values.get("phone_written")  # unreadable: proposed as written
        if not _blank(value) and not _blank(current) and value != current:
            proposed[name] = value
    company = contact.company if contact.company_id else None
    if (
        clean.company_name
        and company is not None
        and normalize.company_key(clean.company_name) != company.match_key
    ):
        proposed["company_name"] = clean.company_name
    custom = {
        key: value
        for key, value in (clean.values.get("custom_fields") or {}).items()
        if not _blank(value)
        and not _blank((contact.custom_fields or {}).get(key))
        and (contact.custom_fields or {}).get(key) != value
    }
    if custom:
        proposed["custom_fields"] = custom
    if not proposed:
        return None
    change = PendingChange.objects.create(
        contact=contact, values=proposed, source=source[:200], submitted_at=at or clock.now()
    )
    logger.info("contact.pending_change", extra={"contact": contact.pk, "fields": sorted(proposed)})
    return change


def pending_changes_open(*, contact: Contact) -> list[PendingChange]:
    """A contact's undecided changes, newest first."""
    return list(
        PendingChange.objects.filter(contact=contact, status=PendingChange.Status.PENDING).order_by(
            "-submitted_at", "-id"
        )
    )


def pending_change_get(*, contact: Contact, id: int) -> PendingChange:
    change = PendingChange.objects.filter(contact=contact, pk=id).first()
    if change is None:
        raise NotFound(f"No pending change {id} for this contact.")
    return change


def _decide(change: PendingChange, status: str, actor: User | None) -> PendingChange:
    locked = PendingChange.objects.select_for_update().get(pk=change.pk)
    if locked.status != PendingChange.Status.PENDING:
        raise ValidationError("This change was already decided.")
    locked.status = status
    locked.decided_by = actor
    locked.decided_at = clock.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    return locked


def pending_change_accept(*, change: PendingChange, actor: User | None = None) -> PendingChange:
    """Apply the proposed values to the contact (``contact_update``: recorded on the timeline)
    and mark the change accepted.

    Raises ``ValidationError`` when the change was already decided, and whatever
    ``contact_update`` raises (``Conflict`` when the values make the contact another contact's
    identity); the change then stays pending.
    """
    with transaction.atomic():
        decided = _decide(change, PendingChange.Status.ACCEPTED, actor)
        contact = Contact.objects.select_related("company").get(pk=decided.contact_id)
        values = dict(decided.values)
        if "custom_fields" in values:
            # contact_update replaces custom fields as a whole; the change names only some.
            values["custom_fields"] = {**(contact.custom_fields or {}), **values["custom_fields"]}
        contact_update(contact=contact, data=ContactInput.from_mapping(values), actor=actor)
    logger.info("contact.pending_change_accepted", extra={"change": decided.pk})
    return decided


def pending_change_reject(*, change: PendingChange, actor: User | None = None) -> PendingChange:
    """Mark the change rejected; the contact keeps its values. Raises ``ValidationError`` when
    the change was already decided."""
    with transaction.atomic():
        decided = _decide(change, PendingChange.Status.REJECTED, actor)
    logger.info("contact.pending_change_rejected", extra={"change": decided.pk})
    return decided


def _label(name: str) -> str:
    try:
        field = Contact._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(capfirst(getattr(field, "verbose_name", name)))


def pending_change_rows(*, change: PendingChange, contact: Contact) -> list[dict[str, Any]]:
    """``{"label", "current", "proposed"}`` per proposed value, for showing a change."""
    rows: list[dict[str, Any]] = []
    for name, value in change.values.items():
        if name == "custom_fields" and isinstance(value, dict):
            for key, item in value.items():
                had = (contact.custom_fields or {}).get(key)
                rows.append({"label": key, "current": had, "proposed": item})
            continue
        if name == "company_name":
            company = contact.company.name if contact.company else ""
            rows.append({"label": _label("company"), "current": company, "proposed": value})
            continue
        shown: Any = getattr(contact, name, "")
        if name == "prefecture":
            shown, value = prefecture_name(shown), prefecture_name(value)
        elif name == "phone":
            shown, value = normalize.phone_display(shown or ""), normalize.phone_display(value)
        rows.append({"label": _label(name), "current": shown, "proposed": value})
    return rows
