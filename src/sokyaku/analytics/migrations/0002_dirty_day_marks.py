"""Dirty days become marks: one row per marking transaction instead of one row per day (whose
upsert made every submission of a day wait for the previous one's commit). The days that were
dirty stay dirty."""

from django.db import migrations, models


def _carry(apps, schema_editor):  # type: ignore[no-untyped-def]
    old = apps.get_model("analytics", "OldDirtyDay")
    new = apps.get_model("analytics", "DirtyDay")
    new.objects.bulk_create(
        [new(day=row.day, marked_at=row.marked_at) for row in old.objects.all()], batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [("analytics", "0001_initial")]

    operations = [
        migrations.RenameModel("DirtyDay", "OldDirtyDay"),
        migrations.CreateModel(
            name="DirtyDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("day", models.DateField()),
                ("marked_at", models.DateTimeField()),
            ],
            options={"indexes": [models.Index(fields=["day"], name="dirtyday_day_idx")]},
        ),
        migrations.RunPython(_carry, migrations.RunPython.noop),
        migrations.DeleteModel("OldDirtyDay"),
    ]
