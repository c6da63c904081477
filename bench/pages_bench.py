"""Server time of the jam home and of a 500-post thread (Django test Client,
no network), median of N renders against a seeded database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python -m bench.pages_bench [--renders 30] [--posts 500]

It creates its own test database (``test_<name>`` of DATABASE_URL, SQLite
when unset), seeds the demo jam, adds a thread of ``--posts`` posts by 50
members, one every 7 minutes for 2.4 days after the opening post (so that the page shows ~500
distinct times of day, as a real thread does, not 500 copies of one),
renders each page ``--renders`` times as a participant and prints
the median and p90 wall time, the median CPU time of this process (which
leaves out PostgreSQL's share, and moves less than the wall time while
other processes share the machine) and the number of queries per render,
with the load average before and after each page's renders.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jamsite.settings.test")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--posts", type=int, default=500)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment
    from django.urls import reverse

    from accounts.models import User
    from ideas.models import Idea, Post
    from jams.models import Jam

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        call_command("seed_demo", "--participants", "50", "--password", "bench-pages-2026")
        jam = Jam.objects.get(slug="demo")
        idea = Idea.objects.filter(jam=jam).order_by("pk").first()
        assert idea is not None
        opening = Post.objects.get(idea=idea, parent=None)
        authors = list(User.objects.filter(email__startswith="participant"))
        start = opening.created_at
        Post.objects.bulk_create(
            Post(
                jam=jam,
                topic=idea.topic,
                idea=idea,
                parent=opening,
                depth=1,
                author=authors[i % len(authors)],
                body=f"Reply {i} " + "text " * 40,
                body_html=f"<p>Reply {i} " + "text " * 40 + "</p>",
                created_at=start + timedelta(minutes=7 * i, seconds=i),
            )
            for i in range(args.posts - Post.objects.filter(idea=idea).count())
        )
        Idea.objects.filter(pk=idea.pk).update(reply_count=args.posts - 1)
        client = Client()
        client.force_login(authors[0])
        pages = {
            "jam home": reverse("jams:home", args=["demo"]),
            f"thread of {args.posts} posts": reverse("ideas:idea", args=["demo", idea.pk]),
        }
        print(f"{platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs")
        print(
            f"{'page':<24} {'median ms':>10} {'p90 ms':>8} {'cpu ms':>7} {'queries':>8}"
            "  load before -> after"
        )
        for name, url in pages.items():
            client.get(url)  # warm caches and templates
            load = " ".join(f"{x:.2f}" for x in os.getloadavg())
            times, cpu, counts = [], [], set()
            for _ in range(args.renders):
                with CaptureQueriesContext(connection) as captured:
                    t0, c0 = time.perf_counter(), time.process_time()
                    response = client.get(url)
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
                assert response.status_code == 200, response.status_code
                counts.add(len(captured))
            times.sort()
            p90 = times[int(0.9 * (len(times) - 1))]
            print(
                f"{name:<24} {statistics.median(times) * 1e3:>10.1f} {p90 * 1e3:>8.1f} "
                f"{statistics.median(cpu) * 1e3:>7.1f} "
                f"{'/'.join(map(str, sorted(counts))):>8}  {load} -> "
                + " ".join(f"{x:.2f}" for x in os.getloadavg())
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
