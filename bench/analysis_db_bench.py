"""Time the Django path of the analysis (load from the database, run, persist) for N posts.

    .venv/bin/python bench/analysis_db_bench.py --posts 50000

Builds a throw-away SQLite database in a temporary directory (migrated
first), fills it with bulk_create from the same synthetic corpus as
bench/analysis_bench.py (ideas of one opening post and four replies, 72
hours of timestamps, sentiment as if scored at write time, a participant per
10 posts with 30 reactions each on up to 5,000 posts), then times
``analysis.services.analysis_run`` stage by stage, a second run on
unchanged data (the input-hash check) and a third, forced, that carries on
from the first run's themes.
"""

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["DJANGO_SETTINGS_MODULE"] = "jamsite.settings.base"
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run_bench(args.posts)


def run_bench(n_posts: int) -> None:
    from analysis_bench import peak_rss_mb, synthetic_posts, synthetic_votes
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from analysis.models import PostTheme
    from analysis.services import analysis_run
    from ideas.models import Idea, Post, Reaction, ReactionValue
    from jams.models import Jam, Membership, Role, Topic

    print(f"posts: {n_posts:,} (SQLite, temporary database)")
    started = time.perf_counter()
    texts = synthetic_posts(n_posts)
    rng = np.random.default_rng(1)
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    offsets = np.sort(rng.uniform(0, 72 * 3600, n_posts))
    scores = np.clip(rng.normal(0.1, 0.4, n_posts), -1, 1)
    votes = synthetic_votes(n_posts)
    jam = Jam.objects.create(title="Bench", slug="bench")
    topics = Topic.objects.bulk_create(Topic(jam=jam, title=f"Topic {i}") for i in range(12))
    password = make_password(None)
    users = User.objects.bulk_create(
        (User(email=f"p{i}@bench.invalid", password=password) for i in range(votes.n_participants)),
        batch_size=5000,
    )
    Membership.objects.bulk_create(
        (Membership(jam=jam, user=u, role=Role.PARTICIPANT) for u in users), batch_size=5000
    )
    n_ideas = (n_posts + 4) // 5
    moments = [start + timedelta(seconds=float(o)) for o in offsets]
    ideas = Idea.objects.bulk_create(
        (
            Idea(
                jam=jam, topic=topics[i % 12], author=users[i % len(users)],
                title=texts[i * 5][:60], created_at=moments[i * 5],
                last_activity_at=moments[i * 5],
            )
            for i in range(n_ideas)
        ),
        batch_size=5000,
    )  # fmt: skip
    posts = Post.objects.bulk_create(
        (
            Post(
                jam=jam, topic=ideas[i // 5].topic, idea=ideas[i // 5],
                author=users[i % len(users)], body=texts[i], body_html=texts[i],
                depth=0 if i % 5 == 0 else 1, created_at=moments[i], language="en",
                sentiment=float(scores[i]),
            )
            for i in range(n_posts)
        ),
        batch_size=5000,
    )  # fmt: skip
    values = {1.0: ReactionValue.AGREE, -1.0: ReactionValue.DISAGREE, 0.0: ReactionValue.PASS}
    Reaction.objects.bulk_create(
        (
            Reaction(post=posts[int(s)], user=users[int(p)], value=values[float(v)])
            for p, s, v in zip(votes.participants, votes.statements, votes.values, strict=True)
        ),
        batch_size=5000,
    )
    print(f"{'fill database (not timed)':<32}{time.perf_counter() - started:8.1f} s")
    started, cpu = time.perf_counter(), time.process_time()
    run = analysis_run(jam=jam)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    for stage in ("load", "themes", "shifts", "groups", "save"):
        print(f"{stage:<32}{run.timings.get(stage, 0.0):8.1f} s")
    print(f"{'total (incl. progress writes)':<32}{total:8.1f} s")
    print(f"{'total CPU time of the process':<32}{cpu:8.1f} s")
    print(f"{'load average (1 min) after':<32}{os.getloadavg()[0]:8.1f}")
    started = time.perf_counter()
    again = analysis_run(jam=jam)
    print(f"{'second run, unchanged (hash)':<32}{time.perf_counter() - started:8.1f} s")
    assert again.pk == run.pk
    started = time.perf_counter()
    rerun = analysis_run(jam=jam, force=True)
    print(f"{'third run, forced, carrying on':<32}{time.perf_counter() - started:8.1f} s")
    for stage in ("load", "themes", "save"):
        print(f"{'  ' + stage:<32}{rerun.timings.get(stage, 0.0):8.1f} s")
    print(f"{'  themes continued':<32}{rerun.summary['themes_continued']:8d}")
    print(f"{'themes found':<32}{run.themes.count():8d}")
    print(f"{'post-theme rows':<32}{PostTheme.objects.filter(run=run).count():8d}")
    print(f"{'opinion groups found':<32}{run.groups.count():8d}")
    print(f"{'reactions':<32}{len(votes.values):8d}")
    print(f"{'peak RSS':<32}{peak_rss_mb():8.0f} MB")


if __name__ == "__main__":
    main()
