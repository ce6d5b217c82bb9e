from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_staff_profile"),
    ]

    operations = [
        migrations.CreateModel(
            name="InstalledPreset",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=100, unique=True)),
                ("installed_at", models.DateTimeField()),
            ],
        ),
    ]
