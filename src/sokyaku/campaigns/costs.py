"""Reading monthly costs the way people write them: amounts, months and CSV files.

Pure parsing, no database. ``amount_parse`` takes ``¥1,000,000``, ``１，０００，０００円`` or
``\\1,000`` (the yen sign as Shift_JIS shows a backslash); ``month_parse`` takes ``2026-04``,
``2026/4``, ``2026年4月``, ``202604`` or a date (``2026/4/1``, as Excel rewrites months). CSV
files may be UTF-8 (with or without BOM) or Shift_JIS/CP932, as Excel saves them.
``csv_rows`` turns a file into ``CostItem`` values numbered by line; ``services`` resolves
channels and campaigns and stores them, all or nothing.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from charset_normalizer import from_bytes

from sokyaku.campaigns.matching import fold

# A cost larger than this is a typo (ten trillion yen).
MAX_AMOUNT = 10**13
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_CSV_ROWS = 10_000

_MONTH_RE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?"
    r"(?:\s*[-/.]\s*\d{1,2}\s*日?|\s*\d{1,2}\s*日)?"  # a day: Excel turns 2026-04 into 2026/4/1
    r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$"  # and sometimes adds a time
)
_COMPACT_MONTH_RE = re.compile(r"^(\d{4})(\d{2})$")
_AMOUNT_STRIP = re.compile(r"[\s,¥\\円]|jpy|yen", re.IGNORECASE)


class ParseError(ValueError):
    """A value that cannot be read; ``code`` names the problem (see ``services.CostProblem``)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def amount_parse(text: object) -> int:
    """Whole yen from what a person typed. Raises ``ParseError`` ("required", "bad_amount",
    "negative_amount")."""
    if isinstance(text, bool):
        raise ParseError("bad_amount")
    if isinstance(text, int):
        value = text
    else:
        raw = unicodedata.normalize("NFKC", str(text or "")).strip()
        if not raw:
            raise ParseError("required")
        cleaned = _AMOUNT_STRIP.sub("", raw)
        if cleaned.endswith((".0", ".00")):
            cleaned = cleaned.split(".", 1)[0]
        if not re.fullmatch(r"[-+−]?\d+", cleaned):
            raise ParseError("bad_amount")
        value = int(cleaned.replace("−", "-"))
    if value < 0:
        raise ParseError("negative_amount")
    if value > MAX_AMOUNT:
        raise ParseError("bad_amount")
    return value


def month_parse(text: object) -> date:
    """The first day of the month written in ``text``. Raises ``ParseError`` ("required",
    "bad_month")."""
    if isinstance(text, date):
        return text.replace(day=1)
    raw = unicodedata.normalize("NFKC", str(text or "")).strip()
    if not raw:
        raise ParseError("required")
    match = _MONTH_RE.match(raw) or _COMPACT_MONTH_RE.match(raw)
    if not match:
        raise ParseError("bad_month")
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise ParseError("bad_month")
    return date(year, month, 1)


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


@dataclass(frozen=True)
class CostItem:
    """One cost as given (API item or CSV row), before channel and campaign are resolved."""

    month: str
    channel: str
    campaign: str
    amount: str | int
    line: int = 0  # the CSV line (1 = the header), 0 for API items


_HEADERS = {
    "month": ("month", "月", "年月", "対象月", "期間"),
    "channel": ("channel", "channel_key", "channel key", "チャネル", "チャンネル", "流入経路"),
    "campaign": ("campaign", "utm_campaign", "キャンペーン", "キャンペーン名"),
    "amount": (
        "amount",
        "amount_jpy",
        "cost",
        "金額",
        "費用",
        "コスト",
        "金額(円)",
        "費用(円)",
        "広告費",
    ),
}
_HEADER_OF = {
    fold(alias).replace(" ", ""): field for field, names in _HEADERS.items() for alias in names
}
REQUIRED_COLUMNS = ("month", "channel", "amount")


def csv_decode(data: bytes) -> str:
    """The text of a CSV file saved by Excel or any editor: UTF-8 (BOM or not), else CP932
    (Shift_JIS with Windows' extensions), else whatever charset-normalizer recognises."""
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise ParseError("bad_encoding")
    return str(best)


def csv_rows(data: bytes) -> list[CostItem]:
    """The cost rows of a CSV file (header row first; columns in any order; blank rows skipped).

    Raises ``ParseError`` for a file that is not a cost CSV at all: too large ("too_large"),
    unreadable ("bad_encoding"), no header ("empty"), a required column missing
    ("missing_columns"), more than ``MAX_CSV_ROWS`` rows ("too_many_rows").
    """
    if len(data) > MAX_CSV_BYTES:
        raise ParseError("too_large")
    text = csv_decode(data).replace("\x00", "")
    first_line = text.split("\n", 1)[0]
    dialect = "excel-tab" if "\t" in first_line and "," not in first_line else "excel"
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise ParseError("empty") from None
    except csv.Error as exc:
        raise ParseError("bad_csv") from exc
    columns: dict[str, int] = {}
    for index, name in enumerate(header):
        field = _HEADER_OF.get(fold(name).replace(" ", "").replace("　", ""))
        if field and field not in columns:
            columns[field] = index
    if any(c not in columns for c in REQUIRED_COLUMNS if c != "channel") or not (
        "channel" in columns or "campaign" in columns
    ):
        raise ParseError("missing_columns")
    items: list[CostItem] = []

    def cell(row: list[str], field: str) -> str:
        index = columns.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    try:
        for row in reader:
            if not any(value.strip() for value in row):
                continue
            if len(items) >= MAX_CSV_ROWS:
                raise ParseError("too_many_rows")
            items.append(
                CostItem(
                    month=cell(row, "month"),
                    channel=cell(row, "channel"),
                    campaign=cell(row, "campaign"),
                    amount=cell(row, "amount"),
                    line=reader.line_num,
                )
            )
    except csv.Error as exc:
        raise ParseError("bad_csv") from exc
    return items


def csv_template() -> str:
    """A sample file to fill in (the format ``csv_rows`` reads)."""
    return "month,channel,campaign,amount\r\n2026-04,paid-social,,600000\r\n"
