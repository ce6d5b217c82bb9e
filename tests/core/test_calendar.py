"""The sending calendar: windows, national holidays, 年末年始, business days (properties over
many dates with hypothesis, plus the dates a marketer would check by hand)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import jpholiday
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sokyaku.core.calendar import (
    NEW_YEAR_CLOSURE,
    TOKYO,
    SendWindow,
    add_business_days,
    closures_parse,
    is_business_day,
    next_window_time,
)
from sokyaku.core.errors import ValidationError

NEW_YEAR = closures_parse([NEW_YEAR_CLOSURE])
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(TOKYO)
)
hours = st.sampled_from([(time(9), time(18)), (time(0), time(23, 59)), (time(13), time(14))])


def _open(t: datetime, window: SendWindow) -> bool:
    local = t.astimezone(TOKYO)
    return window.day_open(local.date()) and window.start <= local.time() < window.end


@settings(max_examples=400, deadline=None)
@given(t=moments, span=hours, with_closure=st.booleans())
def test_next_window_time_is_inside_never_on_a_holiday_and_minimal(
    t: datetime, span: tuple[time, time], with_closure: bool
) -> None:
    window = SendWindow(start=span[0], end=span[1], closures=NEW_YEAR if with_closure else ())
    result = next_window_time(t, start=window.start, end=window.end, closures=window.closures)
    local = result.astimezone(TOKYO)
    assert result >= t
    assert _open(result, window)
    assert not jpholiday.is_holiday(local.date())
    assert local.isoweekday() <= 5
    # minimal: no open minute between t and the result
    probe = t
    while probe + timedelta(minutes=1) <= result and probe < t + timedelta(days=20):
        assert not _open(probe, window) or probe == result
        probe += timedelta(minutes=37)


@settings(max_examples=300, deadline=None)
@given(t=moments, n=st.integers(min_value=0, max_value=15))
def test_add_business_days_lands_on_a_business_day_after_exactly_n_of_them(
    t: datetime, n: int
) -> None:
    result = add_business_days(t, n, closures=NEW_YEAR)
    start_day, end_day = t.astimezone(TOKYO).date(), result.astimezone(TOKYO).date()
    between = [start_day + timedelta(days=i) for i in range(1, (end_day - start_day).days + 1)]
    assert sum(is_business_day(d, closures=NEW_YEAR) for d in between) == n
    assert result.astimezone(TOKYO).time() == t.astimezone(TOKYO).time()
    if n:
        assert is_business_day(end_day, closures=NEW_YEAR)


def test_a_friday_evening_moves_to_monday_morning() -> None:
    friday_evening = datetime(2026, 11, 20, 19, 30, tzinfo=TOKYO)
    assert next_window_time(friday_evening) == datetime(2026, 11, 24, 9, 0, tzinfo=TOKYO), (
        "Monday 11/23 is 勤労感謝の日: the mail waits for Tuesday 9:00"
    )


def test_golden_week_and_substitute_holiday_are_skipped() -> None:
    # 2026-05-03 (Sun) 憲法記念日 → 05-06 (Wed) 振替休日
    assert next_window_time(datetime(2026, 5, 1, 18, 0, tzinfo=TOKYO)) == datetime(
        2026, 5, 7, 9, 0, tzinfo=TOKYO
    )


def test_new_year_closure_wraps_the_year() -> None:
    result = next_window_time(datetime(2026, 12, 28, 18, 5, tzinfo=TOKYO), closures=NEW_YEAR)
    assert result == datetime(2027, 1, 4, 9, 0, tzinfo=TOKYO)


def test_inside_the_window_is_unchanged() -> None:
    t = datetime(2026, 11, 25, 10, 17, tzinfo=TOKYO)
    assert next_window_time(t) == t


def test_business_days_across_a_national_holiday() -> None:
    # Thu 11/19 + 4 business days: Fri 20, (Mon 23 勤労感謝の日), Tue 24, Wed 25, Thu 26
    start = datetime(2026, 11, 19, 10, 0, tzinfo=TOKYO)
    assert add_business_days(start, 4) == datetime(2026, 11, 26, 10, 0, tzinfo=TOKYO)


def test_business_days_across_the_new_year_closure() -> None:
    start = datetime(2026, 12, 25, 10, 0, tzinfo=TOKYO)  # Friday
    # Mon 12/28 is 1; 12/29–1/3 closed; Mon 1/4 is 2
    assert add_business_days(start, 2, closures=NEW_YEAR).date() == date(2027, 1, 4)


@pytest.mark.parametrize("raw", [[{"from": "13-01", "to": "01-03"}], [{"from": "1229"}], ["x"]])
def test_malformed_closures_are_refused(raw: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValidationError) as caught:
        closures_parse(raw)
    assert "closures" in caught.value.field_errors
