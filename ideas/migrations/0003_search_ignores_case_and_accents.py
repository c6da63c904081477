"""Search ignores accents and other marks as well as case: the jam_fold(text)
function (ideas/folding.py; its definition is copied here, as a migration
must not change with the code) and the GIN indexes of migration 0002 rebuilt
on the folded texts, in PostgreSQL; SQLite gets jam_fold from Python on
every connection (ideas/apps.py). The new indexes are built CONCURRENTLY
before the old ones go, so a live jam keeps posting and searching."""

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import migrations
from django.db.models import F, Func, TextField

FUNCTION = (
    "CREATE OR REPLACE FUNCTION jam_fold(text) RETURNS text"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT"
    " CASE WHEN octet_length($1) = length($1) THEN lower($1) ELSE"
    " replace(replace(replace(replace(translate(regexp_replace(normalize(lower($1), NFKD),"
    r" '[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]', '', 'g'),"
    " 'øłđðħıς', 'olddhiσ'), 'ß', 'ss'), 'æ', 'ae'), 'œ', 'oe'), 'þ', 'th') END $$"
)


def _folded(field):
    return SearchVector(Func(F(field), function="jam_fold", output_field=TextField()), config="simple")


OLD = [
    ("Post", GinIndex(SearchVector("body", config="simple"), name="post_words")),
    ("Idea", GinIndex(SearchVector("title", config="simple"), name="idea_title_words")),
]
NEW = [
    ("Post", GinIndex(_folded("body"), name="post_folded_words")),
    ("Idea", GinIndex(_folded("title"), name="idea_folded_title_words")),
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for model, index in NEW:
        schema_editor.add_index(apps.get_model("ideas", model), index, concurrently=True)
    for model, index in OLD:
        schema_editor.remove_index(apps.get_model("ideas", model), index, concurrently=True)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model, index in OLD:
        schema_editor.add_index(apps.get_model("ideas", model), index, concurrently=True)
    for model, index in NEW:
        schema_editor.remove_index(apps.get_model("ideas", model), index, concurrently=True)
    schema_editor.execute("DROP FUNCTION jam_fold(text)")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("ideas", "0002_posts_and_idea_titles_searchable_in_postgresql"),
    ]

    operations = [migrations.RunPython(forward, backward)]
