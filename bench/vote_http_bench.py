"""Votes through HTTP: ballots posted to real server processes, as browsers post them.

Run from the repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m bench.vote_http_bench [--voters 2000] [--processes 1,2]
            [--ways http,socket] [--connections 16] [--entries 10]

bench/voting_bench.py measures ``vote_cast`` itself; this measures what a
voter's browser gets, both ways jam.js votes (``--ways``): ``http``, the round
page's form posted to ``round_vote`` with the session cookie and CSRF token,
through uvicorn, the session, CSRF and authentication middleware, the form
and the service, answered by the redirect back to the round; ``socket``, a
``vote`` message on each voter's open jam socket, answered by its ``ack``
(docs/protocol.md). It reuses the test harness (tests/servers.py): a
fresh database seeded with ``seed_demo --phase voting --participants N``, a
budget round of 10 points over ``--ideas`` ideas added to it, sessions from
``manage.py bench_sessions N``, and uvicorn processes with the production
settings of tests.e2e.server_settings (database pool, Redis channel layer
when REDIS_URL is set, so each first vote's turnout event is broadcast).

Over HTTP each voter first loads the round page (its CSRF cookie and token;
reported as a row of its own), then all voters post their ballot
(``--entries`` ideas, one point each), ``--connections`` keep-alive
connections per server at once, spread over the servers; then all of them
post a changed ballot. Over the socket every voter's socket is opened first
(not timed), then all voters send their ballot at once, then a changed one. Reported per run:
votes and ballot entries accepted per second (from the first request sent to
the last answer), request latency p50/p99, server CPU and PostgreSQL CPU
(all its processes, from /proc) per vote, and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import re
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.live_bench import (
    PASSWORD,
    BenchServer,
    cpu_seconds,
    loadavg,
    machine_facts,
    percentile,
    raise_nofile,
    start_server,
)
from bench.wsclient import WSClient
from tests.servers import Deployment

TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
SET_COOKIE = re.compile(rb"^set-cookie: *([^=]+)=([^;]*)", re.IGNORECASE | re.MULTILINE)

ROUND_SCRIPT = """
from ideas.models import Idea
from jams.models import Jam
from voting.methods import parameters_clean
from voting.models import BallotItem, VotingRound
jam = Jam.objects.get(slug="demo")
topic = jam.topics.order_by("pk")[0]
Idea.objects.bulk_create(
    Idea(jam=jam, topic=topic, title=f"Ballot idea {{i}}") for i in range({ideas})
)
ideas = list(Idea.objects.filter(jam=jam, title__startswith="Ballot idea ").order_by("pk"))
voting_round = VotingRound.objects.create(
    jam=jam, title="Budget", method="budget",
    parameters=parameters_clean("budget", {{"points": 10}}),
)
BallotItem.objects.bulk_create(
    BallotItem(round=voting_round, idea=idea, position=i) for i, idea in enumerate(ideas, 1)
)
print(voting_round.pk, *[idea.pk for idea in ideas])
"""

STORED = """
from voting.models import Ballot, BallotEntry
ballots = Ballot.objects.filter(round_id={round})
print(ballots.count(), "ballots,", BallotEntry.objects.filter(ballot__in=ballots).count(),
      "entries")
"""

CLEAR = """
from voting.models import Ballot
Ballot.objects.filter(round_id={round}).delete()
"""


@dataclass
class Voter:
    session: str
    csrf_cookie: str = ""
    token: str = ""


class Connection:
    """One keep-alive HTTP/1.1 connection; just enough of the protocol for
    Django's answers (Content-Length bodies)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, cookies: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nCookie: {cookie}\r\n"
            f"Content-Length: {len(body)}\r\n"
        )
        if body:
            head += "Content-Type: application/x-www-form-urlencoded\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        headers = await self.reader.readuntil(b"\r\n\r\n")
        status = int(headers.split(b" ", 2)[1])
        match = re.search(rb"content-length: *(\d+)", headers, re.IGNORECASE)
        payload = await self.reader.readexactly(int(match.group(1))) if match else b""
        if re.search(rb"connection: *close", headers, re.IGNORECASE):
            self.writer.close()
            self.writer = None
        return status, headers, payload


def shell(deployment: Deployment, script: str) -> str:
    """What a script run by ``manage.py shell`` printed."""
    return deployment.manage("shell", "-v", "0", "-c", script)


def ballot_body(voter: Voter, ideas: list[int], entries: int, rng: random.Random) -> bytes:
    chosen = set(rng.sample(ideas, entries))
    fields = [("csrfmiddlewaretoken", voter.token)]
    fields += [(f"idea_{pk}", "1" if pk in chosen else "") for pk in ideas]
    return urllib.parse.urlencode(fields).encode()


async def run_pass(
    ports: list[int],
    voters: list[Voter],
    work: list[bytes | None],
    *,
    path: str,
    connections: int,
) -> tuple[list[float], int, float]:
    """Send each voter's request (``work[i]`` is the POST body, None: GET the
    page and keep its CSRF cookie and token); latencies, failures, wall."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(len(voters)):
        queue.put_nowait(i)
    latencies: list[float] = []
    failures = 0

    async def worker(port: int) -> None:
        nonlocal failures
        conn = Connection(port)
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            voter, body = voters[i], work[i]
            cookies = {"sessionid": voter.session}
            if voter.csrf_cookie:
                cookies["csrftoken"] = voter.csrf_cookie
            start = time.perf_counter()
            if body is None:
                status, headers, payload = await conn.request("GET", path, cookies)
                for name, value in SET_COOKIE.findall(headers):
                    if name == b"csrftoken":
                        voter.csrf_cookie = value.decode()
                token = TOKEN.search(payload)
                if status != 200 or token is None:
                    failures += 1
                    continue
                voter.token = token.group(1).decode()
            else:
                status, _, _ = await conn.request("POST", path, cookies, body)
                if status != 302:
                    failures += 1
                    continue
            latencies.append(time.perf_counter() - start)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(port) for port in ports for _ in range(connections)))
    return sorted(latencies), failures, time.perf_counter() - t0


class SocketVoter:
    """One voter's jam socket (bench/wsclient.py): sends a ballot as a
    ``vote`` message and notes when its answer came."""

    def __init__(self) -> None:
        self.client: WSClient | None = None
        self.sent = 0.0
        self.answered: asyncio.Future[tuple[str, float]] | None = None

    def on_text(self, payload: bytes, now: float) -> None:
        for line in payload.split(b"\n"):
            if b'"client_id"' not in line or self.answered is None or self.answered.done():
                continue
            kind = json.loads(line)["type"]
            if kind in ("ack", "error"):
                self.answered.set_result((kind, time.perf_counter()))


async def sockets_open(ports: list[int], keys: list[str]) -> list[SocketVoter]:
    voters = [SocketVoter() for _ in keys]
    gate = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        port = ports[i % len(ports)]
        async with gate:
            voters[i].client = await WSClient.open(
                "127.0.0.1",
                port,
                "/ws/jams/demo/",
                headers={"Cookie": f"sessionid={keys[i]}", "Origin": f"http://127.0.0.1:{port}"},
                on_text=voters[i].on_text,
                within=60,
            )

    await asyncio.gather(*(one(i) for i in range(len(keys))))
    await asyncio.sleep(2.5)  # past the hold after connect (no resume is sent)
    return voters


async def socket_pass(
    voters: list[SocketVoter], ballots: list[dict[str, int]], round_id: int
) -> tuple[list[float], int, float]:
    """Every voter sends its ballot at once; latencies, failures, wall."""
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    for voter, choices in zip(voters, ballots, strict=True):
        assert voter.client is not None
        voter.answered = loop.create_future()
        voter.sent = time.perf_counter()
        message = {"type": "vote", "client_id": str(uuid.uuid4()), "round": round_id}
        voter.client.send_text(json.dumps({**message, "choices": choices}))
    answers = await asyncio.wait_for(
        asyncio.gather(*(v.answered for v in voters if v.answered is not None)), 300
    )
    wall = time.perf_counter() - t0
    latencies = sorted(
        at - v.sent for v, (kind, at) in zip(voters, answers, strict=True) if kind == "ack"
    )
    return latencies, sum(1 for kind, _ in answers if kind != "ack"), wall


def socket_ballots(ideas: list[int], entries: int, n: int, rng: random.Random) -> list[dict]:
    return [{str(pk): 1 for pk in rng.sample(ideas, entries)} for _ in range(n)]


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process on this machine so far."""
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
            total += cpu_seconds(int(pid))
        except OSError:
            continue  # exited meanwhile
    return total


def measure(
    label: str,
    servers: list[BenchServer],
    run: Coroutine[Any, Any, tuple[list[float], int, float]],
    loop: asyncio.AbstractEventLoop,
    *,
    entries: int,
) -> None:
    """Run one pass and print its row; ``entries``: ballot entries per
    request (0 for the page loads)."""
    pids = [s.process.pid for s in servers if s.process is not None]
    load = loadavg()
    cpu0, db0 = sum(cpu_seconds(p) for p in pids), postgres_cpu()
    latencies, failures, wall = loop.run_until_complete(run)
    cpu, db = sum(cpu_seconds(p) for p in pids) - cpu0, postgres_cpu() - db0
    done = len(latencies)
    p50, p99 = percentile(latencies, 0.5) * 1e3, percentile(latencies, 0.99) * 1e3
    per = max(1, done)
    print(
        f"{label:<34} {done} answered in {wall:.2f} s: {done / wall:7.0f}/s "
        f"{done * entries / wall:7.0f} entries/s  p50 {p50:6.1f} p99 {p99:6.1f} ms  "
        f"failures {failures}  "
        f"server CPU {cpu / per * 1e3:.2f} ms each ({cpu / wall * 100:.0f} %)  "
        f"PostgreSQL {db / per * 1e3:.2f} ms each ({db / wall * 100:.0f} %)  "
        f"load {load} -> {loadavg()}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--voters", type=int, default=2000)
    parser.add_argument("--processes", default="1,2", help="server processes per run")
    parser.add_argument(
        "--ways", default="http,socket", help="http (the round page's form), socket (vote messages)"
    )
    parser.add_argument("--connections", type=int, default=16, help="per server process")
    parser.add_argument("--ideas", type=int, default=30)
    parser.add_argument("--entries", type=int, default=10, help="ideas per ballot, 1 point each")
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "jam-vote-logs")
    args = parser.parse_args()
    if args.entries > min(10, args.ideas):
        raise SystemExit("--entries: at most 10 (the round's points) and at most --ideas")
    os.environ.setdefault("JAM_E2E_REDIS_DB", "12")
    raise_nofile()
    print(machine_facts(), flush=True)
    rng = random.Random(0)
    with tempfile.TemporaryDirectory(prefix="jam-vote-") as tmp:
        deployment = Deployment.create(Path(tmp), password=PASSWORD)
        try:
            deployment.prepare(participants=args.voters, phase="voting")
            if deployment.database.postgres_admin_url:
                # Statistics for the freshly seeded tables, as a running site has them.
                shell(deployment, "from django.db import connection\n"
                      "connection.cursor().execute('ANALYZE')")  # fmt: skip
            out = shell(deployment, ROUND_SCRIPT.format(ideas=args.ideas))
            round_id, *ideas = (int(n) for n in out.strip().splitlines()[-1].split())
            path = f"/jams/demo/voting/rounds/{round_id}/"
            keys = deployment.manage("bench_sessions", str(args.voters)).split()
            print(
                f"database {deployment.database.url.split('@')[-1]}, "
                f"redis {deployment.redis.url if deployment.redis else 'none'}; "
                f"{args.voters} voters, budget round {round_id} over {len(ideas)} ideas, "
                f"{args.entries} entries a ballot",
                flush=True,
            )
            loop = asyncio.new_event_loop()
            runs = [(int(n), w) for n in args.processes.split(",") for w in args.ways.split(",")]
            for index, (count, way) in enumerate(runs):
                servers = [
                    start_server(deployment, "uvicorn", f"votes-{way}-{count}-{i}", core=None)
                    for i in range(count)
                ]
                ports = [s.port for s in servers]
                prefix, n = f"{count} x uvicorn, {way}:", args.entries
                try:
                    if way == "http":
                        # Fresh voters per run: each run casts first votes, then changes them.
                        voters = [Voter(session=key) for key in keys]
                        http = functools.partial(
                            run_pass, ports, voters, path=path, connections=args.connections
                        )
                        page: list[bytes | None] = [None] * len(voters)
                        measure(f"{prefix} load the page", servers, http(page), loop, entries=0)
                        for kind in ("first", "changed"):
                            work: list[bytes | None] = [
                                ballot_body(v, ideas, args.entries, rng) for v in voters
                            ]
                            votes = http(work)
                            measure(f"{prefix} {kind} votes", servers, votes, loop, entries=n)
                    else:
                        sockets = loop.run_until_complete(sockets_open(ports, keys))
                        for kind in ("first", "changed"):
                            ballots = socket_ballots(ideas, args.entries, len(keys), rng)
                            run = socket_pass(sockets, ballots, round_id)
                            measure(f"{prefix} {kind} votes", servers, run, loop, entries=n)
                        for voter in sockets:
                            if voter.client is not None:
                                voter.client.abort()
                    # What the database holds: every voter's ballot, every entry.
                    held = deployment.manage(
                        "shell", "-v", "0", "-c", STORED.format(round=round_id)
                    )
                    print(f"  stored: {held.strip()}", flush=True)
                finally:
                    for server in servers:
                        server.stop()
                if index < len(runs) - 1:
                    # The next run's voters vote for the first time again.
                    shell(deployment, CLEAR.format(round=round_id))
            loop.close()
        finally:
            deployment.close()
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in Path(tmp).glob("*.log"):
                subprocess.run(["cp", str(log), str(args.logs)], check=False)  # noqa: S603,S607
            print(f"server logs in {args.logs}")


if __name__ == "__main__":
    main()
