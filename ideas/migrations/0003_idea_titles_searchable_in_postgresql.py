"""A GIN index of every idea's title, for search (ideas/search.py), in
PostgreSQL; SQLite searches without one. Built CONCURRENTLY (outside a
transaction), so a live jam keeps writing posts while it builds."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEX = GinIndex(SearchVector("title", config="simple"), name="idea_title_words")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("ideas", "Idea"), INDEX, concurrently=True)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("ideas", "Idea"), INDEX, concurrently=True)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("ideas", "0002_post_words_searchable_in_postgresql"),
    ]

    operations = [migrations.RunPython(forward, backward)]
