"""An opening post is searched with its idea's title (ideas.models.post_text,
as the analysis reads it): "bike" finds the post that opens "Bike lanes on
Main Street" though its text never says bike, and a phrase may run from the
title into the text.

PostgreSQL: ``jam_post_text(title, body)`` composes the text as post_text
does; the posts' trigger reads the idea's title for an opening post (and
now also fires when a post changes idea or parent), and a trigger on the
ideas brings an opening post's words up to date when its idea's title
changes. The opening posts already there get their words again in batches
of their own transactions. SQLite reads the title in its search functions
(ideas/folding.py) and needs nothing here."""

from django.db import migrations

BATCH = 10_000

POST_TEXT = (
    "CREATE OR REPLACE FUNCTION jam_post_text(title text, body text) RETURNS text"
    " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT CASE"
    " WHEN title IS NULL OR title = '' OR starts_with(body, btrim(rtrim(title, '…')))"
    " THEN body ELSE title || E'\\n\\n' || body END $$"
)
POST_WORDS = (
    "CREATE OR REPLACE FUNCTION jam_post_search_words() RETURNS trigger LANGUAGE plpgsql AS $$"
    " DECLARE idea_title text; BEGIN"
    " IF NEW.parent_id IS NULL THEN"
    " SELECT title INTO idea_title FROM ideas_idea WHERE id = NEW.idea_id; END IF;"
    " NEW.search_words := to_tsvector('simple', jam_fold(jam_post_text(idea_title, NEW.body)));"
    " RETURN NEW; END $$"
)
POST_TRIGGER = (
    "CREATE OR REPLACE TRIGGER post_search_words"
    " BEFORE INSERT OR UPDATE OF body, parent_id, idea_id ON ideas_post"
    " FOR EACH ROW EXECUTE FUNCTION jam_post_search_words()"
)
IDEA_TITLE = [
    "CREATE OR REPLACE FUNCTION jam_idea_title_words() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN UPDATE ideas_post"
    " SET search_words = to_tsvector('simple', jam_fold(jam_post_text(NEW.title, body)))"
    " WHERE idea_id = NEW.id AND parent_id IS NULL; RETURN NULL; END $$",
    "CREATE OR REPLACE TRIGGER idea_title_words AFTER UPDATE OF title ON ideas_idea"
    " FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title)"
    " EXECUTE FUNCTION jam_idea_title_words()",
]
FILL = (
    "UPDATE ideas_post AS post"
    " SET search_words = to_tsvector('simple', jam_fold(jam_post_text(idea.title, post.body)))"
    " FROM ideas_idea AS idea"
    " WHERE idea.id = post.idea_id AND post.parent_id IS NULL AND post.id > %s AND post.id <= %s"
)

# Migration 0004's versions, for going back.
POST_WORDS_BEFORE = (
    "CREATE OR REPLACE FUNCTION jam_post_search_words() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN NEW.search_words := to_tsvector('simple', jam_fold(NEW.body)); RETURN NEW; END $$"
)
POST_TRIGGER_BEFORE = (
    "CREATE OR REPLACE TRIGGER post_search_words BEFORE INSERT OR UPDATE OF body ON ideas_post"
    " FOR EACH ROW EXECUTE FUNCTION jam_post_search_words()"
)
UNDO = [
    "DROP TRIGGER IF EXISTS idea_title_words ON ideas_idea",
    "DROP FUNCTION IF EXISTS jam_idea_title_words()",
]
FILL_BEFORE = (
    "UPDATE ideas_post SET search_words = to_tsvector('simple', jam_fold(body))"
    " WHERE parent_id IS NULL AND id > %s AND id <= %s"
)


def _fill(schema_editor, statement):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM ideas_post")
        (last,) = cursor.fetchone()
        for start in range(0, last, BATCH):
            cursor.execute(statement, [start, start + BATCH])  # each batch commits


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [POST_TEXT, POST_WORDS, POST_TRIGGER, *IDEA_TITLE]:
        schema_editor.execute(statement)
    _fill(schema_editor, FILL)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in [POST_WORDS_BEFORE, POST_TRIGGER_BEFORE, *UNDO]:
        schema_editor.execute(statement)
    _fill(schema_editor, FILL_BEFORE)
    schema_editor.execute("DROP FUNCTION IF EXISTS jam_post_text(text, text)")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [
        ("ideas", "0004_posts_keep_their_words_for_ranked_search"),
    ]

    operations = [migrations.RunPython(forward, backward)]
