"""Reading a webinar attendance report (Zoom's participant report, Teams' attendance list).

- **Encoding**: UTF-16 with a byte-order mark (Teams), UTF-16 without one (recognised by its
  zero bytes), UTF-8 with or without BOM, else Shift_JIS (CP932, what Excel in Japan writes).
- **Shape**: comma- or tab-separated, whichever the line has more of. Meeting-information rows
  may come first (Zoom's "Meeting ID, Topic …", Teams' "1. Summary"): the participant table
  starts at the first row that names a person column, an email column and a duration or join
  time column; it ends at the first blank row (Teams' next section).
- **Rows** become ``Attendee`` records keyed by normalised email; several join/leave rows of one
  person are summed. Duration is read as minutes ("45"), as "1h 2m 3s" / "1時間 2分 3秒", as
  "01:02:03", or else computed from join and leave times. Rows without a usable email or time
  are reported as problems with their line number.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext_noop

from sokyaku.contacts import normalize

MSG_ENCODING = gettext_noop(
    "The file's text encoding could not be read. Save it as CSV in UTF-8 or Shift_JIS."
)
MSG_NO_HEADER = gettext_noop(
    "No participant table was found: the file needs name, email and duration (or join time) "
    "columns, as Zoom and Teams export them."
)
MSG_NO_EMAIL = gettext_noop("No email address in this row.")
MSG_BAD_EMAIL = gettext_noop("The email address is not valid.")
MSG_NO_TIME = gettext_noop("The duration could not be read.")

_NAME = ("name (original name)", "name", "full name", "participant", "名前 (元の名前)", "名前",
         "氏名", "参加者", "参加者名", "表示名", "フルネーム")  # fmt: skip
_EMAIL = ("user email", "email", "e-mail", "email address", "メール", "メールアドレス",
          "ユーザーメール", "ユーザーのメール", "電子メール")  # fmt: skip
_UPN = ("participant id (upn)", "upn", "参加者 id (upn)", "参加者id (upn)")
_JOIN = ("join time", "first join", "joined", "参加時刻", "最初の参加", "参加時間", "入室時間")
_LEAVE = ("leave time", "last leave", "left", "退出時刻", "最後の退出", "退出時間", "退室時間")
_DURATION = ("duration (minutes)", "total duration (minutes)", "duration", "in-meeting duration",
             "time in meeting", "合計期間 (分)",
             "期間 (分)", "期間(分)", "期間", "会議の長さ", "会議中の期間", "参加時間 (分)",
             "時間 (分)")  # fmt: skip

_HMS_RE = re.compile(
    r"^\s*(?:(\d+)\s*(?:h|hr|hrs|時間))?\s*(?:(\d+)\s*(?:m|min|mins|分))?\s*"
    r"(?:(\d+)\s*(?:s|sec|secs|秒))?\s*$",
    re.IGNORECASE,
)
_CLOCK_RE = re.compile(r"^\s*(\d+):(\d{1,2})(?::(\d{1,2}))?\s*$")
_PAREN_RE = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")
_TIME_FORMATS = (
    "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%y, %I:%M:%S %p", "%m/%d/%Y, %I:%M:%S %p",
    "%m/%d/%y %I:%M:%S %p", "%Y/%m/%d %I:%M:%S %p", "%Y-%m-%dT%H:%M:%S",
)  # fmt: skip


class ReportUnreadable(ValueError):  # noqa: N818 - reads as "the report is unreadable"
    """The file is not an attendance report we can read; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Attendee:
    email: str  # normalised
    name: str  # as the report shows it, without Zoom's "(original name)"
    seconds: int = 0
    rows: list[int] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return (self.seconds + 30) // 60


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str
    text: str = ""


@dataclass
class Report:
    encoding: str
    attendees: dict[str, Attendee]  # by normalised email, in file order
    problems: list[RowProblem]
    rows_read: int


def decode(data: bytes) -> tuple[str, str]:
    """The text of a report and its encoding. Raises ``ReportUnreadable``."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16"
        head = data[:200]
        if head.count(b"\x00") > len(head) // 4:
            # UTF-16 without a byte-order mark: ASCII's zero bytes tell the byte order.
            odd_zeros = head[1::2].count(b"\x00")
            even_zeros = head[0::2].count(b"\x00")
            encoding = "utf-16-le" if odd_zeros >= even_zeros else "utf-16-be"
            return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        raise ReportUnreadable(MSG_ENCODING) from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    else:
        return text, "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise ReportUnreadable(MSG_ENCODING) from exc


def _key(cell: str) -> str:
    """A header as compared: width-folded, lower-case, no spaces ("期間（分）" = "期間 (分)")."""
    text = unicodedata.normalize("NFKC", cell.replace("\ufeff", "")).strip().strip('"').lower()
    return "".join(text.split())


def _find(keys: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if _key(name) in keys:
            return keys.index(_key(name))
    return None


@dataclass(frozen=True)
class _Columns:
    name: int
    email: int | None
    upn: int | None
    join: int | None
    leave: int | None
    duration: int | None


def _columns(cells: list[str]) -> _Columns | None:
    keys = [_key(c) for c in cells]
    name = _find(keys, _NAME)
    email, upn = _find(keys, _EMAIL), _find(keys, _UPN)
    join, leave, duration = _find(keys, _JOIN), _find(keys, _LEAVE), _find(keys, _DURATION)
    if name is None or (email is None and upn is None) or (duration is None and join is None):
        return None
    return _Columns(name=name, email=email, upn=upn, join=join, leave=leave, duration=duration)


def _split(line: str) -> list[str]:
    delimiter = "\t" if line.count("\t") > line.count(",") else ","
    return next(csv.reader(io.StringIO(line), delimiter=delimiter), [])


def duration_seconds(value: str) -> int | None:
    """Seconds of a duration cell: minutes ("45"), "1h 2m 3s", "1時間 2分", "01:02:03"."""
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return round(float(text) * 60)
    match = _CLOCK_RE.match(text)
    if match:
        hours, minutes, seconds = match.group(1), match.group(2), match.group(3)
        if seconds is None:  # "mm:ss" is rarer than "h:mm" in these reports
            return int(hours) * 3600 + int(minutes) * 60
        return int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    match = _HMS_RE.match(text)
    if match and any(match.groups()):
        h, m, s = (int(g or 0) for g in match.groups())
        return h * 3600 + m * 60 + s
    return None


def _time(value: str) -> datetime | None:
    text = " ".join(value.strip().split())
    for fmt in _TIME_FORMATS:
        try:
            # Wall-clock times of one report: only their differences matter.
            return datetime.strptime(text, fmt)  # noqa: DTZ007
        except ValueError:
            continue
    return None


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def report_read(data: bytes) -> Report:
    """Read an attendance report. Raises ``ReportUnreadable`` (encoding, no participant
    table); per-row problems are collected in ``Report.problems``."""
    text, encoding = decode(data)
    lines = text.splitlines()
    columns: _Columns | None = None
    attendees: dict[str, Attendee] = {}
    problems: list[RowProblem] = []
    rows_read = 0
    for number, line in enumerate(lines, start=1):
        cells = _split(line)
        if columns is None:
            columns = _columns(cells)
            continue
        if not any(c.strip() for c in cells):
            break  # the end of the participant table
        rows_read += 1
        raw_email = _cell(cells, columns.email) or _cell(cells, columns.upn)
        if not raw_email:
            problems.append(RowProblem(line=number, message=MSG_NO_EMAIL, text=line[:200]))
            continue
        try:
            email = normalize.email_normalize(raw_email)
        except normalize.InvalidValue:
            email = ""
        if not email:
            problems.append(RowProblem(line=number, message=MSG_BAD_EMAIL, text=raw_email[:200]))
            continue
        seconds = duration_seconds(_cell(cells, columns.duration))
        if seconds is None:
            joined, left = _time(_cell(cells, columns.join)), _time(_cell(cells, columns.leave))
            if joined is not None and left is not None and left >= joined:
                seconds = int((left - joined).total_seconds())
        if seconds is None:
            problems.append(RowProblem(line=number, message=MSG_NO_TIME, text=line[:200]))
            continue
        attendee = attendees.get(email)
        if attendee is None:
            name = _PAREN_RE.sub("", _cell(cells, columns.name))
            attendee = attendees[email] = Attendee(email=email, name=name)
        attendee.seconds += seconds
        attendee.rows.append(number)
    if columns is None:
        raise ReportUnreadable(MSG_NO_HEADER)
    return Report(encoding=encoding, attendees=attendees, problems=problems, rows_read=rows_read)
