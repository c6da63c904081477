"""GIN indexes of every post's words and every idea's title, for search
(ideas/search.py), in PostgreSQL; SQLite searches without them. Built
CONCURRENTLY (outside a transaction), so a live jam keeps writing posts
while they build."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations

INDEXES = [
    ("Post", GinIndex(SearchVector("body", config="simple"), name="post_words")),
    ("Idea", GinIndex(SearchVector("title", config="simple"), name="idea_title_words")),
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for model, index in INDEXES:
            schema_editor.add_index(apps.get_model("ideas", model), index, concurrently=True)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for model, index in INDEXES:
            schema_editor.remove_index(apps.get_model("ideas", model), index, concurrently=True)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("ideas", "0001_ideas_posts_reactions"),
    ]

    operations = [migrations.RunPython(forward, backward)]
