"""Each theme keeps its tone per bucket of the run's timeline (runs before this
have none: their themes show no tone chart)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0002_theme_lineage_across_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="theme",
            name="tone",
            field=models.JSONField(default=dict),
        ),
    ]
