"""Time of a post search (ideas/search.py) in a jam of N posts, median of R
runs of each query, with PostgreSQL's word indexes of the folded texts
(migration 0003) and, side by side in the same run, with indexes of the
unfolded texts (as migration 0002 built them; the search then ignores case,
not accents) and without an index; and how long building each pair of
indexes CONCURRENTLY takes. On SQLite, the regular expressions on the
folded texts and, for the cost of folding, on the texts as written.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.search_bench [--posts 200000] [--runs 15] \\
        [--data ../shared/datasets/polis]

It creates its own test database (``test_<name>`` of DATABASE_URL; SQLite
when unset, which has no index to drop), writes ``--posts`` posts into one
jam of 10 topics, their texts the Pol.is comments of ``--data`` in turn
(real wording and word frequencies), each under an idea of its own titled
with its first eight words, and times ``ideas.search.search`` (the four
queries of a results page: count and mean tone, count per topic, a page of
50 posts, up to 10 ideas by title) for a rare word, a common word, two
words, a phrase and a word left out; and, apart, ``words_over_time`` (the
two queries of "when they were written": all posts and those found per
hour).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

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
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--runs-unindexed", type=int, default=3, help="runs of each query without an index"
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/datasets/polis")
    args = parser.parse_args()
    texts = comment_texts(args.data)

    import django

    django.setup()
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector
    from django.db import connection
    from django.test.utils import setup_test_environment

    from ideas import search as search_module
    from ideas.models import Idea, Post
    from ideas.search import parse_query, search, words_over_time
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
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{connection.vendor}; {args.posts} posts from {len(texts)} Pol.is comments, "
            f"written in {time.perf_counter() - started:.0f} s; load {os.getloadavg()[0]:.1f}"
        )

        def indexes_drop(names: list[str]) -> None:
            with connection.cursor() as cursor:
                for name in names:
                    cursor.execute(f"DROP INDEX {name}")

        def indexes_build(words: dict[str, SearchVector]) -> float:
            """Seconds to build GIN indexes of ``words`` as migrations do, then ANALYZE."""
            began = time.perf_counter()
            with connection.schema_editor(atomic=False) as editor:
                for model, field in ((Post, "body"), (Idea, "title")):
                    index = GinIndex(words[field], name=f"bench_{field}")
                    editor.add_index(model, index, concurrently=True)
            took = time.perf_counter() - began
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE ideas_post")
                cursor.execute("ANALYZE ideas_idea")
            return took

        def timed_over_time(query: str, runs: int) -> float:
            """Median seconds of words_over_time alone (two of search()'s queries)."""
            parsed = parse_query(query)
            times = []
            for _ in range(runs):
                began = time.perf_counter()
                words_over_time(jam=jam, query=parsed)
                times.append(time.perf_counter() - began)
            return statistics.median(times)

        def timed(query: str, runs: int) -> tuple[float, int]:
            parsed = parse_query(query)
            times, total = [], 0
            for _ in range(runs):
                began = time.perf_counter()
                results = search(jam=jam, query=parsed, topics=topics)
                list(results.posts)
                times.append(time.perf_counter() - began)
                total = results.total
            return statistics.median(times), total

        postgres = connection.vendor == "postgresql"
        variants = (
            ["folded indexes (0003)", "unfolded indexes (0002)", "no index"]
            if postgres
            else ["folded texts (0003)", "texts as written (0002)"]
        )
        folded_words = search_module.WORDS
        unfolded_words = {field: SearchVector(field, config="simple") for field in folded_words}
        builds: dict[str, float] = {}
        rows: dict[str, list[tuple[float, int]]] = {query: [] for query in QUERIES}
        over_time: dict[str, float] = {}
        for variant in variants:
            if variant == "unfolded indexes (0002)":
                indexes_drop(["post_folded_words", "idea_folded_title_words"])
                builds["unfolded"] = indexes_build(unfolded_words)
                search_module.WORDS = unfolded_words
            if variant == "no index":
                indexes_drop(["bench_body", "bench_title"])
                search_module.WORDS = folded_words
            if variant == "texts as written (0002)":
                # SQLite's cost of folding each text: the same regular
                # expressions on the texts lower-cased, as before 0003.
                connection.connection.create_function(
                    "bench_match", 2, lambda text, pattern: bool(re.search(pattern, text.lower()))
                )
                search_module.SQLITE_MATCH = "bench_match"
            runs = args.runs_unindexed if variant == "no index" else args.runs
            for query in QUERIES:
                rows[query].append(timed(query, runs))
                if not over_time.get(query):
                    over_time[query] = timed_over_time(query, runs)
        if postgres:
            builds["folded"] = indexes_build(folded_words)
        print(f"| query | found | {' | '.join(f'median ms, {v}' for v in variants)} |")
        print(f"|---|---|{'---|' * len(variants)}")
        for query, figures in rows.items():
            cells = " | ".join(f"{1000 * seconds:.1f}" for seconds, _ in figures)
            print(f"| `{query}` | {figures[0][1]} | {cells} |")
        print(f"of which when the posts were written (words_over_time), {variants[0]}:")
        for query, seconds in over_time.items():
            print(f"  `{query}`: {1000 * seconds:.1f} ms")
        for name, seconds in builds.items():
            print(f"building the two {name} indexes CONCURRENTLY: {seconds:.1f} s")
        print(f"load after: {os.getloadavg()[0]:.1f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
