"""Reading a contacts file (CSV or XLSX) into a header and rows of text.

- **Format** by content first: an XLSX is a zip with a workbook inside; the old binary ``.xls``
  and every other binary file are refused with a hint. An XLSX whose members would expand
  beyond ``XLSX_MAX_UNCOMPRESSED`` in all, or more than ``XLSX_MAX_RATIO`` times the file's
  size, is refused before anything in it is read (a zip bomb); malformed XML inside is refused
  like any unreadable workbook. Text is CSV: comma-, tab- or
  semicolon-separated, whichever the header line has most of.
- **Encoding** of text: UTF-16 when it starts with a byte-order mark (Excel's "Unicode text");
  UTF-8 (with or without BOM) when the bytes are valid UTF-8; else CP932, the Shift_JIS that
  Excel in Japan writes, when the bytes are valid CP932 and decode to no private-use characters;
  else charset-normalizer's guess when it is a Japanese encoding (EUC-JP, ISO-2022-JP). Anything
  else is refused: guessing a Western code page would store mojibake.
- **Rows**: the header is the first row; rows whose cells are all blank are skipped; each row
  keeps its number as a spreadsheet shows it (the header is row 1), for the error report. Cells
  are stripped at both ends, and a leading apostrophe that neutralised a formula (``'=1+1``, as
  our exports write it) is taken off again.

Every refusal is a ``FileUnreadable`` with a message fit for the user (in the active language).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from sokyaku.core.errors import ValidationError

MAX_ROWS = 1_000_000
MAX_COLUMNS = 200
# An XLSX's members, uncompressed: a sheet of a million rows stays well below these. Python's
# zipfile never inflates a member beyond its declared size, so the declared sizes are a bound.
XLSX_MAX_UNCOMPRESSED = 500 * 1024 * 1024
XLSX_MAX_RATIO = 100  # XML of repetitive rows compresses 10-30 times, not hundreds
XLSX_RATIO_FLOOR = 16 * 1024 * 1024  # below this, any ratio is harmless
XLSX_MAX_MEMBERS = 10_000
# The encodings charset-normalizer may pick when neither UTF-8 nor CP932 fits.
_JAPANESE = frozenset(
    {"euc_jp", "euc_jis_2004", "euc_jisx0213", "iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext"}
)
_PRIVATE_USE_RE = re.compile("[\ue000-\uf8ff]")
_NEUTRALISED_RE = re.compile(r"^'[=+\-@\t\r]")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^\+?[\d\-\s()]{9,}$")

_HEADER_MISSING = gettext_noop(
    "The first row must name the columns (for example 氏名, 会社名, メールアドレス)."
)
CSV = "csv"
XLSX = "xlsx"
_SUFFIXES = frozenset({"csv", "txt", "tsv", "xlsx", "xlsm", "xls"})


class FileUnreadable(ValidationError):  # noqa: N818 - reads as "the file is unreadable"
    """The file is not a CSV or XLSX we can read; nothing was imported."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field_errors={"file": message})


@dataclass(frozen=True)
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    cells: list[str]


@dataclass(frozen=True)
class Table:
    file_format: str  # CSV or XLSX
    encoding: str  # of a CSV ("utf-8", "utf-8-sig", "cp932" …); "" for XLSX
    headers: list[str]  # unique: a repeated name gets " (2)", " (3)" …; a blank one "列 N"
    rows: list[Row]


def read_table(data: bytes, *, filename: str = "", limit: int | None = None) -> Table:
    """The header and non-blank rows (the first ``limit`` only, when given) of a CSV or XLSX
    file. Raises ``FileUnreadable``."""
    suffix = filename.rpartition(".")[2].lower() if "." in filename else ""
    if suffix and suffix not in _SUFFIXES:
        raise FileUnreadable(_("Only CSV and Excel (.xlsx) files can be imported."))
    if not data.strip():
        raise FileUnreadable(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        file_format, encoding, records = XLSX, "", _xlsx_records(data)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileUnreadable(
            _("Old Excel files (.xls) cannot be read. Save the file as .xlsx or as CSV.")
        )
    else:
        if filename.lower().endswith((".xlsx", ".xlsm")):
            raise FileUnreadable(_("This is not a valid Excel (.xlsx) file."))
        text, encoding = decode(data)
        file_format, records = CSV, _csv_records(text)
    return _table(file_format, encoding, records, limit=limit)


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV and the name of its encoding. Raises ``FileUnreadable``."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise _unreadable_encoding() from exc
    if b"\x00" in data:
        raise FileUnreadable(_("This is not a CSV or Excel (.xlsx) file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        text = data.decode("cp932")
    except UnicodeDecodeError:
        pass
    else:
        # Bytes CP932 maps to its user-defined area are not text anyone typed.
        if not _PRIVATE_USE_RE.search(text):
            return text, "cp932"
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.encoding in _JAPANESE:
        return str(best), best.encoding
    raise _unreadable_encoding()


def _unreadable_encoding() -> FileUnreadable:
    return FileUnreadable(
        _(
            "The file's text encoding could not be read. Save it as CSV in UTF-8 "
            "or Shift_JIS (CSV (Comma delimited) in Excel)."
        )
    )


def _csv_records(text: str) -> Iterator[list[str]]:
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from reader
    except csv.Error as exc:
        raise FileUnreadable(
            _("Line %(line)d of the file is not valid CSV.") % {"line": reader.line_num}
        ) from exc


def _xlsx_records(data: bytes) -> Iterator[list[str]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise FileUnreadable(_("This is not a valid Excel (.xlsx) file.")) from exc
    if "xl/workbook.xml" not in {m.filename for m in members}:
        raise FileUnreadable(_("This is not a CSV or Excel (.xlsx) file."))
    _refuse_bomb(members, len(data))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except InvalidFileException as exc:
        raise FileUnreadable(_("This is not a valid Excel (.xlsx) file.")) from exc
    except Exception as exc:
        # Whatever the XML parser or openpyxl raise on a damaged workbook (ParseError,
        # XMLSyntaxError, KeyError for a missing part …): the file cannot be read.
        raise FileUnreadable(_("This is not a valid Excel (.xlsx) file.")) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise FileUnreadable(_("The workbook has no sheet."))
        # A read-only sheet is parsed while it is iterated: errors come from here too.
        try:
            for values in sheet.iter_rows(values_only=True):
                yield [_cell_text(v) for v in values]
        except FileUnreadable:
            raise
        except Exception as exc:
            raise FileUnreadable(_("This is not a valid Excel (.xlsx) file.")) from exc
    finally:
        workbook.close()


def _refuse_bomb(members: list[zipfile.ZipInfo], size: int) -> None:
    """Refuse an archive that would expand far beyond its size, before reading a member."""
    total = sum(m.file_size for m in members)
    too_big = (
        len(members) > XLSX_MAX_MEMBERS
        or total > XLSX_MAX_UNCOMPRESSED
        or (total > XLSX_RATIO_FLOOR and total > XLSX_MAX_RATIO * max(size, 1))
    )
    if too_big:
        raise FileUnreadable(
            _(
                "The Excel file expands to far more data than a contact list holds "
                "(%(size)s MB uncompressed); it was not read. Save it again from Excel, "
                "or as CSV."
            )
            % {"size": f"{total // (1024 * 1024):,}"}
        )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone or postal code typed as a number: 9012345678
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _clean_cell(value: str) -> str:
    value = value.strip()
    if _NEUTRALISED_RE.match(value):
        return value[1:]
    return value


def _table(
    file_format: str, encoding: str, records: Iterator[list[str]], *, limit: int | None
) -> Table:
    header: list[str] | None = None
    rows: list[Row] = []
    for number, record in enumerate(records, start=1):
        if header is not None and limit is not None and len(rows) >= limit:
            break
        cells = [_clean_cell(c) for c in record]
        if header is None:
            header = cells
            if not any(header):
                raise FileUnreadable(_(_HEADER_MISSING))
            if len(header) > MAX_COLUMNS:
                raise FileUnreadable(
                    _("The file has more than %(count)d columns.") % {"count": MAX_COLUMNS}
                )
            if any(_EMAIL_RE.match(c) or _PHONE_RE.match(c) for c in header):
                raise FileUnreadable(_("The first row looks like data.") + " " + _(_HEADER_MISSING))
            continue
        if not any(cells):
            continue
        if len(rows) >= MAX_ROWS:
            raise FileUnreadable(
                _("The file has more than %(count)s rows; split it into smaller files.")
                % {"count": f"{MAX_ROWS:,}"}
            )
        width = len(header)
        rows.append(Row(number=number, cells=(cells + [""] * width)[:width]))
    if header is None:
        raise FileUnreadable(_("The file is empty."))
    return Table(file_format=file_format, encoding=encoding, headers=_unique(header), rows=rows)


def _unique(header: list[str]) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        name = name or _("Column %(number)d") % {"number": position}
        count = seen.get(name, 0) + 1
        seen[name] = count
        names.append(name if count == 1 else f"{name} ({count})")
    return names
