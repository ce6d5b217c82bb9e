"""``flush`` (empty every table) through the consent ledger's erasure door.

The database refuses deletes (and on PostgreSQL TRUNCATE) of consent records and purpose texts
(consent migrations 0002 and 0004). Emptying a whole database is the one other lawful reason
to remove them, so Django's ``flush`` — which the test suite runs between transactional tests,
with DELETE on SQLite and TRUNCATE on PostgreSQL — runs inside ``ledger_erasure``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS

from sokyaku.consent.services import ledger_erasure


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        with ledger_erasure(using=options.get("database") or DEFAULT_DB_ALIAS):
            super().handle(**options)
