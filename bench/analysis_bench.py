"""Time the analysis pipeline on a synthetic jam of N posts and print figures.

    .venv/bin/python bench/analysis_bench.py --posts 50000

The corpus is built deterministically from the vocabulary of the Pol.is
fixture comments: 12 synthetic topics, each a weighted slice of that
vocabulary, posts of 10-100 words, timestamps over 72 hours, sentiment
scores (scored at write time in production, so not timed here), and one
vote matrix with a participant per 10 posts voting on about 30 of up to
5,000 statements.
"""

import argparse
import csv
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.pipeline.groups import Votes, find_opinion_groups
from analysis.pipeline.shifts import detect_tone_shifts
from analysis.pipeline.text import content_tokens
from analysis.pipeline.themes import find_themes

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "polis" / "comments_mix.csv"
N_TOPICS = 12


def fixture_vocabulary() -> list[str]:
    with FIXTURE.open(newline="", encoding="utf-8") as handle:
        words = {
            token for row in csv.DictReader(handle) for token in content_tokens(row["comment-body"])
        }
    return sorted(words)


def synthetic_posts(n_posts: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    vocabulary = np.array(fixture_vocabulary())
    topic_words = [rng.choice(len(vocabulary), size=150, replace=False) for _ in range(N_TOPICS)]
    topics = rng.integers(0, N_TOPICS, size=n_posts)
    lengths = rng.integers(10, 101, size=n_posts)
    posts = []
    for topic, length in zip(topics, lengths, strict=True):
        own = rng.random(length) < 0.6
        chosen = np.where(
            own,
            topic_words[topic][rng.integers(0, 150, size=length)],
            rng.integers(0, len(vocabulary), size=length),
        )
        posts.append(" ".join(vocabulary[chosen]))
    return posts


def synthetic_votes(n_posts: int, seed: int = 0) -> Votes:
    rng = np.random.default_rng(seed)
    n_participants, n_statements = max(20, n_posts // 10), min(5_000, max(20, n_posts // 10))
    per_person = 30
    participants = np.repeat(np.arange(n_participants), per_person)
    statements = np.concatenate(
        [rng.choice(n_statements, size=per_person, replace=False) for _ in range(n_participants)]
    )
    camp = participants % 2
    leaning = np.where((statements % 2) == camp, 0.8, 0.2)
    values = np.where(rng.random(len(statements)) < leaning, 1.0, -1.0)
    values[rng.random(len(values)) < 0.1] = 0.0
    return Votes(participants, statements, values, n_participants, n_statements)


def timed[T](label: str, step: Callable[[], T]) -> tuple[T, float]:
    """Run ``step``; print its wall time and its CPU time (steadier on a busy machine)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = step()
    elapsed = time.perf_counter() - started
    print(f"{label:<28}{elapsed:8.1f} s{time.process_time() - cpu_started:8.1f} s CPU")
    return result, elapsed


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000)
    args = parser.parse_args()
    n_posts = args.posts
    print(f"posts: {n_posts:,}")
    posts, _ = timed("generate corpus (not timed)", lambda: synthetic_posts(n_posts))
    rng = np.random.default_rng(1)
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    offsets = np.sort(rng.uniform(0, 72 * 3600, n_posts))
    timestamps = [start + timedelta(seconds=float(offset)) for offset in offsets]
    scores: list[float | None] = [float(s) for s in np.clip(rng.normal(0.1, 0.4, n_posts), -1, 1)]
    votes = synthetic_votes(n_posts)
    total = 0.0
    themes, elapsed = timed("themes", lambda: find_themes(posts))
    total += elapsed
    _, elapsed = timed("shifts", lambda: detect_tone_shifts(timestamps, scores))
    total += elapsed
    groups, elapsed = timed(
        f"groups ({votes.n_participants:,} people)", lambda: find_opinion_groups(votes)
    )
    total += elapsed
    print(f"{'total analysis':<28}{total:8.1f} s")
    # A periodic rerun: the same posts, the newest tenth unseen by the previous run.
    previous = themes.assignments.copy()
    previous[int(0.9 * n_posts) :] = -1
    again, _ = timed("themes, carried on (rerun)", lambda: find_themes(posts, previous=previous))
    print(f"{'rerun kept k and the fit':<28}{again.k == themes.k and again.seeded!s:>8}")
    # The same rerun with the largest theme pinned by an organizer.
    pinned = np.where(previous == themes.themes[0].id, 1, -1)
    kept, _ = timed(
        "themes, one pinned (rerun)",
        lambda: find_themes(posts, previous=previous, pinned=pinned),
    )
    (pinned_id,) = [theme.id for theme in kept.themes if theme.pinned is not None]
    whole = bool((kept.assignments[pinned == 1] == pinned_id).all())
    print(f"{'pinned theme kept whole':<28}{whole!s:>8}")
    print(f"{'themes found':<28}{themes.k:8d}")
    print(f"{'opinion groups found':<28}{len(groups.groups):8d}")
    print(f"{'peak RSS':<28}{peak_rss_mb():8.0f} MB")


if __name__ == "__main__":
    main()
