"""Benchmark of voting against PostgreSQL: rankings from the database to the
stored result, and votes accepted per second.

Run from the repository root (it creates and drops its own test database,
``test_<name>`` of DATABASE_URL):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/voting_bench \\
        .venv/bin/python -m bench.voting_bench [--ideas 1000] [--entries 1000000] [--repeats 3] \\
        [--workers 1x1,1x4,1x8,2x4] [--votes-per-worker 300] [--votes-only]

1. Rankings: one round per method over ``--ideas`` ideas: approval and rating
   with ``--entries`` entries from entries/10 voters, budget with ``--entries``
   entries from entries/5 voters (1-10 points each), pairwise with
   ``--entries`` judgments from entries/10 voters. The rows are loaded with
   COPY (not timed); ``ranking_compute(round=..., force=True)`` is timed:
   loading, tallying, ranking and storing the result.
2. Votes: budget ballots of 10 entries cast through ``vote_cast`` by new
   voters from ``--workers`` PROCESSESxTHREADS (default 1x1, 1x4, 1x8, 2x4;
   forked processes, each an event loop running THREADS votes at a time in
   its thread pool, as a server runs requests), then changed by
   the same voters; accepted entries per second, wall clock from a common
   start, with the load average before and after each run. It prints the
   round trips of one vote and the CPU per vote (this process and its
   PostgreSQL backend, read from /proc) first. ``--votes-only`` skips the
   rankings. Set
   REDIS_URL to broadcast the turnout events through Redis as in production.

Before/after comparisons run this script against two checkouts in one shell
loop, alternating (docs/voting.md has the command).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import os
import platform
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import django
import numpy as np

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jamsite.settings.test")
django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import close_old_connections, connection, connections  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from ideas.models import Idea  # noqa: E402
from jams.models import Jam, Membership, Phase, Topic  # noqa: E402
from voting import services  # noqa: E402
from voting.methods import parameters_clean  # noqa: E402
from voting.models import Ballot, BallotItem, VotingRound  # noqa: E402


def copy_rows(table: str, columns: str, rows: np.ndarray) -> None:
    buffer = io.StringIO()
    np.savetxt(buffer, rows, fmt="%d", delimiter="\t")
    raw = connection.connection
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(buffer.getvalue())
    raw.commit()


def make_jam(slug: str, *, voting_open: bool) -> Jam:
    now = timezone.now()
    jam = Jam.objects.create(title=slug, slug=slug)
    hour = timedelta(hours=1)
    start = now - 2 * hour if voting_open else now - 20 * hour
    Phase.objects.create(jam=jam, kind="voting", starts_at=start, ends_at=start + 10 * hour)
    return jam


def make_ideas(jam: Jam, n: int) -> list[int]:
    topic = Topic.objects.create(jam=jam, title="Bench")
    Idea.objects.bulk_create(Idea(jam=jam, topic=topic, title=f"Idea {i}") for i in range(n))
    return list(Idea.objects.filter(jam=jam).order_by("id").values_list("id", flat=True))


def make_round(jam: Jam, ideas: list[int], method: str, parameters: dict) -> VotingRound:
    voting_round = VotingRound.objects.create(
        jam=jam, title=method, method=method, parameters=parameters_clean(method, parameters)
    )
    BallotItem.objects.bulk_create(
        BallotItem(round=voting_round, idea_id=idea, position=i) for i, idea in enumerate(ideas)
    )
    return voting_round


def make_ballots(voting_round: VotingRound, n: int, size: int) -> np.ndarray:
    now = timezone.now().isoformat()
    buffer = io.StringIO()
    for _ in range(n):
        buffer.write(f"{voting_round.pk}\t{size}\t{now}\t{now}\n")
    raw = connection.connection
    with (
        raw.cursor() as cursor,
        cursor.copy(
            "COPY voting_ballot (round_id, size, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        copy.write(buffer.getvalue())
    raw.commit()
    ids = Ballot.objects.filter(round=voting_round).order_by("id").values_list("id", flat=True)
    return np.fromiter(ids, dtype=np.int64)


def entries(
    rng: np.random.Generator, n_ballots: int, per_ballot: int, n_ideas: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ballot positions and idea positions, distinct per ballot, popular ideas more often."""
    popularity = 1.0 / (np.arange(n_ideas) + 20.0)
    popularity /= popularity.sum()
    ballots = np.repeat(np.arange(n_ballots), per_ballot)
    ideas = np.empty(ballots.size, dtype=np.int64)
    for start in range(0, n_ballots, 10_000):
        stop = min(start + 10_000, n_ballots)
        for b in range(start, stop):
            ideas[b * per_ballot : (b + 1) * per_ballot] = rng.choice(
                n_ideas, size=per_ballot, replace=False, p=popularity
            )
    return ballots, ideas


def load_rounds(jam: Jam, ideas: list[int], n_entries: int, seed: int) -> list[VotingRound]:
    rng = np.random.default_rng(seed)
    idea_ids = np.array(ideas)
    n = len(ideas)
    rounds = []
    for method, per_ballot, parameters in (
        ("approval", 10, {"max_approvals": 10}),
        ("rating", 10, {}),
        ("budget", 5, {"points": 50}),
    ):
        voting_round = make_round(jam, ideas, method, parameters)
        n_ballots = n_entries // per_ballot
        ballot_ids = make_ballots(voting_round, n_ballots, per_ballot)
        b, i = entries(rng, n_ballots, per_ballot, n)
        values = {
            "approval": np.ones(b.size, dtype=np.int64),
            "rating": rng.integers(1, 6, b.size),
            "budget": rng.integers(1, 11, b.size),
        }[method]
        rows = np.column_stack(
            [ballot_ids[b], np.full(b.size, voting_round.pk), idea_ids[i], values]
        )
        copy_rows("voting_ballotentry", "ballot_id, round_id, idea_id, value", rows)
        rounds.append(voting_round)

    voting_round = make_round(jam, ideas, "pairwise", {})
    n_ballots = n_entries // 10
    ballot_ids = make_ballots(voting_round, n_ballots, 10)
    strength = rng.normal(0, 1, n)
    ballots = np.repeat(np.arange(n_ballots), 11)
    first = rng.integers(0, n, ballots.size)
    second = (first + 1 + rng.integers(0, n - 1, ballots.size)) % n
    low, high = np.minimum(first, second), np.maximum(first, second)
    keys = np.unique((ballots * n + low) * n + high)[: n_ballots * 10]
    keys = keys[:n_entries]
    ballots, rest = keys // (n * n), keys % (n * n)
    low, high = rest // n, rest % n
    p_low = 1 / (1 + np.exp(-(strength[low] - strength[high])))
    draw = rng.random(keys.size)
    outcome = np.where(rng.random(keys.size) < 0.1, 1, np.where(draw < p_low, 2, 0))
    rows = np.column_stack(
        [
            np.full(keys.size, voting_round.pk),
            ballot_ids[ballots],
            idea_ids[low],
            idea_ids[high],
            outcome,
        ]
    )
    copy_rows(
        "voting_pairwisejudgment",
        "round_id, ballot_id, first_idea_id, second_idea_id, outcome",
        rows,
    )
    rounds.append(voting_round)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return rounds


def bench_rankings(rounds: list[VotingRound], repeats: int) -> None:
    print("ranking_compute (database -> stored result), seconds: median / best")
    for voting_round in rounds:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            result = services.ranking_compute(round=voting_round, force=True)
            times.append(time.perf_counter() - started)
        print(
            f"  {voting_round.method:9} {result.entries:>9,} rows  "
            f"{statistics.median(times):.3f} / {min(times):.3f}"
        )


def vote_setup(ideas: list[int], label: str, voters: int) -> tuple[VotingRound, list[User]]:
    jam = make_jam(f"votes-{label}", voting_open=True)
    voting_round = make_round(jam, ideas, "budget", {"points": 10})
    users = User.objects.bulk_create(
        User(email=f"v{label}-{i}@bench.example") for i in range(voters)
    )
    Membership.objects.bulk_create(Membership(jam=jam, user=u, role="participant") for u in users)
    return VotingRound.objects.select_related("jam").get(pk=voting_round.pk), users


def statements_per_vote(ideas: list[int]) -> tuple[int, int]:
    """Round trips (BEGIN and COMMIT included) of one first vote and one changed
    vote. Not counted: psycopg's preparing of a vote statement (voting/prepared.py),
    one more round trip per statement the first time a connection runs it."""
    voting_round, (voter,) = vote_setup(ideas, "statements", 1)
    counts = []
    for ballot in (ideas[:10], ideas[5:15]):
        with CaptureQueriesContext(connection) as captured:
            services.vote_cast(actor=voter, round=voting_round, choices=dict.fromkeys(ballot, 1))
        counts.append(len(captured))
    return counts[0], counts[1]


def backend_cpu_seconds() -> float | None:
    """CPU used so far by this connection's PostgreSQL backend (same machine only)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_vote(ideas: list[int], votes: int) -> str:
    """CPU time per vote, one voter after another on one connection: this
    Python process (every thread: the broadcast too) and its PostgreSQL
    backend. Less sensitive to other jobs than wall-clock rates."""
    voting_round, users = vote_setup(ideas, "cpu", votes)
    rng = np.random.default_rng(7)
    ballots = [{int(i): 1 for i in rng.choice(ideas, size=10, replace=False)} for _ in users]
    parts = []
    for label, order in (("first", ballots), ("changed", ballots[::-1])):
        python, backend = time.process_time(), backend_cpu_seconds()
        for user, ballot in zip(users, order, strict=True):
            services.vote_cast(actor=user, round=voting_round, choices=ballot)
        python = (time.process_time() - python) / votes * 1e3
        after = backend_cpu_seconds()
        db = f"{(after - backend) / votes * 1e3:.2f}" if backend is not None and after else "?"
        parts.append(f"{label}: Python {python:.2f} ms + PostgreSQL {db} ms")
    return "; ".join(parts)


def bench_votes(
    ideas: list[int], processes: int, threads: int, votes_per_worker: int
) -> tuple[float, float]:
    """Entries/s accepted: first votes, then the same voters changing them."""
    voting_round, users = vote_setup(
        ideas, f"{processes}x{threads}", processes * threads * votes_per_worker
    )
    rng = np.random.default_rng(processes * 100 + threads)
    ballots = [
        {int(i): 1 for i in rng.choice(ideas, size=10, replace=False)} for _ in range(len(users))
    ]
    first = run_votes(voting_round, users, ballots, processes, threads)
    # The same voters change their votes: no turnout change, so no event.
    changed = run_votes(voting_round, users, ballots[::-1], processes, threads)
    return first, changed


def vote_worker(
    voting_round: VotingRound,
    users: list[User],
    ballots: list[dict[int, int]],
    threads: int,
    start: Any,
) -> None:
    """One process as a server runs votes: an event loop with ``threads``
    votes in flight, each in the loop's thread pool (``sync_to_async``, as
    Django runs a request's view under ASGI), its connection handed back
    to the pool after each vote (as at the end of a request). So the
    turnout event's broadcast (``async_to_sync`` in ``jams.realtime``) goes
    to this loop and its channel layer connection, as in a server, not to a
    new event loop and a new Redis connection per event. Released together
    once every process is ready."""

    def cast(k: int) -> None:
        try:
            services.vote_cast(actor=users[k], round=voting_round, choices=ballots[k])
        finally:
            close_old_connections()

    async def main() -> None:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=threads))
        voters = iter(range(len(users)))

        async def voter() -> None:
            for k in voters:
                await sync_to_async(cast, thread_sensitive=False)(k)

        await asyncio.to_thread(start.wait)
        await asyncio.gather(*(voter() for _ in range(threads)))

    asyncio.run(main())


def run_votes(
    voting_round: VotingRound,
    users: list[User],
    ballots: list[dict[int, int]],
    processes: int,
    threads: int,
) -> float:
    """Cast every ballot from ``processes`` forked processes x ``threads``
    threads; entries accepted per second, wall clock from the common start."""
    if processes == 1:
        start: Any = threading.Barrier(2)
        runner = threading.Thread(
            target=vote_worker, args=(voting_round, users, ballots, threads, start)
        )
        runner.start()
        start.wait()
        started = time.perf_counter()
        runner.join()
        return 10 * len(users) / (time.perf_counter() - started)
    # Nothing shared across fork: no open connection, no connection pool.
    connections.close_all()
    if getattr(connection, "pool", None) is not None:
        connection.close_pool()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(processes + 1)
    children = [
        context.Process(
            target=vote_worker,
            args=(voting_round, users[p::processes], ballots[p::processes], threads, start),
        )
        for p in range(processes)
    ]
    for child in children:
        child.start()
    start.wait()
    started = time.perf_counter()
    for child in children:
        child.join()
    elapsed = time.perf_counter() - started
    if any(child.exitcode for child in children):
        raise SystemExit("a voting process failed (its traceback is above)")
    return 10 * len(users) / elapsed


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ideas", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--votes-per-worker", "--votes-per-thread", dest="votes_per_worker", type=int, default=300
    )
    parser.add_argument(
        "--workers",
        default="1x1,1x4,1x8,2x4",
        help="vote runs as PROCESSESxTHREADS, comma-separated",
    )
    parser.add_argument("--votes-only", action="store_true", help="skip the rankings")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database.")

    print(f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        jam = make_jam("rankings", voting_open=False)
        ideas = make_ideas(jam, args.ideas)
        if not args.votes_only:
            print(f"database {name}; loading {args.entries:,} rows per method ...")
            rounds = load_rounds(jam, ideas, args.entries, seed=0)
            bench_rankings(rounds, args.repeats)
        first, changed = statements_per_vote(ideas)
        print(
            f"vote_cast: {first} round trips per first vote, {changed} per changed vote "
            "(not counting the statements' preparation, once per connection)"
        )
        cpu = cpu_per_vote(ideas, args.votes_per_worker)
        print(f"CPU per vote ({args.votes_per_worker} voters, one after another): {cpu}")
        print("vote_cast, budget ballots of 10 entries, entries/s accepted:")
        print(f"  channel layer: {settings.CHANNEL_LAYERS['default']['BACKEND']}")
        for spec in args.workers.split(","):
            processes, threads = (int(n) for n in spec.split("x"))
            before = load()
            first, changed = bench_votes(ideas, processes, threads, args.votes_per_worker)
            print(
                f"  {processes} process(es) x {threads} thread(s): {first:,.0f} (first votes, "
                f"one turnout event each), {changed:,.0f} (changed votes); "
                f"load {before} -> {load()}"
            )
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
