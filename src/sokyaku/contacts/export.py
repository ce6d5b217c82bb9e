"""Contacts out to a spreadsheet: CSV (UTF-8 with BOM, CRLF, so Excel in Japan opens it as
UTF-8) or XLSX, for the contacts a list search and filters select.

Columns are the contact list's, written as people in Japan write them: names surname first,
phone numbers in domestic form (03-1234-5678), the prefecture's name, times in Asia/Tokyo.
Header names follow the active language and are names the importer recognises, so an export
imports back onto the same contacts.

Every export is written to the data-access log (who, which columns, how many rows, with which
filters) when it is asked for, before the first byte leaves: the command line's exports as the
system's, the UI's as the signed-in user's.

Public input is data: every cell a spreadsheet would run as a formula — one starting with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return — gets a leading apostrophe
(``'=HYPERLINK(…)``), in both formats. The importer takes that apostrophe off again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet
from django.utils import timezone, translation
from django.utils.translation import pgettext

from sokyaku.contacts import normalize
from sokyaku.contacts.models import Contact, FieldDefinition, FieldType, Tag
from sokyaku.core import clock
from sokyaku.core.models import AccessKind, ApiKey
from sokyaku.core.services import data_access_log
from sokyaku.core.templatetags.sokyaku_ui import user_name

CSV = "csv"
XLSX = "xlsx"
FORMATS = (CSV, XLSX)
CONTENT_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ITERATOR_CHUNK = 2000


def _phone_cell(contact: Contact) -> str:
    """The number as people write it, with its extension; one that could not be read as it
    was given (an import of the export reads either back)."""
    if not contact.phone:
        return contact.phone_written
    shown = normalize.phone_display(contact.phone)
    return f"{shown} 内線{contact.phone_extension}" if contact.phone_extension else shown


def neutralise(value: object) -> str:
    """A cell's text, with a leading apostrophe when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


Column = tuple[str, Callable[[Contact], Any]]


def _when(value: Any) -> str:
    return timezone.localtime(value, clock.TOKYO).strftime("%Y-%m-%d %H:%M") if value else ""


def _custom(definition: FieldDefinition) -> Callable[[Contact], Any]:
    def value(contact: Contact) -> Any:
        found = (contact.custom_fields or {}).get(definition.key)
        if definition.type == FieldType.BOOLEAN and found is not None:
            return "true" if found else "false"
        return found

    return value


def contact_columns(definitions: Iterable[FieldDefinition] = ()) -> list[Column]:
    """(header, value of a contact) per column, headers in the active language."""
    columns: list[Column] = [
        (pgettext("contact export column", "ID"), lambda c: c.pk),
        (pgettext("contact export column", "Name"), lambda c: c.display_name),
        (pgettext("contact export column", "Family name"), lambda c: c.family_name),
        (pgettext("contact export column", "Given name"), lambda c: c.given_name),
        (pgettext("contact export column", "Family name (kana)"), lambda c: c.family_name_kana),
        (pgettext("contact export column", "Given name (kana)"), lambda c: c.given_name_kana),
        (pgettext("contact export column", "Email address"), lambda c: c.email),
        (
            pgettext("contact export column", "Phone number"),
            _phone_cell,
        ),
        (
            pgettext("contact export column", "Company name"),
            lambda c: c.company.name if c.company else "",
        ),
        (pgettext("contact export column", "Department"), lambda c: c.department),
        (pgettext("contact export column", "Title"), lambda c: c.title),
        (pgettext("contact export column", "Postal code"), lambda c: c.postal_code),
        (pgettext("contact export column", "Prefecture"), lambda c: c.prefecture_name),
        (pgettext("contact export column", "Address"), lambda c: c.address),
        (
            pgettext("contact export column", "Tags"),
            lambda c: ", ".join(t.name for t in c.tags.all()),
        ),
        (
            pgettext("contact export column", "Owner"),
            lambda c: user_name(c.owner) if c.owner else "",
        ),
        (
            pgettext("contact export column", "First-touch channel"),
            lambda c: str(c.first_touch_channel or ""),
        ),
        (pgettext("contact export column", "Created"), lambda c: _when(c.created_at)),
        (pgettext("contact export column", "Updated"), lambda c: _when(c.updated_at)),
    ]
    columns += [(d.label, _custom(d)) for d in definitions]
    return columns


def contact_export_queryset(contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """``contacts`` with what the columns read, fetched in a fixed number of queries."""
    return contacts.select_related("company", "owner", "first_touch_channel").prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name"))
    )


def contact_rows(
    contacts: QuerySet[Contact], *, definitions: Iterable[FieldDefinition] = ()
) -> Iterator[list[str]]:
    """The header row, then one row per contact; every cell neutralised."""
    columns = contact_columns(definitions)
    yield [neutralise(header) for header, _value in columns]
    for contact in contact_export_queryset(contacts).iterator(chunk_size=_ITERATOR_CHUNK):
        yield [neutralise(value(contact)) for _header, value in columns]


class _Line:
    """A file-like object that hands back what ``csv.writer`` writes to it."""

    def write(self, value: str) -> str:
        return value


def csv_encode(rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    """``rows`` as CSV bytes for Excel: UTF-8 with a BOM, CRLF line ends, one line at a time."""
    writer = csv.writer(_Line(), lineterminator="\r\n")
    yield "\ufeff".encode()
    for row in rows:
        yield writer.writerow(row).encode("utf-8")


def xlsx_write(rows: Iterable[Sequence[str]], out: IO[bytes], *, title: str = "contacts") -> None:
    """``rows`` as a one-sheet XLSX workbook, every cell text (never a formula)."""
    import openpyxl
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for row in rows:
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in row])
    workbook.save(out)


def contact_export_file(
    *,
    contacts: QuerySet[Contact],
    file_format: str,
    definitions: Iterable[FieldDefinition] = (),
    user: User | None = None,
    api_key: ApiKey | None = None,
    filters: dict[str, object] | None = None,
) -> Iterator[bytes]:
    """The export of ``contacts`` in ``file_format`` (``CSV`` streams line by line; ``XLSX``
    is built whole, in a temporary file once it grows past a few megabytes).

    Writes the data-access log entry at once (counting the rows), not when the file is read:
    an export that is asked for is on record even if its download is cut short.
    """
    definitions = list(definitions)
    with translation.override("en"):  # the log names columns the same way in every language
        fields = [str(header) for header, _value in contact_columns(definitions)]
    data_access_log(
        kind=AccessKind.EXPORT,
        resource="contacts.export",
        fields=fields,
        rows=contacts.count(),
        user=user,
        api_key=api_key,
        filters={"format": file_format, **(filters or {})},
    )
    return _export_chunks(contacts=contacts, file_format=file_format, definitions=definitions)


def _export_chunks(
    *, contacts: QuerySet[Contact], file_format: str, definitions: list[FieldDefinition]
) -> Iterator[bytes]:
    rows = contact_rows(contacts, definitions=definitions)
    if file_format == CSV:
        yield from csv_encode(rows)
        return
    import tempfile

    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as out:
        xlsx_write(rows, out)
        out.seek(0)
        while block := out.read(64 * 1024):
            yield block


def export_filename(file_format: str) -> str:
    return f"contacts-{clock.local_now():%Y%m%d-%H%M}.{file_format}"


def rows_to_bytes(rows: Iterable[Sequence[str]], *, file_format: str) -> bytes:
    """Small tables (an error report) as one CSV or XLSX file."""
    if file_format == CSV:
        return b"".join(csv_encode(rows))
    out = io.BytesIO()
    xlsx_write(rows, out)
    return out.getvalue()
