"""Set-based writes of contacts and companies: the bulk twins of ``services.contact_upsert``.

Demo data and imports write thousands of people at once, where ``contact_upsert`` costs several
queries per row. The functions here do the same work per *batch*:

- every row is normalised and validated by the helpers ``contact_upsert`` uses
  (``services._clean``, ``services._apply``, ``services._refresh_keys``), so ``name_key``,
  ``dedupe_key`` and ``search_text`` come out exactly as ``contact_upsert`` would write them;
- companies named by the rows are found by match key in one query, missing ones are created
  with ``company_bulk_create``;
- the dedupe rules run as a few indexed queries for the whole batch, not per row;
- rows go in with ``bulk_create`` (changed ones with one ``executemany`` UPDATE per set of
  changed columns) and the timeline events with one ``activity.services.event_ingest_batch``,
  all in one transaction.

``contact_bulk_insert`` / ``contact_bulk_create`` only ever create. A row that ``contact_upsert``
would have matched to a live contact (same dedupe key or email; else same name + company, or
same phone, where the emails do not conflict), or to an earlier row of the same batch, is
skipped, never merged. A batch is all or nothing: an invalid row raises ``ValidationError`` whose
field errors are named ``rows.<index>.<field>``, and nothing is written. A concurrent writer that
inserts one of the batch's people first makes the batch retry (up to three times) with that row
skipped.

``contact_bulk_upsert`` (imports; ``upsert.py``) creates *or updates*, row by row in order
exactly as ``contact_upsert`` would, and refuses bad rows one by one instead of the whole batch.
Creation lives in ``create.py``.

On SQLite Django caps one INSERT at 999 bound values, so a batch is written in several
statements (still one transaction); on PostgreSQL it is one statement per ``BULK_ROWS`` rows.
"""

from sokyaku.contacts.bulk.create import (
    BULK_ROWS,
    CompanyRow,
    ContactRow,
    company_bulk_create,
    company_bulk_insert,
    contact_bulk_create,
    contact_bulk_insert,
)
from sokyaku.contacts.bulk.upsert import UpsertRow, contact_bulk_upsert

__all__ = [
    "BULK_ROWS",
    "CompanyRow",
    "ContactRow",
    "UpsertRow",
    "company_bulk_create",
    "company_bulk_insert",
    "contact_bulk_create",
    "contact_bulk_insert",
    "contact_bulk_upsert",
]
