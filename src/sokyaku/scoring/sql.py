"""Vendor SQL the set-based recompute needs: epoch seconds, cap periods, timestamps.

Only SQLite and PostgreSQL are supported (the project's two databases). Literal ``%`` is
written ``%%`` because every statement is executed with parameters.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

from sokyaku.scoring.models import CapPeriod


def epoch(column: str, connection: BaseDatabaseWrapper) -> str:
    """Epoch seconds of a datetime column, with its fraction (decay needs sub-second time)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column})::double precision)"
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


def epoch_whole(column: str, connection: BaseDatabaseWrapper) -> str:
    """Whole epoch seconds (floor) of a datetime column: exact, for period buckets."""
    if connection.vendor == "postgresql":
        return f"(FLOOR(EXTRACT(EPOCH FROM {column}))::bigint)"
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def bucket(period: str, column: str, connection: BaseDatabaseWrapper) -> str:
    """The Asia/Tokyo day (or Monday-based week) number of a datetime column.

    Same numbering as ``rules.cap_bucket``: days since 1970-01-01 in Tokyo (UTC+9, no DST),
    weeks shifted by 3 days because 1970-01-01 was a Thursday.
    """
    seconds = epoch_whole(column, connection)
    day = f"(({seconds} + 32400) / 86400)"  # integer division of non-negative integers: floor
    if period == CapPeriod.WEEK:
        return f"(({day} + 3) / 7)"
    return day


def timestamp(seconds_sql: str, connection: BaseDatabaseWrapper) -> str:
    """A timestamp column value from epoch seconds, in the form Django stores."""
    if connection.vendor == "postgresql":
        return f"to_timestamp({seconds_sql})"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {seconds_sql}, 'unixepoch')"


def literal(value: float) -> str:
    """A float as an SQL literal (values we computed, never user text)."""
    return repr(float(value))
