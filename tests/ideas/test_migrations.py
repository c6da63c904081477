"""Migrations 0004 and 0005 on PostgreSQL: the posts written before them
get their search words (an opening post's with its idea's title), and
going back restores the search of 0003."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from ideas.models import Post
from ideas.search import matching_posts, parse_query
from tests.factories import idea_in

BEFORE = ("ideas", "0003_search_ignores_case_and_accents")
AFTER = ("ideas", "0004_posts_keep_their_words_for_ranked_search")

pytestmark = pytest.mark.postgres


def _migrate(target: tuple[str, str] | None) -> None:
    """To ``target``, or to the latest migrations (None)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target] if target else executor.loader.graph.leaf_nodes())


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'ideas_post'")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_posts_from_before_get_their_words_and_going_back_undoes_it(jam, monkeypatch) -> None:
    migration = importlib.import_module(f"ideas.migrations.{AFTER[1]}")
    monkeypatch.setattr(migration, "BATCH", 2)  # several batches for a few posts
    texts = ["Crème brûlée", "Fünf Bäume", "plain words", "more plain words"]
    ideas = [idea_in(jam, title=f"Idea {n}") for n in range(len(texts))]
    try:
        _migrate(BEFORE)  # drops the column; the texts change with no trigger to see it
        assert "post_folded_words" in _indexes()
        with connection.cursor() as cursor:
            for idea, text in zip(ideas, texts, strict=True):
                cursor.execute(
                    "UPDATE ideas_post SET body = %s WHERE idea_id = %s", [text, idea.pk]
                )
        _migrate(AFTER)
    finally:
        _migrate(None)
    assert not Post.objects.filter(search_words__isnull=True).exists()
    assert "post_search_words" in _indexes()
    assert "post_folded_words" not in _indexes()

    def found(words: str) -> list[str]:
        return sorted(post.body for post in matching_posts(jam=jam, query=parse_query(words)))

    assert found("creme brulee") == ["Crème brûlée"]
    assert found("baume") == ["Fünf Bäume"]
    assert found("plain words") == ["more plain words", "plain words"]
    # The posts open ideas titled "Idea n": 0005 added the titles' words.
    assert found("idea") == sorted(texts)
    assert found('"idea 1 funf"') == ["Fünf Bäume"]
    try:
        _migrate(BEFORE)
        assert "post_folded_words" in _indexes()
        assert "post_search_words" not in _indexes()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger"
                " WHERE tgname IN ('post_search_words', 'idea_title_words')"
            )
            assert cursor.fetchone() == (0,)
    finally:
        _migrate(None)
