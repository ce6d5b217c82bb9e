"""The database refuses to delete consent records and purpose-text versions too, and
PostgreSQL refuses to TRUNCATE them.

SQLite has no per-transaction settings, so a one-row control table stands in for PostgreSQL's
``sokyaku.ledger_erase``: the DELETE trigger lets a delete through only while
``consent_ledger_unlock`` holds its row. Only ``consent.services.ledger_erasure`` (the
data-subject erasure path, and the ``flush`` command that empties a whole database, as the test
suite does between transactional tests) puts the row there, inside the transaction that deletes,
and takes it out again before that transaction commits. The table is not a Django model, so a
flush never empties it.

On PostgreSQL the BEFORE TRUNCATE trigger uses the same function as the row triggers: a
TRUNCATE passes only in a transaction that set ``sokyaku.ledger_erase``.
"""

from django.db import migrations

TABLES = ("consent_consentrecord", "consent_purposetext")
UNLOCK_TABLE = "consent_ledger_unlock"


def _sql(vendor: str) -> tuple[list[str], list[str]]:
    if vendor == "sqlite":
        create = [f"CREATE TABLE {UNLOCK_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1))"]
        drop = []
        for table in TABLES:
            # Fixed table names, no input: nothing to inject.
            trigger = (
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "  # noqa: S608
                f"WHEN NOT EXISTS (SELECT 1 FROM {UNLOCK_TABLE}) "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )
            create.append(trigger)
            drop.append(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        drop.append(f"DROP TABLE IF EXISTS {UNLOCK_TABLE}")
        return create, drop
    if vendor == "postgresql":
        create = [
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
            for table in TABLES
        ]
        drop = [f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}" for table in TABLES]
        return create, drop
    return [], []


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    for statement in _sql(schema_editor.connection.vendor)[0]:
        schema_editor.execute(statement)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    for statement in _sql(schema_editor.connection.vendor)[1]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("consent", "0003_suppression")]

    operations = [migrations.RunPython(forwards, backwards)]
