"""The business calendar: business days and send windows in Asia/Tokyo.

A *business day* is a weekday (Mon–Fri) that is neither a Japanese national holiday (jpholiday,
振替休日 and 国民の休日 included) nor inside a company closure. A *send window* is a set of ISO
weekdays (1 = Monday … 7 = Sunday) and a daily ``[start, end)`` time range; by default weekdays
9:00–18:00, national holidays skipped. Closures are month-day ranges such as 年末年始
``{"from": "12-29", "to": "01-03"}`` that may wrap the year; both ends are included.

``next_window_time(t, ...)`` is the first moment ≥ ``t`` inside the window (``t`` itself when it
already is); ``add_business_days(start, n, ...)`` moves ``n`` business days forward keeping the
local time of day. Both are pure functions of their arguments (no clock, no database).

The calendar sits in ``core`` beside the clock so that every app can count business days
(``sequences`` for waits and send windows, ``handoff`` for SLA deadlines). It reads no table:
closures are stored by the app that owns them (a sequence's ``closures`` column) and handed in
as ``Closure`` values (``closures_parse``), so ``core`` never imports a higher app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import jpholiday

from sokyaku.core.clock import TOKYO
from sokyaku.core.errors import ValidationError

DEFAULT_DAYS: tuple[int, ...] = (1, 2, 3, 4, 5)
DEFAULT_START = time(9, 0)
DEFAULT_END = time(18, 0)
# The 年末年始 closure most Japanese companies observe; offered as the presets' default.
NEW_YEAR_CLOSURE: dict[str, str] = {"from": "12-29", "to": "01-03"}
# A window that admits no day at all (every weekday closed) must not loop forever: two years
# of days covers every combination of weekdays, holidays and yearly closures.
_SEARCH_DAYS = 800


@dataclass(frozen=True)
class Closure:
    """A yearly closed period, month-day to month-day inclusive (wraps the year if from > to)."""

    start: tuple[int, int]
    end: tuple[int, int]

    def contains(self, day: date) -> bool:
        md = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end

    def label(self) -> str:
        return f"{self.start[0]:02d}-{self.start[1]:02d} – {self.end[0]:02d}-{self.end[1]:02d}"


def _month_day(raw: Any, key: str) -> tuple[int, int]:
    text = str(raw or "").strip()
    month_text, sep, day_text = text.partition("-")
    try:
        month, day = int(month_text), int(day_text)
        date(2024, month, day)  # a leap year: 02-29 is a valid closure day
    except ValueError:
        raise ValidationError(
            f"Closure dates are month-day like 12-29, not {text!r}.",
            field_errors={key: "month-day like 12-29"},
        ) from None
    if not sep:
        raise ValidationError("Closure dates are month-day like 12-29.", field_errors={key: text})
    return month, day


def closures_parse(raw: Iterable[Mapping[str, Any]] | None) -> tuple[Closure, ...]:
    """Closures from their stored form (``[{"from": "12-29", "to": "01-03"}]``).

    Raises ``ValidationError`` (field ``closures``) for a malformed entry."""
    result = []
    for item in raw or ():
        if not isinstance(item, Mapping):
            raise ValidationError(
                "A closure is {from, to}.", field_errors={"closures": "not a from/to pair"}
            )
        result.append(
            Closure(
                start=_month_day(item.get("from"), "closures"),
                end=_month_day(item.get("to"), "closures"),
            )
        )
    return tuple(result)


def closures_format(closures: Sequence[Closure]) -> list[dict[str, str]]:
    return [
        {"from": f"{c.start[0]:02d}-{c.start[1]:02d}", "to": f"{c.end[0]:02d}-{c.end[1]:02d}"}
        for c in closures
    ]


def is_holiday(day: date) -> bool:
    """A Japanese national holiday (振替休日 and 国民の休日 included)."""
    return bool(jpholiday.is_holiday(day))


def in_closure(day: date, closures: Sequence[Closure]) -> bool:
    return any(c.contains(day) for c in closures)


def is_business_day(
    day: date, *, closures: Sequence[Closure] = (), skip_holidays: bool = True
) -> bool:
    """Mon–Fri, not a national holiday (when skipped), not in a closure."""
    if day.isoweekday() > 5:
        return False
    if skip_holidays and is_holiday(day):
        return False
    return not in_closure(day, closures)


def add_business_days(
    start: datetime,
    n: int,
    *,
    closures: Sequence[Closure] = (),
    skip_holidays: bool = True,
) -> datetime:
    """``start`` moved ``n`` business days forward (Tokyo dates), same local time of day.

    ``n = 0`` returns ``start``. Each of the ``n`` days counted is a business day strictly after
    ``start``'s date, so Friday + 1 is the next Monday and Saturday + 1 is Monday as well."""
    if n < 0:
        raise ValueError("n must be ≥ 0")
    local = start.astimezone(TOKYO)
    day = local.date()
    counted = 0
    while counted < n:
        day += timedelta(days=1)
        if is_business_day(day, closures=closures, skip_holidays=skip_holidays):
            counted += 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=TOKYO)


@dataclass(frozen=True)
class SendWindow:
    """When a sequence may send: weekdays, daily hours, holidays, closures (all Tokyo time)."""

    days: tuple[int, ...] = DEFAULT_DAYS
    start: time = DEFAULT_START
    end: time = DEFAULT_END
    skip_holidays: bool = True
    closures: tuple[Closure, ...] = field(default_factory=tuple)

    def day_open(self, day: date) -> bool:
        if day.isoweekday() not in self.days:
            return False
        if self.skip_holidays and is_holiday(day):
            return False
        return not in_closure(day, self.closures)

    def contains(self, t: datetime) -> bool:
        local = t.astimezone(TOKYO)
        return self.day_open(local.date()) and self.start <= local.time() < self.end

    def next_time(self, t: datetime) -> datetime:
        return next_window_time(
            t,
            days=self.days,
            start=self.start,
            end=self.end,
            skip_holidays=self.skip_holidays,
            closures=self.closures,
        )


def window_validate(
    *, days: Iterable[Any], start: time | None, end: time | None
) -> tuple[tuple[int, ...], time, time]:
    """Normalised window parts; empty days and missing times mean the defaults.

    Raises ``ValidationError`` naming ``window_days`` / ``window_end``."""
    clean: set[int] = set()
    for value in days or ():
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if not 1 <= number <= 7:
            raise ValidationError(
                "Weekdays are 1 (Monday) to 7 (Sunday).", field_errors={"window_days": str(value)}
            )
        clean.add(number)
    window_start = start or DEFAULT_START
    window_end = end or DEFAULT_END
    if window_end <= window_start:
        raise ValidationError(
            "The send window must end after it starts.",
            field_errors={"window_end": "must be after the start"},
        )
    return tuple(sorted(clean)) or DEFAULT_DAYS, window_start, window_end


def next_window_time(
    t: datetime,
    *,
    days: Sequence[int] = DEFAULT_DAYS,
    start: time = DEFAULT_START,
    end: time = DEFAULT_END,
    skip_holidays: bool = True,
    closures: Sequence[Closure] = (),
) -> datetime:
    """The first moment ≥ ``t`` inside the window (``t`` itself when inside).

    Raises ``ValueError`` when no day in the next two years is open (every weekday excluded)."""
    window = SendWindow(
        days=tuple(days) or DEFAULT_DAYS,
        start=start,
        end=end,
        skip_holidays=skip_holidays,
        closures=tuple(closures),
    )
    local = t.astimezone(TOKYO)
    today = local.date()
    for offset in range(_SEARCH_DAYS):
        day = today + timedelta(days=offset)
        if not window.day_open(day):
            continue
        opens = datetime.combine(day, start, tzinfo=TOKYO)
        closes = datetime.combine(day, end, tzinfo=TOKYO)
        if offset == 0:
            if local < opens:
                return opens
            if local < closes:
                return t
            continue
        return opens
    raise ValueError("The send window has no open day.")
