"""Time the outcome report page of a large jam, from stored analysis and ranking results,
on SQLite and PostgreSQL side by side.

    .venv/bin/python bench/report_bench.py [--posts 50000] [--entries 1000000] [--repeats 7]
        [--databases sqlite,postgres]
        [--sqlite FILE]      # keep the built SQLite database in FILE and reuse it next time
        [--postgres URL]     # default postgres://postgres@127.0.0.1:5432/report_bench
        [--keep]             # keep the PostgreSQL database (reused next time), do not drop it
        [--baseline REV]     # also time report_build of REV's analysis/report.py, interleaved

Each database gets a worker process of its own (Django is configured once per
process). A worker builds the data with bulk_create in one transaction, unless
the database already holds it: 12 topics, 5,000 members, 10,000 ideas (an
opening post and four replies each, over 10 hours), 150,000 reactions (30 per
member on opening posts), an approval round over 1,000 ideas with 100,000
ballots of 10 entries (1,000,000 ballot entries; ballots beyond the members
have no voter, as after deleted accounts), its ranking computed by
``ranking_compute``, and a done analysis run written directly (10 themes
holding every post, 3 opinion groups over the members, 2 tone shifts, an
hourly timeline). On PostgreSQL the tables are then ANALYZEd, as autovacuum
would do within a minute of such a load.

Then the parent measures the databases interleaved, in the same minutes (so
both see the same machine load): each repeat renders the report page through
the test Client as the executive and runs ``report_build`` alone, on each
database in turn (the order alternates from repeat to repeat). It prints the
median and the best of each, the CPU time a page took (the worker's and, on
PostgreSQL, its server backends'), and the ratios of the medians. With
``--baseline REV`` each worker also loads ``analysis/report.py`` as it was at
git revision REV and times its ``report_build`` next to today's (alternating
which goes first), on the same data: a before/after under the same load.

The PostgreSQL database (``report_bench`` unless ``--postgres`` names another)
is created when missing and dropped at the end unless ``--keep``; only a
database of that name is ever dropped, never the server's others.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/report_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--sqlite", "--db", dest="sqlite", help="SQLite file to keep the data in")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL URL")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--baseline", help="a git revision whose report_build to time as well")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a DATABASE_URL: run as a worker
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.posts, args.entries, args.baseline)
        return
    names = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = set(names) - {"sqlite", "postgres"}
    if unknown or not names:
        parser.error(f"--databases takes sqlite and/or postgres, not {sorted(unknown)}")
    with tempfile.TemporaryDirectory() as tmp:
        urls = {}
        created = False
        if "sqlite" in names:
            path = Path(args.sqlite) if args.sqlite else Path(tmp) / "bench.sqlite3"
            urls["sqlite"] = f"sqlite:///{path.resolve()}"
        if "postgres" in names:
            created = postgres_create(args.postgres)
            urls["postgres"] = args.postgres
        workers: dict[str, subprocess.Popen[str]] = {}
        try:
            for name, url in urls.items():
                workers[name] = worker_start(url, args.posts, args.entries, args.baseline)
                print(f"{name}: {worker_read(workers[name])['ready']}", flush=True)
            results = measure_interleaved(workers, args.repeats)
        finally:
            for proc in workers.values():
                worker_stop(proc)
            if "postgres" in urls and not args.keep:
                postgres_drop(args.postgres)
            elif created:
                print(f"kept {args.postgres}")
    report(results, args.repeats)


# --- The parent: databases, workers, interleaved measurement -----------------------


def _admin_url(url: str) -> tuple[str, str]:
    """The maintenance database's URL on the same server, and the bench database's name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to use {name!r} as the bench database")
    return urlunsplit(parts._replace(path="/postgres")), name


def postgres_create(url: str) -> bool:
    """Create the bench database when missing; True when it was created now."""
    import psycopg
    from psycopg import sql

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def postgres_drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    print(f"dropped {name}")


def worker_start(url: str, posts: int, entries: int, baseline: str | None) -> subprocess.Popen[str]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", url]
    command += ["--posts", str(posts), "--entries", str(entries)]
    if baseline:
        command += ["--baseline", baseline]
    return subprocess.Popen(  # noqa: S603 - this script, fixed arguments
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )


def worker_read(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise SystemExit(f"worker exited with {proc.wait()}")
    answer: dict[str, Any] = json.loads(line)
    return answer


def worker_ask(proc: subprocess.Popen[str], command: str) -> dict[str, Any]:
    assert proc.stdin is not None
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    return worker_read(proc)


def worker_stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None and proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure_interleaved(
    workers: dict[str, subprocess.Popen[str]], repeats: int
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {
        name: {
            "page": [],
            "build": [],
            "page_cpu": [],
            "build_cpu": [],
            "baseline": [],
            "baseline_cpu": [],
            **worker_ask(proc, "warm"),
        }
        for name, proc in workers.items()
    }
    order = list(workers)
    for i in range(repeats):
        for name in order if i % 2 == 0 else order[::-1]:
            timing = worker_ask(workers[name], "time")
            results[name]["page"].append(timing["page"])
            for key, value in timing.items():
                results[name][key].append(value)
        print(
            f"repeat {i + 1}: "
            + ", ".join(
                f"{name} page {results[name]['page'][-1]:.3f} s / build "
                f"{results[name]['build'][-1]:.3f} s"
                for name in order
            ),
            flush=True,
        )
    return results


def report(results: dict[str, dict[str, Any]], repeats: int) -> None:
    print(f"\nover {repeats} interleaved repeats; load average now: {os.getloadavg()}")
    for name, result in results.items():
        page, build, cpu = result["page"], result["build"], result["page_cpu"]
        print(
            f"{name:8} report page (test Client, {result['kib']:.0f} KiB): median "
            f"{statistics.median(page):.3f} s, best {min(page):.3f} s; "
            f"report_build alone: median {statistics.median(build):.3f} s, "
            f"best {min(build):.3f} s; queries per page: {result['queries']}"
        )
        print(
            f"{'':8} CPU per page (the worker and its PostgreSQL backends): median "
            f"{statistics.median(cpu):.3f} s, best {min(cpu):.3f} s"
        )
        if result["baseline"]:
            then, then_cpu = result["baseline"], result["baseline_cpu"]
            now_cpu = result["build_cpu"]
            print(
                f"{'':8} report_build at {result['revision']}: median "
                f"{statistics.median(then):.3f} s, best {min(then):.3f} s, CPU median "
                f"{statistics.median(then_cpu):.3f} s; now/then: wall "
                f"{statistics.median(build) / statistics.median(then):.2f}, CPU "
                f"{statistics.median(now_cpu) / statistics.median(then_cpu):.2f}"
            )
    if len(results) == 2:
        (a_name, a), (b_name, b) = results.items()

        def ratio(key: str) -> float:
            return statistics.median(b[key]) / statistics.median(a[key])

        print(
            f"ratio of medians {b_name}/{a_name}: page {ratio('page'):.2f}, "
            f"report_build {ratio('build'):.2f}, CPU per page {ratio('page_cpu'):.2f}"
        )


# --- A worker: one database ----------------------------------------------------------


def worker(url: str, n_posts: int, n_entries: int, baseline: str | None) -> None:
    """Answer the parent on stdout (one JSON line per command); progress goes to stderr."""
    out = sys.stdout
    sys.stdout = sys.stderr
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "jamsite.settings.test"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from jams.models import Membership

    call_command("migrate", verbosity=0)
    vendor = connection.vendor
    executive = Membership.objects.filter(jam__slug="report-bench", role="executive").first()
    if executive is not None:
        key, note = f"report-bench|{executive.user_id}", "data reused"
    else:
        started = time.perf_counter()
        with transaction.atomic():
            key = build(n_posts, n_entries)
        if vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        note = f"data built in {time.perf_counter() - started:.1f} s"
    answer(out, {"ready": f"{vendor}, {note}"})
    serve(key, out, sys.stdin, baseline_load(baseline) if baseline else None)


def baseline_load(revision: str) -> tuple[str, Callable[..., Any]]:
    """``report_build`` of ``analysis/report.py`` as it was at ``revision`` (loaded as
    ``analysis.report_baseline``; its relative imports resolve in today's app)."""
    import importlib.util

    source = subprocess.run(  # noqa: S603 - fixed git command
        ["git", "show", f"{revision}:analysis/report.py"],  # noqa: S607
        cwd=ROOT, capture_output=True, check=True, text=True,
    ).stdout  # fmt: skip
    name = subprocess.run(  # noqa: S603 - fixed git command
        ["git", "rev-parse", "--short", revision],  # noqa: S607
        cwd=ROOT, capture_output=True, check=True, text=True,
    ).stdout.strip()  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "report_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("analysis.report_baseline", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return name, module.report_build


def answer(out: IO[str], data: dict[str, Any]) -> None:
    out.write(json.dumps(data) + "\n")
    out.flush()


def build(n_posts: int, n_entries: int) -> str:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import User
    from analysis.models import (
        AnalysisRun,
        GroupMember,
        OpinionGroup,
        PostTheme,
        RunStatus,
        Theme,
        ToneShift,
    )
    from ideas.models import Idea, Post, Reaction, ReactionValue
    from jams.models import Jam, Membership, Role, Topic
    from jams.phases import Stage
    from tests.factories import schedule
    from voting.methods import parameters_clean
    from voting.models import Ballot, BallotEntry, BallotItem, VotingRound
    from voting.services import ranking_compute

    rng = np.random.default_rng(3)
    now = timezone.now()
    jam = Jam.objects.create(title="Report bench", slug="report-bench")
    schedule(jam, now=now, stage=Stage.CLOSED)
    discussion = jam.phases.get(kind="discussion")
    start = discussion.starts_at
    topics = Topic.objects.bulk_create(Topic(jam=jam, title=f"Topic {i}") for i in range(12))
    password = make_password("bench-password")
    n_people = 5_000
    users = User.objects.bulk_create(
        (User(email=f"p{i}@bench.invalid", password=password) for i in range(n_people)),
        batch_size=5000,
    )
    executive = users[0]
    Membership.objects.bulk_create(
        (
            Membership(jam=jam, user=u, role=Role.EXECUTIVE if i == 0 else Role.PARTICIPANT)
            for i, u in enumerate(users)
        ),
        batch_size=5000,
    )
    n_ideas = n_posts // 5
    offsets = np.sort(rng.uniform(0, 10 * 3600, n_posts))  # the 10-hour discussion
    moments = [start + timedelta(seconds=float(o)) for o in offsets]
    ideas = Idea.objects.bulk_create(
        (
            Idea(
                jam=jam,
                topic=topics[i % 12],
                author=users[i % n_people],
                title=f"Idea {i}: a proposal about topic {i % 12}",
                created_at=moments[i * 5],
            )
            for i in range(n_ideas)
        ),
        batch_size=5000,
    )
    text = "We should try this in a pilot first and measure the results carefully. " * 3
    openings = Post.objects.bulk_create(
        (
            Post(
                jam=jam, topic_id=idea.topic_id, idea=idea, author_id=idea.author_id,
                body=text, body_html=f"<p>{text}</p>", created_at=moments[i * 5],
                sentiment=float(np.clip(rng.normal(0.1, 0.4), -1, 1)),
            )
            for i, idea in enumerate(ideas)
        ),
        batch_size=5000,
    )  # fmt: skip
    replies = Post.objects.bulk_create(
        (
            Post(
                jam=jam, topic_id=opening.topic_id, idea_id=opening.idea_id, parent=opening,
                author=users[(i * 4 + r) % n_people], body="I agree, with one caveat.",
                body_html="<p>I agree, with one caveat.</p>", depth=1,
                created_at=moments[i * 5 + r + 1],
                sentiment=float(np.clip(rng.normal(0.0, 0.4), -1, 1)),
            )
            for i, opening in enumerate(openings)
            for r in range(4)
        ),
        batch_size=5000,
    )  # fmt: skip
    posts = openings + replies
    values = [ReactionValue.AGREE, ReactionValue.DISAGREE, ReactionValue.PASS]
    reactions = []
    for u, user in enumerate(users):
        for k in rng.choice(len(openings), size=30, replace=False):
            at = moments[int(k) * 5] + timedelta(minutes=int(rng.integers(1, 120)))
            reactions.append(
                Reaction(
                    post=openings[int(k)], user=user, value=values[(u + int(k)) % 3],
                    created_at=at, updated_at=at,
                )
            )  # fmt: skip
    Reaction.objects.bulk_create(reactions, batch_size=10000)
    print(f"{len(posts):,} posts, {len(reactions):,} reactions")

    # Voting: an approval round over 1,000 ideas, ballots of 10 entries.
    voting = jam.phases.get(kind="voting")
    ballot_ideas = ideas[:1000]
    voting_round = VotingRound.objects.create(
        jam=jam, title="Bench round", method="approval",
        parameters=parameters_clean("approval", {"max_approvals": 10}),
    )  # fmt: skip
    BallotItem.objects.bulk_create(
        BallotItem(round=voting_round, idea=idea, position=i) for i, idea in enumerate(ballot_ideas)
    )
    n_ballots = n_entries // 10
    span = (voting.ends_at - voting.starts_at).total_seconds()
    ballots = Ballot.objects.bulk_create(
        (
            Ballot(
                round=voting_round,
                voter=users[b] if b < n_people else None,
                size=10,
                created_at=voting.starts_at + timedelta(seconds=float(rng.uniform(0, span))),
            )
            for b in range(n_ballots)
        ),
        batch_size=10000,
    )
    appeal = rng.beta(2, 5, size=len(ballot_ideas))
    appeal /= appeal.sum()
    batch: list[BallotEntry] = []
    for ballot in ballots:
        for k in rng.choice(len(ballot_ideas), size=10, replace=False, p=appeal):
            batch.append(
                BallotEntry(ballot=ballot, round=voting_round, idea=ballot_ideas[int(k)], value=1)
            )
        if len(batch) >= 100_000:
            BallotEntry.objects.bulk_create(batch, batch_size=20000)
            batch = []
    BallotEntry.objects.bulk_create(batch, batch_size=20000)
    ranking_compute(round=voting_round)
    print(f"{n_ballots:,} ballots, {n_ballots * 10:,} ballot entries, ranking stored")

    # A done analysis run, written directly (as analysis_run would have stored it).
    hours = 10
    counts = np.histogram(offsets, bins=hours, range=(0, hours * 3600))[0]
    run = AnalysisRun.objects.create(
        jam=jam,
        status=RunStatus.DONE,
        progress=100,
        summary={"posts": len(posts), "participants": n_people, "votes": len(reactions)},
        timeline={
            "start": start.isoformat(),
            "width": 3600,
            "counts": counts.tolist(),
            "means": [float(x) for x in rng.normal(0.05, 0.1, hours)],
        },
        finished_at=now,
    )
    themes = Theme.objects.bulk_create(
        Theme(
            run=run, number=t, label=f"theme {t} / words / more", size=len(posts) // 10,
            sentiment=float(rng.normal(0, 0.2)),
            share={"start": start.isoformat(), "width": 3600, "values": [0.1] * hours},
            representative_post_ids=[posts[(t * 97 + j) % len(posts)].pk for j in range(5)],
        )
        for t in range(10)
    )  # fmt: skip
    PostTheme.objects.bulk_create(
        (
            PostTheme(run=run, post=post, theme=themes[i % 10], computed_number=i % 10)
            for i, post in enumerate(posts)
        ),
        batch_size=10000,
    )
    ToneShift.objects.bulk_create(
        ToneShift(run=run, at=start + timedelta(hours=h), before=0.1, after=-0.2,
                  post_ids=[replies[h * 10].pk])
        for h in (3, 7)
    )  # fmt: skip
    divisive = [openings[i].pk for i in range(0, 50, 10)]
    groups = OpinionGroup.objects.bulk_create(
        OpinionGroup(run=run, number=g, size=n_people // 3, representative=[],
                     consensus_post_ids=[], divisive_post_ids=divisive)
        for g in range(3)
    )  # fmt: skip
    GroupMember.objects.bulk_create(
        (GroupMember(run=run, group=groups[i % 3], user=u) for i, u in enumerate(users)),
        batch_size=10000,
    )
    return f"{jam.slug}|{executive.pk}"


def cpu_seconds() -> float:
    """CPU time of this process and, on PostgreSQL, of the server's backends serving
    this database (read from /proc: the server must run on this machine). Less
    sensitive to the machine's load than wall-clock time: a request that waits
    for a core does not use CPU meanwhile. Parallel query workers would be
    missed (their titles name no database); the report's plans use none."""
    from django.db import connection

    total = time.process_time()
    if connection.vendor != "postgresql":
        return total
    name = f" {connection.settings_dict['NAME']} ".encode()
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            if not title.startswith(b"postgres: ") or name not in title:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it exited meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
    return total


def serve(
    key: str, out: IO[str], commands: IO[str], baseline: tuple[str, Callable[..., Any]] | None
) -> None:
    """``warm``: one untimed page (imports, templates), answering its size and query
    count; ``time``: one timed page GET and one timed ``report_build`` (and one of the
    baseline's, first every other time)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.models import User
    from analysis.report import report_build
    from jams.models import Jam

    slug, user_id = key.split("|")
    jam = Jam.objects.get(slug=slug)
    client = Client()
    client.force_login(User.objects.get(pk=int(user_id)))
    url = reverse("analysis:report", args=[slug])
    rounds = 0
    for line in commands:
        command = line.strip()
        if command == "warm":
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            assert response.status_code == 200, response.status_code
            warm: dict[str, Any] = {"kib": len(response.content) / 1024, "queries": len(queries)}
            if baseline:
                warm["revision"] = baseline[0]
                baseline[1](jam=jam)
            answer(out, warm)
        elif command == "time":
            cpu = cpu_seconds()
            t = time.perf_counter()
            response = client.get(url)
            page = time.perf_counter() - t
            page_cpu = cpu_seconds() - cpu
            assert response.status_code == 200, response.status_code
            timing = {"page": page, "page_cpu": page_cpu}
            builds = [("build", report_build)]
            if baseline:
                builds.append(("baseline", baseline[1]))
                if rounds % 2:
                    builds.reverse()
            for name, function in builds:
                cpu = cpu_seconds()
                t = time.perf_counter()
                function(jam=jam)
                timing[name] = time.perf_counter() - t
                timing[f"{name}_cpu"] = cpu_seconds() - cpu
            rounds += 1
            answer(out, timing)
        else:
            raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main()
