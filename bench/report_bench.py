"""Time the outcome report page of a large jam, from stored analysis and ranking results.

    .venv/bin/python bench/report_bench.py [--posts 50000] [--entries 1000000] [--repeats 7]
        [--db FILE]   # keep the built SQLite database in FILE and reuse it next time

Builds a throw-away SQLite database in a temporary directory with bulk_create:
12 topics, 5,000 members, 10,000 ideas (an opening post and four replies each,
over 72 hours), 150,000 reactions (30 per member on opening posts), an
approval round over 1,000 ideas with 100,000 ballots of 10 entries
(1,000,000 ballot entries; ballots beyond the members have no voter, as after
deleted accounts), its ranking computed by ``ranking_compute``, and a done
analysis run written directly (10 themes holding every post, 3 opinion groups
over the members, 2 tone shifts, an hourly timeline). Then it renders the
report page through the test Client as the executive, ``--repeats`` times,
and prints the median and the best, and the same for ``report_build`` alone.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--db", help="SQLite file to keep the data in (reused when it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db) if args.db else Path(tmp) / "bench.sqlite3"
        reuse = path.exists()
        os.environ["DATABASE_URL"] = f"sqlite:///{path.resolve()}"
        os.environ["DJANGO_SETTINGS_MODULE"] = "jamsite.settings.test"
        os.environ["ALLOWED_HOSTS"] = "testserver"
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if reuse:
            from jams.models import Membership

            executive = Membership.objects.get(jam__slug="report-bench", role="executive")
            key = f"report-bench|{executive.user_id}"
        else:
            started = time.perf_counter()
            key = build(args.posts, args.entries)
            print(f"data built in {time.perf_counter() - started:.1f} s")
        measure(key, args.repeats)


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
            representative_post_ids=[posts[t * 97 + j].pk for j in range(5)],
        )
        for t in range(10)
    )  # fmt: skip
    PostTheme.objects.bulk_create(
        (PostTheme(run=run, post=post, theme=themes[i % 10]) for i, post in enumerate(posts)),
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


def measure(key: str, repeats: int) -> None:
    from django.test import Client
    from django.urls import reverse

    from accounts.models import User
    from analysis.report import report_build
    from jams.models import Jam

    slug, user_id = key.split("|")
    jam = Jam.objects.get(slug=slug)
    client = Client()
    client.force_login(User.objects.get(pk=int(user_id)))
    url = reverse("analysis:report", args=[slug])
    response = client.get(url)  # warm up: imports, templates
    assert response.status_code == 200, response.status_code
    pages, builds = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        response = client.get(url)
        pages.append(time.perf_counter() - t)
        assert response.status_code == 200
        t = time.perf_counter()
        report_build(jam=jam)
        builds.append(time.perf_counter() - t)
    print(f"page size: {len(response.content) / 1024:.0f} KiB")
    print(
        f"report page (test Client): median {statistics.median(pages):.3f} s, "
        f"best {min(pages):.3f} s over {repeats}"
    )
    print(
        f"report_build alone:        median {statistics.median(builds):.3f} s, "
        f"best {min(builds):.3f} s"
    )


if __name__ == "__main__":
    main()
