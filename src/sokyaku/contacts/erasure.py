"""Erasing a person from the contacts app's tables (a data-subject erasure, see ``privacy``).

The contact rows stay — leads, funnel and channel figures count them — as anonymous rows: every
field that says who the person is emptied, the touches without their personal parts, no tags,
no company, ``erased_at`` set. What exists only because of the person goes: their pending
changes, the merge records that keep a copy of them, a company nobody else belongs to. What
they share with others is cut down to what is not theirs: the rows of an import file and of its
error report that are theirs are blanked, the other rows stay.

Every function is idempotent and returns how many rows it changed (per table where several).
"""

from __future__ import annotations

import csv
import html
import io
import logging
import zipfile
from collections.abc import Sequence
from datetime import datetime

from django.core.files.base import ContentFile
from django.db.models import Q
from openpyxl import Workbook

from sokyaku.contacts.imports import reader
from sokyaku.contacts.models import (
    Company,
    Contact,
    ImportJob,
    ImportRowError,
    MergeRecord,
    PendingChange,
)
from sokyaku.core.redaction import Redactor

logger = logging.getLogger(__name__)

# The columns that say who a person is, and what they become.
_BLANKS: dict[str, object] = {
    "family_name": "",
    "given_name": "",
    "family_name_kana": "",
    "given_name_kana": "",
    "email": "",
    "phone": "",
    "phone_written": "",
    "phone_extension": "",
    "phone_needs_review": False,
    "company": None,
    "department": "",
    "title": "",
    "title_level": 0,
    "postal_code": "",
    "prefecture": None,
    "address": "",
    "custom_fields": {},
    "name_key": "",
    "dedupe_key": None,
    "search_text": "",
}


def contacts_erase(*, contact_ids: Sequence[int], redactor: Redactor, at: datetime) -> int:
    """Anonymise the contact rows (see the module docstring): one UPDATE for the columns, one
    per row for the touches (their channel, campaign and UTM stay where they hold nothing of
    the person), the tags taken off. ``merged_into``, the channels, the owner and the times
    stay. Returns how many rows were changed (0 when they were erased already)."""
    rows = list(
        Contact.objects.filter(pk__in=contact_ids, erased_at__isnull=True).values(
            "pk", "first_touch", "latest_touch"
        )
    )
    if not rows:
        return 0
    ids = [row["pk"] for row in rows]
    Contact.objects.filter(pk__in=ids).update(**_BLANKS, erased_at=at, updated_at=at)
    for row in rows:
        first = redactor.json(row["first_touch"] or {})
        latest = redactor.json(row["latest_touch"] or {})
        if first != row["first_touch"] or latest != row["latest_touch"]:
            Contact.objects.filter(pk=row["pk"]).update(first_touch=first, latest_touch=latest)
    Contact.tags.through.objects.filter(contact_id__in=ids).delete()
    logger.info("contacts.erased", extra={"contacts": len(ids)})
    return len(ids)


def companies_erase(*, company_ids: Sequence[int]) -> int:
    """Delete companies that were only an erased person's (the caller decides which: nobody
    else belongs to them, no other contact's deal names them), with their merge records.
    Companies merged into one of them become live again. Returns how many were deleted."""
    ids = list(Company.objects.filter(pk__in=company_ids).values_list("pk", flat=True))
    if not ids:
        return 0
    MergeRecord.objects.filter(
        Q(winner_id__in=ids) | Q(loser_id__in=ids), kind=MergeRecord.Kind.COMPANY
    ).delete()
    Company.objects.filter(merged_into_id__in=ids).update(merged_into=None)
    Company.objects.filter(pk__in=ids).delete()
    logger.info("contacts.companies_erased", extra={"companies": len(ids)})
    return len(ids)


def merge_records_erase(*, contact_ids: Sequence[int]) -> int:
    """Delete the contact merge records of these contacts: each keeps a copy of both sides as
    they were (an erased merge cannot be undone). Returns how many were deleted."""
    deleted, _ = MergeRecord.objects.filter(
        Q(winner_id__in=contact_ids) | Q(loser_id__in=contact_ids), kind=MergeRecord.Kind.CONTACT
    ).delete()
    return deleted


def pending_changes_erase(*, contact_ids: Sequence[int]) -> int:
    """Delete the changes anonymous submissions proposed for these contacts (decided or not):
    they hold the person's values. Returns how many were deleted."""
    deleted, _ = PendingChange.objects.filter(contact_id__in=contact_ids).delete()
    return deleted


def import_row_errors_erase(*, redactor: Redactor) -> int:
    """Blank the rows of import error reports that name the person (their email, phone or full
    name, the strong strings of ``redactor``): the row keeps its number and the fields that
    were wrong, without the values. Returns how many rows were blanked."""
    changed = []
    for error in ImportRowError.objects.only("pk", "values", "errors").iterator(chunk_size=2000):
        values = error.values if isinstance(error.values, dict) else {}
        cells = [str(v) for v in values.values()]
        if _row_hits(cells, redactor) or redactor.hits_any(
            (error.errors or {}).values(), weak=False
        ):
            error.values = {}
            error.errors = {key: "" for key in (error.errors or {})}
            changed.append(error)
    ImportRowError.objects.bulk_update(changed, ["values", "errors"], batch_size=500)
    return len(changed)


def import_files_erase(*, redactor: Redactor) -> int:
    """Blank the person's rows in every stored import file: a row that holds their email,
    phone or full name keeps its place (so the other rows keep their numbers) with every cell
    emptied; the rest of the file is written back as it was read, in its format and encoding.
    Looks at every stored import file (a quick look at its whole text first). Returns how many
    files changed."""
    changed = 0
    for job in ImportJob.objects.exclude(file="").only("pk", "file", "filename").iterator():
        try:
            with job.file.open("rb") as handle:
                data = handle.read()
        except OSError:
            continue
        if not _may_hold(data, redactor):
            continue
        try:
            table = reader.read_table(data, filename=job.filename)
        except reader.FileUnreadable:
            continue
        rows = [row for row in table.rows if _row_hits(row.cells, redactor)]
        if not rows:
            continue
        blanked = {row.number for row in rows}
        records = [table.headers]
        number = 1
        for row in table.rows:
            while number + 1 < row.number:  # skipped blank rows keep their place
                number += 1
                records.append([""] * len(table.headers))
            number = row.number
            records.append([""] * len(table.headers) if row.number in blanked else row.cells)
        name = job.file.name or ""
        storage = job.file.storage
        storage.delete(name)
        stored = storage.save(name, ContentFile(_write(table, records)))
        if stored != name:
            ImportJob.objects.filter(pk=job.pk).update(file=stored)
        changed += 1
    return changed


def _row_hits(cells: Sequence[str], redactor: Redactor) -> bool:
    """Whether a row of a file names the person: a cell, or the cells read together (a full
    name split into a surname and a given-name column)."""
    return redactor.hits_any(cells, weak=False) or redactor.hits_any(
        ("".join(cells), " ".join(cells)), weak=False
    )


def _may_hold(data: bytes, redactor: Redactor) -> bool:
    """A quick look at a whole file's text before its rows are read one by one: a file that
    cannot hold the person is left alone (most files, most of the time)."""
    try:
        if data.startswith(b"PK\x03\x04"):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                text = " ".join(
                    html.unescape(archive.read(name).decode("utf-8", "ignore"))
                    for name in archive.namelist()
                    if name.endswith(".xml")
                )
        else:
            text = reader.decode(data)[0]
    except (reader.FileUnreadable, zipfile.BadZipFile, OSError):
        return False
    return redactor.hits(text, weak=False)


def _write(table: reader.Table, records: list[list[str]]) -> bytes:
    if table.file_format == reader.XLSX:
        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        for record in records:
            sheet.append(record)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(records)
    return text.getvalue().encode(table.encoding or "utf-8")
