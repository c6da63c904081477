"""A GIN index of every idea's title, for search (ideas/search.py), in
PostgreSQL; SQLite searches without one."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX = GinIndex(SearchVector("title", config="simple"), name="idea_title_words")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("ideas", "Idea"), INDEX)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("ideas", "Idea"), INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("ideas", "0002_post_words_searchable_in_postgresql"),
    ]

    operations = [migrations.RunPython(forward, backward)]
