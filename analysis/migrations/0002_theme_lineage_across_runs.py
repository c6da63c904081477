"""Themes carry on across runs: each post keeps the theme the pipeline gave it
(before organizer edits), which the next run starts from, and each theme points
at the previous run's theme it continues."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def computed_from_theme(apps, schema_editor):
    """Rows written before this field: the theme they are in now is the best guess."""
    PostTheme = apps.get_model("analysis", "PostTheme")
    Theme = apps.get_model("analysis", "Theme")
    PostTheme.objects.update(
        computed_number=Subquery(Theme.objects.filter(pk=OuterRef("theme_id")).values("number"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="posttheme",
            name="computed_number",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(computed_from_theme, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="posttheme",
            name="computed_number",
            field=models.PositiveIntegerField(),
        ),
        migrations.AddField(
            model_name="theme",
            name="continues",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="analysis.theme",
            ),
        ),
    ]
