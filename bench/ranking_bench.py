"""Benchmark of the voting-phase ranking math on a large synthetic round.

Run from the repository root:

    .venv/bin/python -m bench.ranking_bench [--ideas 1000] [--entries 1000000] [--repeats 5]

Only the math is timed: the arrays are built before the clock starts, as a
service would hand them over after loading them with ``values_list``.
"""

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from voting.pairs import next_pair
from voting.ranking import (
    approval_ranking,
    ballot_tally,
    budget_ranking,
    comparison_tally,
    pairwise_ranking,
    rating_ranking,
)

IntArray = npt.NDArray[np.int64]


def unique_entries(
    rng: np.random.Generator, n_voters: int, n_ideas: int, n_entries: int
) -> tuple[IntArray, IntArray]:
    """(voter, idea) pairs without repeats, popular ideas drawn more often."""
    popularity = 1.0 / (np.arange(n_ideas) + 20.0)
    popularity /= popularity.sum()
    drawn = 0
    keys = np.empty(0, dtype=np.int64)
    while drawn < n_entries:
        extra = int((n_entries - drawn) * 1.1) + 1000
        voters = rng.integers(0, n_voters, extra)
        ideas = rng.choice(n_ideas, size=extra, p=popularity)
        keys = np.sort(np.r_[keys, voters * n_ideas + ideas])
        keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
        drawn = keys.size
    keys = rng.permutation(keys)[:n_entries]
    return keys // n_ideas, keys % n_ideas


def timed(run: Callable[[], Any], repeats: int) -> tuple[float, float]:
    """Median and best wall time in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if "model name" in line]
            model = names[0] if names else model
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, {platform.system()} {platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ideas", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n_ideas, n_entries, repeats = args.ideas, args.entries, args.repeats
    rng = np.random.default_rng(2024)
    idea_ids = np.arange(1, n_ideas + 1) * 3
    quality = rng.normal(size=n_ideas)

    voters, ideas = unique_entries(rng, n_entries // 10, n_ideas, n_entries)
    approvals = np.ones(n_entries)
    stars = np.clip(np.rint(3 + quality[ideas] + rng.normal(size=n_entries)), 1, 5)
    budget_voters, budget_ideas = unique_entries(rng, n_entries // 5, n_ideas, n_entries)
    points = 1 + rng.binomial(9, special.expit(quality[budget_ideas]) / 3)

    first = rng.integers(0, n_ideas, n_entries)
    second = (first + rng.integers(1, n_ideas, n_entries)) % n_ideas
    first_won = rng.random(n_entries) < special.expit(quality[first] - quality[second])
    outcome = np.where(rng.random(n_entries) < 0.1, 0.5, first_won.astype(float))

    def tally_of(values: npt.NDArray[np.float64]) -> Any:
        return ballot_tally(idea_ids=idea_ids, voter_index=voters, idea_index=ideas, value=values)

    approval_tally, rating_tally = tally_of(approvals), tally_of(stars)
    pair_tally = comparison_tally(
        idea_ids=idea_ids, first_index=first, second_index=second, outcome=outcome
    )
    steps: dict[str, Callable[[], Any]] = {
        "ballot tally (per-idea totals)": lambda: tally_of(approvals),
        "approval ranking (from tally)": lambda: approval_ranking(tally=approval_tally),
        "rating ranking (from tally)": lambda: rating_ranking(tally=rating_tally),
        "budget ranking (500 replicates)": lambda: budget_ranking(
            idea_ids=idea_ids,
            voter_index=budget_voters,
            idea_index=budget_ideas,
            value=points,
            random_state=1,
        ),
        "comparison tally": lambda: comparison_tally(
            idea_ids=idea_ids, first_index=first, second_index=second, outcome=outcome
        ),
        "pairwise ranking (from tally)": lambda: pairwise_ranking(tally=pair_tally),
        "next pair (one call, 50 seen)": lambda: next_pair(
            idea_ids=idea_ids,
            comparison_counts=rng.integers(1900, 2100, n_ideas),
            seen_pairs=[(int(idea_ids[i]), int(idea_ids[i + 1])) for i in range(50)],
            random_state=rng,
        ),
    }
    print(f"machine: {machine()}")
    print(
        f"round: {n_ideas} ideas, {n_entries} ballot entries per method, "
        f"{n_entries} comparisons; median and best of {repeats} runs"
    )
    for name, run in steps.items():
        median, best = timed(run, repeats)
        print(f"{name:34s} median {median * 1000:8.1f} ms   best {best * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
