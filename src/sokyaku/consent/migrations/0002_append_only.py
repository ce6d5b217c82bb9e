"""The database itself refuses to change consent records and purpose-text versions, whatever
code (or person with a SQL prompt) tries.

PostgreSQL refuses updates and deletes, except inside a transaction that set
``sokyaku.ledger_erase`` (the data-subject erasure service, the only lawful reason). SQLite
refuses updates; deletes there are refused by the application and by the PROTECT foreign keys
(a DELETE trigger would also stop Django's test flush, which SQLite does with DELETE).
"""

from django.db import migrations

TABLES = ("consent_consentrecord", "consent_purposetext")


def _sql(vendor: str, table: str) -> tuple[list[str], list[str]]:
    if vendor == "sqlite":
        create = [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        ]
        return create, [f"DROP TRIGGER IF EXISTS {table}_no_update"]
    if vendor == "postgresql":
        create = [
            f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
            "BEGIN "
            "IF current_setting('sokyaku.ledger_erase', true) = 'on' THEN "
            "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()",
        ]
        drop = [
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"DROP FUNCTION IF EXISTS {table}_append_only()",
        ]
        return create, drop
    return [], []


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table in TABLES:
        for statement in _sql(schema_editor.connection.vendor, table)[0]:
            schema_editor.execute(statement)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    for table in TABLES:
        for statement in _sql(schema_editor.connection.vendor, table)[1]:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
