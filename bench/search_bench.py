"""Time of a post search (ideas/search.py) in a jam of N posts, median of R
runs of each query, best match first and newest first; on PostgreSQL side
by side in the same run with the posts' stored words and their index
(migration 0004) and with the index of the folded texts' expression that
migration 0003 built (the ranking then builds each found post's words
again), with the time to write 2,000 posts (the trigger against the
expression index), the sizes, how long building each index
CONCURRENTLY takes, and how long migrations 0004 and 0005 take on the
jam (back to 0003, then forward).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.search_bench [--posts 200000] [--runs 9] \\
        [--data ../shared/datasets/polis]

It creates its own test database (``test_<name>`` of DATABASE_URL; SQLite
when unset), writes ``--posts`` posts into one jam of 10 topics, their
texts the Pol.is comments of ``--data`` in turn (real wording and word
frequencies), each under an idea of its own titled with its first eight
words, and times ``ideas.search.search`` (the four queries of a results
page: count and mean tone, count per topic, a page of 50 posts, up to 10
ideas by title) for a rare word, a common word, two words, a phrase and a
word left out; and, apart, ``words_over_time`` (the two queries of "when
they were written": all posts and those found per hour). The figures of
docs/benchmarks.md for unfolded indexes and no index came from this
script as of commit fca4aed.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jamsite.settings.test")

QUERIES = ["bicycle", "people", "public transport", '"public transport"', "police -youth"]


def comment_texts(data: Path) -> list[str]:
    texts = []
    for conversation in sorted(data.iterdir()):
        path = conversation / "comments.csv"
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                texts += [row["comment-body"] for row in csv.DictReader(handle)]
    return [text for text in texts if text.strip()]


def title(text: str) -> str:
    return " ".join(text.split()[:8])[:200]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/polis")
    parser.add_argument(
        "--comments-per-post",
        type=int,
        default=1,
        help="comments joined into each post (6 make posts of about 90 words, as in a jam)",
    )
    args = parser.parse_args()
    comments = comment_texts(args.data)
    per_post = args.comments_per_post
    texts = [
        " ".join(comments[(i * per_post + j) % len(comments)] for j in range(per_post))
        for i in range(len(comments))
    ]

    import django

    django.setup()
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.models import F, Func, TextField
    from django.test.utils import setup_test_environment

    from ideas import search as search_module
    from ideas.models import Idea, Post
    from ideas.search import BEST_MATCH, parse_query, search, words_over_time
    from jams.models import Jam, Topic

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        jam = Jam.objects.create(title="Search bench", slug="search-bench")
        topics = [Topic.objects.create(jam=jam, title=f"Topic {i}") for i in range(10)]
        started = time.perf_counter()
        for start in range(0, args.posts, 5000):
            batch = range(start, min(start + 5000, args.posts))
            ideas = Idea.objects.bulk_create(
                Idea(jam=jam, topic=topics[i % 10], title=title(texts[i % len(texts)]))
                for i in batch
            )
            Post.objects.bulk_create(
                Post(
                    jam=jam,
                    topic=idea.topic,
                    idea=idea,
                    body=texts[i % len(texts)],
                    body_html="",
                    sentiment=((i % 21) - 10) / 10,
                )
                for i, idea in zip(batch, ideas, strict=True)
            )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE ideas_post")
                cursor.execute("ANALYZE ideas_idea")
        folded = Func(F("body"), function="jam_fold", output_field=TextField())
        EXPRESSION = SearchVector(folded, config="simple")  # what migration 0003 indexed
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{connection.vendor}; {args.posts} posts of {per_post} of {len(comments)} Pol.is "
            f"comments ({statistics.mean(len(t.split()) for t in texts):.0f} words), "
            f"written in {time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}"
        )

        def timed_over_time(query: str, runs: int) -> float:
            """Median seconds of words_over_time alone (two of search()'s queries)."""
            parsed = parse_query(query)
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                words_over_time(jam=jam, query=parsed)
                times.append(time.perf_counter() - began)
            return statistics.median(times)

        def timed(query: str, runs: int, order: str) -> tuple[float, int]:
            parsed = parse_query(query)
            times, total = [], 0
            for _ in range(runs):
                began = time.perf_counter()
                results = search(jam=jam, query=parsed, topics=topics, order=order)
                list(results.posts)
                times.append(time.perf_counter() - began)
                total = results.total
            return statistics.median(times), total

        def sql(statement: str) -> Any:
            with connection.cursor() as cursor:
                cursor.execute(statement)
                return cursor.fetchone() if cursor.description else None

        def analyze() -> None:
            sql("ANALYZE ideas_post")
            sql("ANALYZE ideas_idea")

        def writes(runs: int) -> float:
            """Median seconds to write 2,000 more posts (bulk, as imports do),
            with the variant's index (and trigger) in place; removed after."""
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                written = Post.objects.bulk_create(
                    Post(jam=jam, topic=ideas[0].topic, idea=ideas[0], body=texts[i % len(texts)])
                    for i in range(2000)
                )
                times.append(time.perf_counter() - began)
                Post.objects.filter(pk__in=[post.pk for post in written]).delete()
            return statistics.median(times)

        postgres = connection.vendor == "postgresql"
        orders = [BEST_MATCH, "newest"]
        variants = (
            ["stored words (0004)", "folded expression (0003)"] if postgres else ["folded texts"]
        )
        rows: dict[str, list[tuple[float, int]]] = {query: [] for query in QUERIES}
        over_time: dict[str, float] = {}
        notes: list[str] = []

        def index_build(index: GinIndex) -> None:
            began = time.perf_counter()
            with connection.schema_editor(atomic=False) as editor:
                editor.add_index(Post, index, concurrently=True)
            notes.append(f"building {index.name} CONCURRENTLY: {time.perf_counter() - began:.1f} s")
            analyze()
            size = sql(f"SELECT pg_size_pretty(pg_relation_size('{index.name}'))")
            notes.append(f"{index.name}: {size[0]}")

        for variant in variants:
            if variant == "stored words (0004)":
                # Built afresh, as migration 0004 builds it on a live jam (the
                # test database's grew post by post).
                sql("DROP INDEX post_search_words")
                index_build(GinIndex(fields=["search_words"], name="bench_words"))
                stored = sql(
                    "SELECT pg_size_pretty(sum(pg_column_size(search_words))) FROM ideas_post"
                )
                notes.append(f"the stored words: {stored[0]}")
                notes.append(f"2,000 posts written, {variant}: {1000 * writes(args.runs):.0f} ms")
            if variant == "folded expression (0003)":
                # As migration 0003 left it: the index on the expression, no
                # trigger (the column stays filled, unread).
                sql("DROP INDEX bench_words")
                sql("ALTER TABLE ideas_post DISABLE TRIGGER post_search_words")
                index_build(GinIndex(EXPRESSION, name="bench_body"))
                notes.append(f"2,000 posts written, {variant}: {1000 * writes(args.runs):.0f} ms")
                search_module.WORDS = {**search_module.WORDS, "body": EXPRESSION}
            for query in QUERIES:
                for order in orders:
                    timed(query, 1, order)  # warm
                    rows[query].append(timed(query, args.runs, order))
                if not over_time.get(query):
                    over_time[query] = timed_over_time(query, args.runs)
        if postgres:
            sql("DROP INDEX bench_body")
            sql("ALTER TABLE ideas_post ENABLE TRIGGER post_search_words")
            # Migration 0004 on this jam, as `migrate` runs it on a live one:
            # back to 0003 (the column dropped), then timed forward.
            executor = MigrationExecutor(connection)
            executor.migrate([("ideas", "0003_search_ignores_case_and_accents")])
            executor.loader.build_graph()
            began = time.perf_counter()
            executor.migrate([("ideas", "0004_posts_keep_their_words_for_ranked_search")])
            notes.append(
                f"migration 0004 (filling the words, the index): "
                f"{time.perf_counter() - began:.1f} s"
            )
            began = time.perf_counter()
            executor.loader.build_graph()
            executor.migrate([("ideas", "0005_opening_posts_searched_with_their_title")])
            notes.append(
                f"migration 0005 (the opening posts' words again, with their titles): "
                f"{time.perf_counter() - began:.1f} s"
            )
        columns = [f"{v}, {o}" for v in variants for o in ("best match", "newest")]
        print(f"| query | found | {' | '.join(f'median ms, {c}' for c in columns)} |")
        print(f"|---|---|{'---|' * len(columns)}")
        for query, figures in rows.items():
            cells = " | ".join(f"{1000 * seconds:.1f}" for seconds, _ in figures)
            print(f"| `{query}` | {figures[0][1]} | {cells} |")
        print(f"of which when the posts were written (words_over_time), {variants[0]}:")
        for query, seconds in over_time.items():
            print(f"  `{query}`: {1000 * seconds:.1f} ms")
        for note in notes:
            print(note)
        print(f"load after: {os.getloadavg()[0]:.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
