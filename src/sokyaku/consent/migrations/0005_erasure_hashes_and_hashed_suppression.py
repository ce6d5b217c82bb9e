"""Erasure: a consent record can be kept under keyed hashes, and the hashed suppression list.

SQLite rebuilds ``consent_consentrecord`` to add the columns, which drops its triggers; they are
made again afterwards, and the UPDATE trigger now lets an update through where the DELETE
trigger lets a delete through: only while ``consent_ledger_unlock`` holds its row
(``consent.services.ledger_erasure``), as PostgreSQL's trigger already did with
``sokyaku.ledger_erase``.
"""

from django.db import migrations, models

TABLE = "consent_consentrecord"
UNLOCK_TABLE = "consent_ledger_unlock"


def _triggers(update_unlockable: bool) -> list[str]:
    # Fixed table names, no input: nothing to inject.
    when = f"WHEN NOT EXISTS (SELECT 1 FROM {UNLOCK_TABLE}) " if update_unlockable else ""  # noqa: S608
    return [
        f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
        f"DROP TRIGGER IF EXISTS {TABLE}_no_delete",
        f"CREATE TRIGGER {TABLE}_no_update BEFORE UPDATE ON {TABLE} {when}"
        f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END",
        f"CREATE TRIGGER {TABLE}_no_delete BEFORE DELETE ON {TABLE} "  # noqa: S608
        f"WHEN NOT EXISTS (SELECT 1 FROM {UNLOCK_TABLE}) "
        f"BEGIN SELECT RAISE(ABORT, '{TABLE} is append-only'); END",
    ]


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for statement in _triggers(update_unlockable=True):
            schema_editor.execute(statement)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for statement in _triggers(update_unlockable=False):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("consent", "0004_ledger_refuses_delete_and_truncate")]

    operations = [
        # Undone last: the columns' removal rebuilds the table again, dropping the triggers.
        migrations.RunPython(migrations.RunPython.noop, backwards),
        migrations.CreateModel(
            name="HashedSuppression",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("email_hash", models.CharField(blank=True, db_index=True, max_length=64)),
                ("phone_hash", models.CharField(blank=True, db_index=True, max_length=64)),
                ("created_at", models.DateTimeField(verbose_name="created")),
            ],
            options={
                "verbose_name": "erased person",
                "verbose_name_plural": "erased people",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.AddField(
            model_name="consentrecord",
            name="email_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="consentrecord",
            name="erased_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="consentrecord",
            name="ip_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="consentrecord",
            name="phone_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="consentrecord",
            name="user_agent_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
