"""API keys die with their user; a system key is one made as such.

Before this migration a key whose creator was deleted lost its creator and so looked exactly like
a key made on the command line, which acted for the whole installation. Nothing stored tells the
two apart, so every key without creator is revoked here (docs/operations.md, upgrade notes):
make the integrations' keys again with ``sokyaku createapikey``.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def revoke_keys_without_creator(apps: Any, schema_editor: Any) -> None:
    ApiKey = apps.get_model("core", "ApiKey")
    ApiKey.objects.filter(created_by__isnull=True, is_system=False, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_installed_preset"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="is_system",
            field=models.BooleanField(default=False, verbose_name="system key"),
        ),
        migrations.AlterField(
            model_name="apikey",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(revoke_keys_without_creator, migrations.RunPython.noop),
    ]
