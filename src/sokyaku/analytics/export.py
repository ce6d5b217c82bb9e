"""Every report table as a CSV or XLSX download, formula cells neutralised.

A table is a header and rows of plain values; ``table_response`` turns it into the file the
``?format=`` parameter asks for. Tables of aggregates carry no personal data and are not logged;
lists of contacts go through ``contacts.export`` (which logs the access) instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.http import HttpResponse

from sokyaku.contacts.export import CSV, XLSX, neutralise, rows_to_bytes
from sokyaku.core import clock

FORMATS = (CSV, XLSX)
_TYPES = {
    CSV: "text/csv; charset=utf-8",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def export_format(value: str | None) -> str | None:
    """The asked-for file format, or ``None`` for the page itself (unknown values included)."""
    return value if value in FORMATS else None


def cell(value: object) -> str:
    """One value as exported text: numbers plain (no separators), ``None`` empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def table_response(
    *, name: str, header: Sequence[object], rows: Iterable[Sequence[object]], file_format: str
) -> HttpResponse:
    """A download of the table, named ``<name>-<Tokyo timestamp>.<format>``."""
    table = [[neutralise(cell(v)) for v in header]]
    table += [[neutralise(cell(v)) for v in row] for row in rows]
    response = HttpResponse(rows_to_bytes(table, file_format=file_format))
    response["Content-Type"] = _TYPES[file_format]
    filename = f"{name}-{clock.local_now():%Y%m%d-%H%M}.{file_format}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
