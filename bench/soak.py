"""Soak: several hundred WebSocket clients posting for N minutes against daphne
+ Redis + PostgreSQL on this machine (loopback only), then a reckoning.

    .venv/bin/python bench/soak.py --clients 200 --minutes 3
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/soak.py

It seeds a fresh database (a uniquely named one on the PostgreSQL server of
DATABASE_URL, dropped at the end) and a Redis slice of its own, starts one
daphne process, signs the clients in (sessions written by manage.py, not
the login form, whose rate limit would stop a crowd from one address), and
lets every client post a new idea at random intervals (mean ``--interval``
seconds) to one of the jam's topics, all clients listening on that topic.

Reported: posts acknowledged, lost messages (acknowledged posts missing from
a listener's view after it resumed, and kept resuming for up to two minutes;
must be 0), how many deliveries were still on their way when the posting
stopped and how long the listeners took to catch up, posts never
acknowledged, duplicates, p50/p95/p99 post->ack latency, and the server's
resident memory after the clients connected and at the end. Bounded: it
stops after ``--minutes`` (plus setup and at most two minutes of reckoning)
by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import Deployment, LiveSocket, Server

PASSWORD = "soak-Jam-pass-2026"  # noqa: S105 - a throw-away database
RECKON_SECONDS = 120.0  # how long listeners may take to catch up at the end
SESSIONS = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from accounts.models import User
keys = []
for user in User.objects.filter(email__startswith="participant").order_by("pk")[:{n}]:
    s = SessionStore()
    s[SESSION_KEY] = str(user.pk)
    s[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    s[HASH_SESSION_KEY] = user.get_session_auth_hash()
    s.create()
    keys.append(s.session_key)
print("SESSIONS " + json.dumps(keys))
"""


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Client:
    def __init__(self, number: int, socket: LiveSocket, topic: int) -> None:
        self.number, self.socket, self.topic = number, socket, topic
        self.acks: list[dict[str, Any]] = []
        self.latencies: list[float] = []
        self.unacked = 0
        self.errors: dict[str, int] = {}

    async def post(self) -> None:
        client_id = str(uuid.uuid4())
        title = f"Soak {self.number} {client_id[:8]}"
        start = time.perf_counter()
        await self.socket.send(
            type="post", client_id=client_id, topic=self.topic, title=title, body=title
        )
        try:
            async with asyncio.timeout(30):
                while True:
                    answer = await self.socket.inbox.get()
                    if answer.get("client_id") != client_id:
                        continue
                    if answer["type"] == "ack":
                        self.latencies.append(time.perf_counter() - start)
                        self.acks.append(answer)
                    else:
                        code = str(answer.get("code"))
                        self.errors[code] = self.errors.get(code, 0) + 1
                    return
        except TimeoutError:
            self.unacked += 1

    async def run(self, until: float, interval: float) -> None:
        while time.monotonic() < until and not self.socket.closed.is_set():
            await asyncio.sleep(random.expovariate(1 / interval))
            if time.monotonic() < until:
                await self.post()


async def soak(server: Server, sessions: list[str], minutes: float, interval: float) -> dict:
    pid = server.process.pid if server.process else 0
    clients: list[Client] = []
    topics: list[int] = []
    for number, sid in enumerate(sessions):
        socket = await LiveSocket.open(server, sid, auto_resume=True, within=30)
        if not topics:
            topics = [t["id"] for t in socket.hello["topics"]]
        topic = topics[number % len(topics)]
        await socket.subscribe(topic=topic)
        clients.append(Client(number, socket, topic))
    start_seq = min(c.socket.last_seq for c in clients)
    await asyncio.sleep(3)  # past the hold after connect
    rss_start = rss_kib(pid)
    until = time.monotonic() + minutes * 60
    await asyncio.gather(*(c.run(until, interval) for c in clients))
    rss_end = rss_kib(pid)

    # Reckoning: every listener must end up holding every post acknowledged
    # on its topic, once. Right after the posting stops, the live pushes of
    # the last posts may still be queued on a loaded machine ("behind");
    # each listener then resumes (again every 10 s while it misses
    # something) and whatever is still missing after RECKON_SECONDS is lost.
    acked: dict[int, set[int]] = {t: set() for t in topics}
    seq_of: dict[int, int] = {}
    for client in clients:
        acked[client.topic].update(a["id"] for a in client.acks)
        seq_of.update({int(a["id"]): int(a["seq"]) for a in client.acks})

    def seen(client: Client) -> list[int]:
        return [
            int(e["data"]["id"])
            for seq, e in client.socket.applied.items()
            if seq > start_seq and e["event"] == "post.created"
        ]

    def missing(client: Client) -> set[int]:
        return acked[client.topic] - set(seen(client))

    behind = sum(len(missing(c)) for c in clients)
    reckon_start = time.monotonic()
    pending = [c for c in clients if not c.socket.closed.is_set()]
    while pending and time.monotonic() - reckon_start < RECKON_SECONDS:
        for client in pending:
            await client.socket.resume()
        for _ in range(10):
            await asyncio.sleep(1)
            pending = [c for c in pending if missing(c) and not c.socket.closed.is_set()]
            if not pending:
                break
    caught_up_seconds = time.monotonic() - reckon_start
    lost = duplicates = closed = 0
    lost_posts: dict[int, int] = {}  # post id -> listeners missing it
    for client in clients:
        if client.socket.closed.is_set():
            closed += 1
        ids = seen(client)
        duplicates += len(ids) - len(set(ids))
        gone = missing(client)
        lost += len(gone)
        for post in gone:
            lost_posts[post] = lost_posts.get(post, 0) + 1
    latencies = [x for c in clients for x in c.latencies]
    errors: dict[str, int] = {}
    for client in clients:
        for code, n in client.errors.items():
            errors[code] = errors.get(code, 0) + n
    for client in clients:
        await client.socket.close()
    return {
        "clients": len(clients),
        "minutes": minutes,
        "posts_acked": len(latencies),
        "posts_per_second": round(len(latencies) / (minutes * 60), 1),
        "deliveries_checked": sum(len(acked[c.topic]) for c in clients),
        "lost": lost,
        "lost_posts": {  # a sample: seq -> (post id, listeners missing it)
            str(seq_of.get(post, 0)): [post, n] for post, n in sorted(lost_posts.items())[:20]
        },
        "behind_when_posting_stopped": behind,
        "caught_up_seconds": round(caught_up_seconds, 1),
        "unacked": sum(c.unacked for c in clients),
        "duplicates": duplicates,
        "errors": errors,
        "sockets_closed": closed,
        "latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1) if latencies else None,
            "p95": round(percentile(latencies, 0.95) * 1000, 1),
            "p99": round(percentile(latencies, 0.99) * 1000, 1),
        },
        "server_rss_mib": {
            "start": round(rss_start / 1024, 1),
            "end": round(rss_end / 1024, 1),
            "growth": round((rss_end - rss_start) / 1024, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=10.0, help="mean seconds between posts")
    args = parser.parse_args()
    if not 1 <= args.clients <= 2000 or not 0 < args.minutes <= 120:
        parser.error("1-2000 clients, at most 120 minutes")
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    for url in (database_url, redis_url):
        host = url.split("@")[-1].split("//")[-1].split(":")[0].split("/")[0]
        if host not in ("127.0.0.1", "localhost", "::1"):
            parser.error(f"loopback only, not {host}")
    workdir = Path(tempfile.mkdtemp(prefix="jam-soak-"))
    deployment = Deployment.create(
        workdir,
        password=PASSWORD,
        database_url=database_url,
        redis_url=redis_url,
        extra_env={"JAM_WS_MESSAGES_PER_SECOND": "5", "JAM_WS_MESSAGE_BURST": "20"},
    )
    try:
        deployment.prepare(participants=args.clients)
        code = SESSIONS.replace("{n}", str(args.clients))
        output = deployment.manage("shell", "-v", "0", "-c", code)
        line = next(x for x in output.splitlines() if x.startswith("SESSIONS "))
        sessions = json.loads(line.removeprefix("SESSIONS "))
        server = deployment.server("daphne", name="daphne-soak")
        report = asyncio.run(soak(server, sessions, args.minutes, args.interval))
        report["server_log_errors"] = server.log_tail(100000).count("Traceback")
        print(json.dumps(report, indent=2))
        if report["lost"] or report["duplicates"]:
            sys.exit(1)
    finally:
        with contextlib.suppress(Exception):
            deployment.close()


if __name__ == "__main__":
    main()
