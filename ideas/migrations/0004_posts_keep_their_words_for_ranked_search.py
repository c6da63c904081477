"""Posts keep the words of their folded text in a column, so that the search
can rank what it finds (ts_rank_cd needs the words with their positions,
and building them again for every post found cost 2.5 s for a common word
in 200,000 posts of 90 words: docs/benchmarks.md, Search) and rechecks a row without folding its text again.

In PostgreSQL a trigger fills ``search_words`` whenever a post is written
or its text changes (every writer, bulk imports included, gets it without
knowing); the existing posts are filled in batches of their own
transactions, then the GIN index moves from the expression of migration
0003 to the column, built CONCURRENTLY before the old one goes, so a live
jam keeps posting and searching. SQLite leaves the column empty: its
search folds and matches in Python (ideas/folding.py)."""

import django.contrib.postgres.search
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import F, Func, TextField

BATCH = 10_000

COLUMN_ADD = "ALTER TABLE ideas_post ADD COLUMN IF NOT EXISTS search_words tsvector"
TRIGGER = [
    "CREATE OR REPLACE FUNCTION jam_post_search_words() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN NEW.search_words := to_tsvector('simple', jam_fold(NEW.body)); RETURN NEW; END $$",
    "CREATE OR REPLACE TRIGGER post_search_words BEFORE INSERT OR UPDATE OF body ON ideas_post"
    " FOR EACH ROW EXECUTE FUNCTION jam_post_search_words()",
]
FILL = (
    "UPDATE ideas_post SET search_words = to_tsvector('simple', jam_fold(body))"
    " WHERE id > %s AND id <= %s AND search_words IS NULL"
)
INDEX_ADD = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS post_search_words ON ideas_post"
    " USING gin (search_words)"
)
EXPRESSION_DROP = "DROP INDEX CONCURRENTLY IF EXISTS post_folded_words"
UNDO = [
    "DROP INDEX CONCURRENTLY IF EXISTS post_search_words",
    "DROP TRIGGER IF EXISTS post_search_words ON ideas_post",
    "DROP FUNCTION IF EXISTS jam_post_search_words()",
    "ALTER TABLE ideas_post DROP COLUMN IF EXISTS search_words",
]

EXPRESSION = GinIndex(
    SearchVector(Func(F("body"), function="jam_fold", output_field=TextField()), config="simple"),
    name="post_folded_words",
)
"""Migration 0003's index, which going back builds again."""


def forward(apps, schema_editor):
    """Every step may be repeated, should one be interrupted (docs/operations.md)."""
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute("ALTER TABLE ideas_post ADD COLUMN search_words tsvector NULL")
        return
    schema_editor.execute(COLUMN_ADD)  # nullable, no default: no rewrite of the table
    for statement in TRIGGER:  # first: the posts written from now on get their words
        schema_editor.execute(statement)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM ideas_post")
        (last,) = cursor.fetchone()
        for start in range(0, last, BATCH):
            cursor.execute(FILL, [start, start + BATCH])  # each batch commits
    schema_editor.execute(INDEX_ADD)
    schema_editor.execute(EXPRESSION_DROP)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute("ALTER TABLE ideas_post DROP COLUMN search_words")
        return
    schema_editor.add_index(apps.get_model("ideas", "Post"), EXPRESSION, concurrently=True)
    for statement in UNDO:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("ideas", "0003_search_ignores_case_and_accents"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="post",
                    name="search_words",
                    field=django.contrib.postgres.search.SearchVectorField(
                        editable=False, null=True
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forward, backward)],
        ),
    ]
