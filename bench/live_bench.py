"""Live fan-out benchmark: real server processes, thousands of sockets.

Run from the repository root (``make bench`` runs the default suite):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
    REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python -m bench.live_bench [--suite matrix,storm,hold,two,posting]
            [--watchers 1000] [--rates 20,50] [--seconds 8] [--storm 5000]
            [--hold 10000] [--posting-rate 200] [--gen-procs 1]

It reuses the test harness (tests/servers.py): a fresh database (PostgreSQL
when DATABASE_URL names one, else SQLite) seeded with ``seed_demo
--participants N``, a Redis slice of its own (database ``JAM_E2E_REDIS_DB``,
default 12 here, and a channel prefix of its own), and server processes
started with ``tests.e2e.server_settings``. Sockets sign in with sessions
written by ``manage.py bench_sessions N`` (the login form would take longer
than the benchmark); the connect, storm and hold suites run once on those
sessions and once on socket tickets (``--auth``, jams/tickets.py), the way
jam.js reconnects.

Every socket is a real member's: watchers subscribe to one topic and
``resume`` as jam.js does; posters (other members, at most 4 posts/s each,
under the protocol's 5/s limit) post new ideas into that topic through the
socket. Each post's body carries its send time (``zq<time>qz``), and every
watcher computes post-to-deliver latency from it on arrival (same clock).

Pinning: with ``taskset`` and two or more cores, the server runs on core 0
and the load generator's processes on core 1 (Redis and PostgreSQL are not
ours to pin and float). The generator measures and prints its own CPU: a
generator near 100 % means the generator, not the server, is the limit.

Reported per run: sockets connected, deliveries delivered/expected, the
delivered rate, p50/p95/p99 latency, server CPU (utime+stime from
/proc/<pid>/stat over the run), server CPU per delivery, server RSS growth
per connection, generator CPU, and ``uptime`` load before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.parse
import uuid
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.wsclient import HandshakeFailed, WSClient  # noqa: E402
from tests.servers import READY_SECONDS, STOP_SECONDS, Deployment, Server  # noqa: E402

PASSWORD = "bench-Jam-pass-2026"  # noqa: S105 - throw-away benchmark accounts
SERVER_CORE = 0
GEN_CORE = 1
TICK = 0.25  # how often workers publish their delivery counts


def cores() -> int:
    return len(os.sched_getaffinity(0))


def can_pin() -> bool:
    return shutil.which("taskset") is not None and cores() >= 2


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


# --- CPU caps ------------------------------------------------------------------------


class CpuCap:
    """A process held to a share of one core by a CFS quota in a cgroup of its
    own: cgroup v2's ``cpu.max`` where the unified hierarchy has the cpu
    controller, else cgroup v1's ``cpu.cfs_quota_us``. Needs root (or a
    delegated cgroup); raises SystemExit with the reason otherwise.

    The two-process suite caps every server at the same share so that one
    and two processes are compared at the same CPU per process: on two cores
    the load generator, Redis and PostgreSQL would otherwise take what the
    second process needs, and the ratio would measure the machine."""

    PERIOD_US = 100_000

    def __init__(self, name: str, share: float) -> None:
        if not 0 < share <= cores():
            raise SystemExit(f"--server-cpu {share}: must be above 0 and at most {cores()}")
        quota = int(share * self.PERIOD_US)
        unified = Path("/sys/fs/cgroup")
        controllers = unified / "cgroup.controllers"
        v2 = controllers.exists() and "cpu" in controllers.read_text().split()
        self.path = (unified if v2 else unified / "cpu") / f"jam-bench-{name}-{os.getpid()}"
        try:
            self.path.mkdir()
            if v2:
                (self.path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
            else:
                (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
                (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        except OSError as exc:
            raise SystemExit(f"--server-cpu needs a writable cpu cgroup: {exc}") from exc
        self.share = share

    def add(self, pid: int) -> None:
        """Move the process (all its threads) into the capped group."""
        (self.path / "cgroup.procs").write_text(str(pid))

    def throttled_seconds(self) -> float:
        """Time the quota held the group back so far (``cpu.stat``)."""
        stat = dict(
            line.split() for line in (self.path / "cpu.stat").read_text().splitlines() if line
        )
        if "throttled_usec" in stat:
            return int(stat["throttled_usec"]) / 1e6
        return int(stat.get("throttled_time", 0)) / 1e9

    def remove(self) -> None:
        """Delete the group (its process has exited)."""
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)  # the exiting process still counts a moment


# --- Servers -------------------------------------------------------------------------


class BenchServer(Server):
    """A tests.servers.Server pinned with taskset, optionally serving another
    ASGI app (the bare reference) or another uvicorn WebSocket implementation."""

    def __init__(
        self,
        deployment: Deployment,
        *,
        kind: str,
        name: str,
        env: dict[str, str] | None = None,
        app: str | None = None,
        ws: str | None = None,
        core: int | None = SERVER_CORE,
        tree: Path | None = None,
        cpu: float | None = None,
    ) -> None:
        if tree is not None:
            # The baseline's code first on the path (the editable install's
            # finder comes after sys.path, so it does not interfere).
            env = {**(env or {}), "PYTHONPATH": str(tree)}
        super().__init__(deployment, kind=kind, name=name, env=env)
        self.app = app
        self.ws = ws
        self.core = core
        self.tree = tree
        self.cap = CpuCap(name, cpu) if cpu is not None else None

    def start(self, timeout: float = READY_SECONDS, *, wait: bool = True) -> None:
        super().start(timeout, wait=wait)
        if self.cap is not None and self.process is not None:
            self.cap.add(self.process.pid)  # once ready: start-up is not what is measured

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        super().stop(timeout)
        if self.cap is not None:
            self.cap.remove()

    def command(self) -> list[str]:
        command = super().command()
        if self.app:
            command[-1] = self.app
        if self.kind == "uvicorn":
            if "--ws" in command:
                command[command.index("--ws") + 1] = self.ws or UVICORN_WS
            else:
                command[-1:-1] = ["--ws", self.ws or UVICORN_WS]
            # As the README runs live processes: uvicorn logs every accepted
            # socket at INFO, a fifth of a connect storm's CPU.
            command[-1:-1] = ["--log-level", "warning"]
            if self.tree is not None:
                command[-1:-1] = ["--app-dir", str(self.tree)]
        else:
            # daphne -b/-p listens with Twisted's default backlog of 50: a
            # connect storm overflows it and clients wait for SYN retries.
            i = command.index("-b")
            del command[i : i + 4]
            command[1:1] = ["-e", f"tcp:port={self.port}:interface=127.0.0.1:backlog=4096"]
        if self.core is not None and can_pin():
            command = ["taskset", "-c", str(self.core), *command]
        return command


def start_server(
    deployment: Deployment,
    kind: str,
    name: str,
    *,
    env: dict[str, str] | None = None,
    app: str | None = None,
    ws: str | None = None,
    core: int | None = SERVER_CORE,
    tree: Path | None = None,
    cpu: float | None = None,
) -> BenchServer:
    if tree is not None and kind != "uvicorn":
        raise ValueError("baseline servers run on uvicorn only (--app-dir)")
    # Tickets are made once, before the suites: let them outlive the run.
    env = {"JAM_WS_TICKET_SECONDS": "86400", **(env or {})}
    server = BenchServer(
        deployment, kind=kind, name=name, env=env, app=app, ws=ws, core=core, tree=tree, cpu=cpu
    )
    deployment.servers.append(server)
    server.start()
    if PROFILE_DIR is not None and server.process is not None:
        # py-spy (pip install py-spy) samples the server for the whole run:
        # collapsed stacks, for flamegraph.pl or a quick sort | uniq; only
        # the thread holding the GIL, so samples are CPU, not waiting.
        PROFILE_DIR.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen(  # noqa: S603 - fixed command line
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(server.process.pid),
                "--format",
                "raw",
                "--rate",
                "200",
                "--nonblocking",
                "--gil",
                "-o",
                str(PROFILE_DIR / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        PROFILERS.append(spy)
    return server


PROFILE_DIR: Path | None = None
# uvicorn's WebSocket implementation (--uvicorn-ws): "websockets-sansio" (as
# tests/servers.py and the README run it), "websockets" (uvicorn's default,
# its legacy one) or "wsproto".
UVICORN_WS = "websockets-sansio"
PROFILERS: list[subprocess.Popen[bytes]] = []
# --baseline REV: that commit's code, exported with git archive, for
# "before" rows run side by side with this checkout's ("after").
BASELINE: tuple[str, Path] | None = None


def variants() -> list[tuple[str, Path | None]]:
    """(label prefix, code tree) pairs to run a suite's server with."""
    if BASELINE is None:
        return [("", None)]
    return [(f"before ({BASELINE[0]}) ", BASELINE[1]), ("after ", None)]


def baseline_export(rev: str, into: Path) -> Path:
    """The files of commit ``rev``, without touching this checkout."""
    into.mkdir(parents=True)
    archive = subprocess.run(  # noqa: S603 - fixed command, our own repository
        ["git", "-C", str(REPO), "archive", "--format=tar", rev],  # noqa: S607
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


# --- Load generator processes ---------------------------------------------------------


@dataclass
class WorkerSpec:
    port: int
    mode: str  # "jam" or "bare"
    sessions: list[str]
    topic: int = 0
    setup: str = "live"  # "live": subscribe + resume; "hello": stop at the snapshot
    concurrency: int = 200  # connects in flight (0: all at once, a storm)
    core: int | None = GEN_CORE
    # Posters only: the ports of all servers, sockets spread over them in
    # turn (as a load balancer would); empty: all on ``port``.
    ports: list[int] = field(default_factory=list)
    # Seconds during which a refused or failed connect is tried again after
    # a full-jitter backoff (0.25 s doubling to 4 s), as jam.js does; 0: never.
    retry: float = 0.0
    # Socket tickets by session key (jams/tickets.py): connect with
    # ?ticket=..., as jam.js does; the session cookie is sent as well.
    tickets: dict[str, str] | None = None
    # Ask for batched frames (?batch=1), as jam.js does.
    batch: bool = False


def _pin(core: int | None) -> None:
    raise_nofile()
    if core is not None and cores() >= 2:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {core})


def _run(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


async def _command(commands: Any) -> Any:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, commands.get)


class Watchers:
    """The watcher sockets of one generator process."""

    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.clients: list[WSClient] = []
        self.failures: dict[str, int] = {}
        self.latencies = array("d")
        self.delivered = 0
        self.first = 0.0
        self.last = 0.0
        self.measuring = False
        self.retries = 0
        self.connected_at: list[float] = []

    def on_live(self, payload: bytes, now: float) -> None:
        """Count every post in the frame (a batching socket's frame holds
        several, a line each)."""
        if not self.measuring:
            return
        i = payload.find(b"zq")
        while i >= 0:
            j = payload.find(b"qz", i + 2)
            self.delivered += 1
            self.latencies.append(now - float(payload[i + 2 : j]))
            if not self.first:
                self.first = now
            self.last = now
            i = payload.find(b"zq", j + 2)

    async def open_one(self, sessionid: str) -> None:
        """Connect one socket; with ``spec.retry``, again after a refusal,
        with full-jitter backoff. Failures count each socket's last outcome."""
        deadline = time.monotonic() + self.spec.retry
        backoff = 0.25
        while True:
            failure = await self.attempt(sessionid)
            if failure is None:
                return
            if time.monotonic() + backoff > deadline:
                self.failures[failure] = self.failures.get(failure, 0) + 1
                return
            self.retries += 1
            await asyncio.sleep(random.uniform(0, backoff))
            backoff = min(4.0, backoff * 2)

    async def attempt(self, sessionid: str) -> str | None:
        """One connect: None when live, else what went wrong."""
        spec = self.spec
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        live = False
        client: WSClient | None = None

        def on_text(payload: bytes, now: float) -> None:
            if live:
                self.on_live(payload, now)
                return
            for line in payload.split(b"\n"):
                message = json.loads(line)
                if message.get("type") == "event":
                    self.on_live(line, now)
                else:
                    inbox.put_nowait(message)

        async def expect(kind: str) -> dict[str, Any]:
            while True:
                getting = asyncio.ensure_future(inbox.get())
                assert client is not None
                await asyncio.wait([getting, client.closed], return_when=asyncio.FIRST_COMPLETED)
                if not getting.done():
                    getting.cancel()
                    raise ConnectionRefusedError("closed before the hello")  # e.g. 4503
                message = getting.result()
                if message.get("type") == kind:
                    return message
                if message.get("type") == "error":
                    raise RuntimeError(f"error: {message.get('code')}")

        try:
            if spec.mode == "bare":
                client = await WSClient.open(
                    "127.0.0.1", spec.port, "/ws/", on_text=self.on_live, within=60
                )
                self.clients.append(client)
                return None
            query = {"batch": "1"} if spec.batch else {}
            if spec.tickets:
                query["ticket"] = spec.tickets[sessionid]
            path = "/ws/jams/demo/" + ("?" + urllib.parse.urlencode(query) if query else "")
            client = await WSClient.open(
                "127.0.0.1",
                spec.port,
                path,
                headers={
                    "Cookie": f"sessionid={sessionid}",
                    "Origin": f"http://127.0.0.1:{spec.port}",
                },
                on_text=on_text,
                within=60,
            )
            async with asyncio.timeout(60):
                hello = await expect("hello")
                if spec.setup == "live":
                    client.send_text(json.dumps({"type": "subscribe", "topic": spec.topic}))
                    await expect("subscribed")
                    client.send_text(json.dumps({"type": "resume", "after": hello["seq"]}))
                    await expect("resumed")
            live = True
            self.clients.append(client)
            self.connected_at.append(time.monotonic())
            return None
        except HandshakeFailed as exc:
            return f"http_{exc.status}"
        except Exception as exc:
            if client is not None:
                client.abort()
            return type(exc).__name__


async def _watch(spec: WorkerSpec, commands: Any, results: Any, counter: Any) -> None:
    watchers = Watchers(spec)
    started = time.monotonic()
    connect_cpu0 = time.process_time()
    if spec.concurrency:
        gate = asyncio.Semaphore(spec.concurrency)

        async def gated(sessionid: str) -> None:
            async with gate:
                await watchers.open_one(sessionid)

        await asyncio.gather(*(gated(s) for s in spec.sessions))
    else:
        await asyncio.gather(*(watchers.open_one(s) for s in spec.sessions))
    accepted = sorted(t - started for t in watchers.connected_at)
    results.put(
        {
            "connected": len(watchers.clients),
            "failures": watchers.failures,
            "connect_seconds": time.monotonic() - started,
            "connect_cpu": time.process_time() - connect_cpu0,
            "retries": watchers.retries,
            "accepted_5s": sum(1 for t in accepted if t <= 5.0),
            "accepted_p50": accepted[len(accepted) // 2] if accepted else float("nan"),
        }
    )

    async def publish() -> None:
        while True:
            counter.value = watchers.delivered
            await asyncio.sleep(TICK)

    publisher = asyncio.create_task(publish())
    cpu0 = 0.0
    while True:
        command = await _command(commands)
        if command == "measure":
            watchers.latencies = array("d")
            watchers.delivered = watchers.first = watchers.last = 0
            watchers.measuring = True
            cpu0 = cpu_seconds(os.getpid())
        elif command == "report":
            watchers.measuring = False
            results.put(
                {
                    "delivered": watchers.delivered,
                    "latencies": watchers.latencies.tobytes(),
                    "first": watchers.first,
                    "last": watchers.last,
                    "cpu": cpu_seconds(os.getpid()) - cpu0,
                    "open": sum(1 for c in watchers.clients if not c.closed.done()),
                }
            )
        elif command == "quit":
            publisher.cancel()
            for client in watchers.clients:
                client.abort()
            return


def watcher_main(spec: WorkerSpec, commands: Any, results: Any, counter: Any) -> None:
    _pin(spec.core)
    _run(_watch(spec, commands, results, counter))


async def _post(spec: WorkerSpec, commands: Any, results: Any) -> None:
    """Posters: open sockets, then on ("post", rate, seconds) post at that
    total rate, round-robin over the sockets, and report acks."""
    sent: dict[str, float] = {}
    bare_sent: dict[int, list[float]] = {}
    acks = array("d")
    errors: dict[str, int] = {}
    clients: list[WSClient] = []
    failures: dict[str, int] = {}

    def on_text_for(index: int) -> Any:
        def on_text(payload: bytes, now: float) -> None:
            if spec.mode == "bare":
                if payload == b"ack" and bare_sent.get(index):
                    acks.append(now - bare_sent[index].pop(0))
                return
            if payload.startswith(b'{"type":"event"'):
                return
            message = json.loads(payload)
            kind = message.get("type")
            if kind == "ack":
                t = sent.pop(str(message.get("client_id")), None)
                if t is not None:
                    acks.append(now - t)
            elif kind == "error":
                code = str(message.get("code"))
                errors[code] = errors.get(code, 0) + 1

        return on_text

    for index, sessionid in enumerate(spec.sessions):
        try:
            path = "/ws/" if spec.mode == "bare" else "/ws/jams/demo/"
            port = spec.ports[index % len(spec.ports)] if spec.ports else spec.port
            headers = {
                "Cookie": f"sessionid={sessionid}",
                "Origin": f"http://127.0.0.1:{port}",
            }
            client = await WSClient.open(
                "127.0.0.1", port, path, headers=headers, on_text=on_text_for(index)
            )
            clients.append(client)
        except Exception as exc:
            failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
    await asyncio.sleep(0.5)  # hello and the first presence go by
    results.put({"connected": len(clients), "failures": failures})
    pad = "x" * 120
    while True:
        command = await _command(commands)
        if command == "quit":
            for client in clients:
                client.abort()
            return
        _, rate, seconds = command
        acks = array("d")
        errors.clear()
        sent.clear()
        total = int(rate * seconds)
        loop = asyncio.get_running_loop()
        cpu0 = cpu_seconds(os.getpid())
        start = loop.time()
        wall_start = time.time()
        for k in range(total):
            due = start + k / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            client = clients[k % len(clients)]
            now = time.time()
            if spec.mode == "bare":
                text = f"post:zq{now:.6f}qz {pad}"
                text += "x" * max(0, 200 - len(text))
                bare_sent.setdefault(k % len(clients), []).append(now)
                client.send_text(text)
            else:
                client_id = str(uuid.uuid4())
                sent[client_id] = now
                client.send_text(
                    json.dumps(
                        {
                            "type": "post",
                            "client_id": client_id,
                            "topic": spec.topic,
                            "title": f"Bench idea {k}",
                            "body": f"zq{now:.6f}qz {pad}",
                        }
                    )
                )
        post_seconds = loop.time() - start
        # Wait for the last acks (at most 10 s).
        deadline = loop.time() + 10
        while len(acks) + sum(errors.values()) < total and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        results.put(
            {
                "posts": total,
                "acked": len(acks),
                "acks": acks.tobytes(),
                "errors": dict(errors),
                "post_seconds": post_seconds,
                "start": wall_start,
                "cpu": cpu_seconds(os.getpid()) - cpu0,
            }
        )


def poster_main(spec: WorkerSpec, commands: Any, results: Any) -> None:
    _pin(spec.core)
    _run(_post(spec, commands, results))


class Generator:
    """Watcher processes plus one poster process, driven from here."""

    def __init__(
        self,
        *,
        watcher_specs: list[WorkerSpec],
        poster_spec: WorkerSpec | None,
    ) -> None:
        ctx = mp.get_context("spawn")
        self.ctx = ctx
        self.watchers: list[tuple[Any, Any, Any, Any]] = []
        for spec in watcher_specs:
            commands, results, counter = ctx.Queue(), ctx.Queue(), ctx.Value("q", 0)
            process = ctx.Process(
                target=watcher_main, args=(spec, commands, results, counter), daemon=True
            )
            self.watchers.append((process, commands, results, counter))
        self.poster: tuple[Any, Any, Any] | None = None
        if poster_spec is not None:
            commands, results = ctx.Queue(), ctx.Queue()
            process = ctx.Process(
                target=poster_main, args=(poster_spec, commands, results), daemon=True
            )
            self.poster = (process, commands, results)

    def start(self, timeout: float = 300) -> dict[str, Any]:
        """Start posters first (they are few), then watchers; wait until connected."""
        report: dict[str, Any] = {"posters": 0, "connected": 0, "failures": {}}
        if self.poster is not None:
            self.poster[0].start()
            got = self.poster[2].get(timeout=timeout)
            report["posters"] = got["connected"]
            for key, n in got["failures"].items():
                report["failures"][f"poster_{key}"] = n
        started = time.monotonic()
        for process, *_ in self.watchers:
            process.start()
        seconds = 0.0
        got_all = []
        for _, _, results, _ in self.watchers:
            got = results.get(timeout=timeout)
            got_all.append(got)
            report["connected"] += got["connected"]
            seconds = max(seconds, got["connect_seconds"])
            for key, n in got["failures"].items():
                report["failures"][key] = report["failures"].get(key, 0) + n
        report["connect_seconds"] = seconds
        report["connect_cpu"] = sum(g.get("connect_cpu", 0.0) for g in got_all)
        report["retries"] = sum(g.get("retries", 0) for g in got_all)
        report["accepted_5s"] = sum(g.get("accepted_5s", 0) for g in got_all)
        report["accepted_p50"] = max((g.get("accepted_p50", 0.0) for g in got_all), default=0.0)
        report["connect_wall"] = time.monotonic() - started
        return report

    def pids(self) -> list[int]:
        pids = [p.pid for p, *_ in self.watchers]
        if self.poster is not None:
            pids.append(self.poster[0].pid)
        return pids

    def delivered_so_far(self) -> int:
        return sum(counter.value for *_, counter in self.watchers)

    def measure(self, *, rate: float, seconds: float, expected_per_post: int) -> dict[str, Any]:
        assert self.poster is not None
        for _, commands, _, _ in self.watchers:
            commands.put("measure")
        time.sleep(0.3)
        self.poster[1].put(("post", rate, seconds))
        posted = self.poster[2].get(timeout=seconds + 120)
        # Drain: until every expected delivery arrived, or nothing moved for 2 s.
        expected = posted["acked"] * expected_per_post
        last, still_since = -1, time.monotonic()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now_count = self.delivered_so_far()
            if now_count >= expected:
                break
            if now_count != last:
                last, still_since = now_count, time.monotonic()
            elif time.monotonic() - still_since > 2.0:
                break
            time.sleep(TICK)
        time.sleep(TICK * 2)
        reports = []
        for _, commands, _, _ in self.watchers:
            commands.put("report")
        for _, _, results, _ in self.watchers:
            reports.append(results.get(timeout=60))
        latencies: list[float] = []
        for r in reports:
            a = array("d")
            a.frombytes(r["latencies"])
            latencies.extend(a)
        latencies.sort()
        acks = array("d")
        acks.frombytes(posted["acks"])
        ack_sorted = sorted(acks)
        delivered = sum(r["delivered"] for r in reports)
        last_receipt = max((r["last"] for r in reports), default=0.0)
        span = max(1e-9, (last_receipt or posted["start"]) - posted["start"])
        return {
            "posts": posted["posts"],
            "acked": posted["acked"],
            "post_errors": posted["errors"],
            "post_seconds": posted["post_seconds"],
            "delivered": delivered,
            "expected": expected,
            "rate": delivered / span,
            "span": span,
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "ack_p50": percentile(ack_sorted, 0.50),
            "ack_p95": percentile(ack_sorted, 0.95),
            "ack_p99": percentile(ack_sorted, 0.99),
            "gen_cpu": sum(r["cpu"] for r in reports) + posted["cpu"],
            "open": sum(r["open"] for r in reports),
        }

    def stop(self) -> None:
        if self.poster is not None:
            self.poster[1].put("quit")
        for _, commands, _, _ in self.watchers:
            commands.put("quit")
        for process in [p for p, *_ in self.watchers] + ([self.poster[0]] if self.poster else []):
            process.join(10)
            if process.is_alive():
                process.kill()
                process.join(5)


def split(items: list[str], parts: int) -> list[list[str]]:
    return [items[i::parts] for i in range(parts)]


# --- Runs -------------------------------------------------------------------------------


@dataclass
class Bench:
    args: argparse.Namespace
    deployment: Deployment
    sessions: list[str]
    topic: int
    tickets: dict[str, str] = field(default_factory=dict)
    """A socket ticket per session key, for the demo jam."""
    rows: list[dict[str, Any]] = field(default_factory=list)

    def watcher_sessions(self, n: int) -> list[str]:
        return self.sessions[:n]

    def poster_sessions(self, n: int) -> list[str]:
        return self.sessions[-n:]

    def run_fanout(
        self,
        label: str,
        servers: list[BenchServer],
        *,
        mode: str,
        watchers: int,
        rates: list[float],
        posters: int | None = None,
        concurrency: int = 50,
        gen_core: int | None = GEN_CORE,
        batch: bool = False,
        spread_posters: bool = False,
    ) -> list[dict[str, Any]]:
        """Watchers split evenly over ``servers``, posters too with
        ``spread_posters`` (else all on the first one); with ``batch`` the
        watchers ask for batched frames (?batch=1)."""
        args = self.args
        posters = posters or max(2, int(max(rates) // 4) + 1)
        procs = max(1, args.gen_procs)
        watcher_specs = []
        for i, server in enumerate(servers):
            share = self.watcher_sessions(watchers)[i :: len(servers)]
            for part in split(share, procs):
                watcher_specs.append(
                    WorkerSpec(
                        port=server.port,
                        mode=mode,
                        sessions=part,
                        topic=self.topic,
                        concurrency=concurrency,
                        core=gen_core,
                        batch=batch,
                    )
                )
        poster_spec = WorkerSpec(
            port=servers[0].port,
            mode=mode,
            sessions=self.poster_sessions(posters),
            topic=self.topic,
            core=gen_core,
            ports=[s.port for s in servers] if spread_posters else [],
        )
        pids = [s.process.pid for s in servers if s.process is not None]
        rss0 = sum(rss_bytes(pid) for pid in pids)
        generator = Generator(watcher_specs=watcher_specs, poster_spec=poster_spec)
        rows = []
        try:
            connected = generator.start()
            time.sleep(1.0)
            rss1 = sum(rss_bytes(pid) for pid in pids)
            per_conn = (rss1 - rss0) / max(1, connected["connected"])
            for rate in rates:
                load_before = loadavg()
                cpu0 = [cpu_seconds(pid) for pid in pids]
                caps = [s.cap for s in servers if s.cap is not None]
                throttled0 = [c.throttled_seconds() for c in caps]
                t0 = time.monotonic()
                result = generator.measure(
                    rate=rate, seconds=args.seconds, expected_per_post=connected["connected"]
                )
                wall = time.monotonic() - t0
                cpu = [cpu_seconds(pid) - c for pid, c in zip(pids, cpu0, strict=True)]
                row = {
                    "label": label,
                    "offered": rate * connected["connected"],
                    "post_rate": rate,
                    "connected": connected["connected"],
                    "connect_failures": connected["failures"],
                    "connect_seconds": connected["connect_seconds"],
                    "mem_per_conn": per_conn,
                    "server_cpu": [c / wall for c in cpu],
                    "us_per_delivery": sum(cpu) / max(1, result["delivered"]) * 1e6,
                    "gen_cpu_pct": result["gen_cpu"] / wall,
                    # The share of the run each capped server was held back.
                    "throttled": [
                        (c.throttled_seconds() - t) / wall
                        for c, t in zip(caps, throttled0, strict=True)
                    ],
                    "load_before": load_before,
                    "load_after": loadavg(),
                    **result,
                }
                rows.append(row)
                print_row(row)
        finally:
            generator.stop()
        self.rows += rows
        return rows

    def run_connect(
        self,
        label: str,
        server: BenchServer,
        *,
        n: int,
        concurrency: int,
        hold: float = 0,
        retry: float = 0.0,
        tickets: bool = False,
    ) -> dict[str, Any]:
        """Connect ``n`` sockets (``concurrency`` in flight, 0 = all at once),
        to the snapshot only, on sessions or on tickets; report time,
        failures and memory."""
        procs = max(1, self.args.gen_procs)
        specs = [
            WorkerSpec(
                port=server.port,
                mode="jam",
                sessions=part,
                topic=self.topic,
                setup="hello",
                concurrency=concurrency // procs if concurrency else 0,
                retry=retry,
                tickets=self.tickets if tickets else None,
            )
            for part in split(self.watcher_sessions(n), procs)
        ]
        assert server.process is not None
        pid = server.process.pid
        rss0 = rss_bytes(pid)
        cpu0 = cpu_seconds(pid)
        load_before = loadavg()
        generator = Generator(watcher_specs=specs, poster_spec=None)
        try:
            report = generator.start(timeout=600)
            time.sleep(1.0)
            rss1 = rss_bytes(pid)
            still_open = None
            if hold:
                time.sleep(hold)
            for _, commands, _, _ in generator.watchers:
                commands.put("report")
            still_open = sum(r.get(timeout=60)["open"] for _, _, r, _ in generator.watchers)
        finally:
            generator.stop()
        row = {
            "label": label,
            "n": n,
            "connected": report["connected"],
            "failures": report["failures"],
            "seconds": report["connect_seconds"],
            "mem_per_conn": (rss1 - rss0) / max(1, report["connected"]),
            "rss_mb": rss1 / 2**20,
            "server_cpu_s": cpu_seconds(pid) - cpu0,
            "gen_cpu_s": report["connect_cpu"],
            "still_open": still_open,
            "retries": report["retries"],
            "accepted_5s": report["accepted_5s"],
            "accepted_p50": report["accepted_p50"],
            "load_before": load_before,
            "load_after": loadavg(),
        }
        print(
            f"{label}: {row['connected']}/{n} connected in {row['seconds']:.2f} s "
            f"({row['accepted_5s']} within 5 s, half by {row['accepted_p50']:.2f} s, "
            f"{row['retries']} retries), "
            f"failures {row['failures'] or 'none'}, {row['mem_per_conn'] / 1024:.1f} KB/conn, "
            f"RSS {row['rss_mb']:.0f} MB, still open after {hold:.0f} s: {still_open}, "
            f"server CPU {row['server_cpu_s']:.2f} s, generator CPU {row['gen_cpu_s']:.2f} s, "
            f"load {row['load_before']} -> {row['load_after']}",
            flush=True,
        )
        self.rows.append(row)
        return row


def print_row(row: dict[str, Any]) -> None:
    cpu = "+".join(f"{c * 100:.0f}%" for c in row["server_cpu"])
    print(
        f"{row['label']:<28} {row['post_rate']:>5.0f}/s x{row['connected']:<6} "
        f"delivered {row['delivered']}/{row['expected']} "
        f"rate {row['rate']:>8.0f}/s  p50 {row['p50'] * 1e3:7.1f} p95 {row['p95'] * 1e3:7.1f} "
        f"p99 {row['p99'] * 1e3:7.1f} ms  ack p99 {row['ack_p99'] * 1e3:6.1f} ms  "
        f"srv cpu {cpu} ({row['us_per_delivery']:.1f} us/deliv)  gen cpu "
        f"{row['gen_cpu_pct'] * 100:.0f}%  mem {row['mem_per_conn'] / 1024:.1f} KB/conn  "
        f"post errors {row['post_errors'] or '-'} conn failures {row['connect_failures'] or '-'} "
        f"load {row['load_before']} -> {row['load_after']}"
        + (
            "  throttled " + "+".join(f"{t * 100:.0f}%" for t in row["throttled"])
            if row.get("throttled")
            else ""
        ),
        flush=True,
    )


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of the fan-out rows, with ratios to the bare reference
    at the same post rate."""

    def server_of(label: str) -> str:
        return "daphne" if "daphne" in label else "uvicorn"

    # The reference of a row is the bare app on the same server at the same rate.
    bare = {
        (server_of(r["label"]), r["post_rate"]): r for r in rows if r["label"].startswith("bare")
    }
    lines = [
        "| server / layer | posts/s x sockets | delivered/expected | deliveries/s | vs bare "
        "| p50 ms | p95 ms | p99 ms | p99 vs bare | server CPU | us/delivery | gen CPU "
        "| KB/conn | load before -> after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "post_rate" not in r:
            continue
        ref = bare.get((server_of(r["label"]), r["post_rate"]))
        ratio = f"{r['rate'] / ref['rate']:.2f}" if ref else "-"
        p99_ratio = f"{r['p99'] / ref['p99']:.1f}x" if ref and ref["p99"] > 0 else "-"
        cpu = "+".join(f"{c * 100:.0f}%" for c in r["server_cpu"])
        lines.append(
            f"| {r['label']} | {r['post_rate']:.0f} x {r['connected']} "
            f"| {r['delivered']}/{r['expected']} | {r['rate']:,.0f} | {ratio} "
            f"| {r['p50'] * 1e3:.1f} | {r['p95'] * 1e3:.1f} | {r['p99'] * 1e3:.1f} | {p99_ratio} "
            f"| {cpu} | {r['us_per_delivery']:.1f} | {r['gen_cpu_pct'] * 100:.0f}% "
            f"| {r['mem_per_conn'] / 1024:.1f} | {r['load_before']} -> {r['load_after']} |"
        )
    return "\n".join(lines)


def posting_table(rows: list[dict[str, Any]]) -> str:
    """Acknowledgement figures of the posting rows: offered vs acknowledged."""
    lines = [
        "| run | offered posts/s x watchers | acked/posted | acked/s | ack p50 ms | ack p95 ms "
        "| ack p99 ms | delivered/expected | deliver p99 ms | server CPU | errors "
        "| load before -> after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "posting" not in r["label"] or "post_rate" not in r:
            continue
        cpu = "+".join(f"{c * 100:.0f}%" for c in r["server_cpu"])
        lines.append(
            f"| {r['label']} | {r['post_rate']:.0f} x {r['connected']} | {r['acked']}/{r['posts']} "
            f"| {r['acked'] / max(1e-9, r['post_seconds']):.0f} | {r['ack_p50'] * 1e3:.1f} "
            f"| {r['ack_p95'] * 1e3:.1f} | {r['ack_p99'] * 1e3:.1f} "
            f"| {r['delivered']}/{r['expected']} | {r['p99'] * 1e3:.1f} | {cpu} "
            f"| {r['post_errors'] or '-'} | {r['load_before']} -> {r['load_after']} |"
        )
    return "\n".join(lines)


# --- Suites -----------------------------------------------------------------------------


LAYERS = ("memory", "redis", "redis-pubsub")


def suite_matrix(bench: Bench) -> None:
    args = bench.args
    rates = [float(r) for r in args.rates.split(",")]
    layers = [x for x in args.layers.split(",") if x == "memory" or bench.deployment.redis]
    for kind in args.servers.split(","):
        server = start_server(bench.deployment, kind, f"bare-{kind}", app="bench.bare_asgi:app")
        try:
            bench.run_fanout(
                f"bare {kind}", [server], mode="bare", watchers=args.watchers, rates=rates
            )
        finally:
            server.stop()
        for layer in layers:
            for prefix, tree in variants() if kind == "uvicorn" else [("", None)]:
                server = start_server(
                    bench.deployment,
                    kind,
                    f"{prefix.split(' ')[0]}-{kind}-{layer}" if prefix else f"{kind}-{layer}",
                    env={"CHANNEL_LAYER": layer},
                    tree=tree,
                )
                try:
                    for i, framing in enumerate(frames(args, tree)):
                        if i:
                            server.stop()  # a fresh process: no backlog or growth carried over
                            server.start()
                        bench.run_fanout(
                            f"{prefix}{kind} {layer}" + (" batch" if framing == "batch" else ""),
                            [server],
                            mode="jam",
                            watchers=args.watchers,
                            rates=rates,
                            batch=framing == "batch",
                        )
                finally:
                    server.stop()


def suite_connect(bench: Bench) -> None:
    """Connects one at a time: the server's CPU and the wall time per connect."""
    layer = "redis-pubsub" if bench.deployment.redis else "memory"
    runs = [
        (prefix, tree, kind)
        for kind in bench.args.servers.split(",")
        for prefix, tree in (variants() if kind == "uvicorn" else [("", None)])
    ]
    for prefix, tree, kind in runs:
        server = start_server(
            bench.deployment,
            kind,
            f"connect-{kind}{'-base' if tree else ''}",
            env={"CHANNEL_LAYER": layer},
            tree=tree,
        )
        try:
            for auth in auths(bench.args, tree):
                row = bench.run_connect(
                    f"{prefix}one at a time {kind} {layer} {auth}",
                    server,
                    n=200,
                    concurrency=1,
                    tickets=auth == "ticket",
                )
                print(
                    f"  {row['server_cpu_s'] / 200 * 1e3:.1f} ms server CPU and "
                    f"{row['seconds'] / 200 * 1e3:.1f} ms wall per connect",
                    flush=True,
                )
        finally:
            server.stop()


def frames(args: argparse.Namespace, tree: Path | None) -> list[str]:
    """How watchers take live events (``--frames``): one frame per event
    ("single") or batched frames ("batch", ?batch=1, as jam.js); a baseline
    tree that does not batch runs single only."""
    chosen = [f for f in args.frames.split(",") if f]
    batches = tree is None or "batching" in (tree / "jams" / "consumers.py").read_text()
    return [f for f in chosen if f == "single" or batches]


def auths(args: argparse.Namespace, tree: Path | None) -> list[str]:
    """The ways sockets sign in for this run (``--auth``); a baseline tree
    (``--baseline``) that does not know tickets runs on sessions only."""
    chosen = [a for a in args.auth.split(",") if a]
    tickets = tree is None or (tree / "jams" / "tickets.py").exists()
    return [a for a in chosen if a == "session" or tickets]


def suite_storm(bench: Bench) -> None:
    args = bench.args
    layer = "redis-pubsub" if bench.deployment.redis else "memory"
    configs: list[tuple[str, str, str | None, str, Path | None]] = [
        ("uvicorn", layer, None, prefix, tree) for prefix, tree in variants()
    ]
    configs += [
        (kind, layer, None, "", None) for kind in args.servers.split(",") if kind != "uvicorn"
    ]
    if bench.deployment.redis and args.storm_pool_check:
        # What the pool cap of redis-py (100) does to a storm, for the record.
        configs.insert(0, ("uvicorn", "redis", "100", "", None))
    for kind, lay, pool, prefix, tree in configs:
        env = {"CHANNEL_LAYER": lay}
        if pool:
            env["REDIS_MAX_CONNECTIONS"] = pool
        server = start_server(
            bench.deployment,
            kind,
            f"storm-{kind}-{lay}-{pool or 'sized'}{'-base' if tree else ''}",
            env=env,
            tree=tree,
        )
        try:
            pool_note = f" pool {pool}" if pool else ""
            first = True
            for auth in auths(args, tree):
                for retry in [0.0] + ([args.storm_retry] if args.storm_retry else []):
                    if not first:
                        server.stop()  # every storm meets a fresh process
                        server.start()
                    first = False
                    bench.run_connect(
                        f"{prefix}storm {kind} {lay}{pool_note} {auth}"
                        + (" with retries" if retry else ""),
                        server,
                        n=args.storm,
                        concurrency=0,
                        retry=retry,
                        tickets=auth == "ticket",
                    )
        finally:
            server.stop()


def suite_hold(bench: Bench) -> None:
    args = bench.args
    layer = "redis-pubsub" if bench.deployment.redis else "memory"
    runs = [
        (prefix, tree, kind)
        for kind in args.hold_servers.split(",")
        for prefix, tree in (variants() if kind == "uvicorn" else [("", None)])
    ]
    for prefix, tree, kind in runs:
        server = start_server(
            bench.deployment,
            kind,
            f"hold-{kind}{'-base' if tree else ''}",
            env={"CHANNEL_LAYER": layer},
            tree=tree,
        )
        try:
            for i, auth in enumerate(auths(args, tree)):
                if i:
                    server.stop()  # every hold starts from an empty process
                    server.start()
                bench.run_connect(
                    f"{prefix}hold {kind} {layer} {auth}",
                    server,
                    n=args.hold,
                    concurrency=args.hold_concurrency,
                    hold=args.hold_seconds,
                    tickets=auth == "ticket",
                )
        finally:
            server.stop()


def suite_two(bench: Bench) -> None:
    """One process vs two sharing Redis (pub/sub), same watchers and offered
    load; with two, watchers and posters are spread over both, as a load
    balancer would (posting into one jam through one process bound the
    second process's share before). With ``--server-cpu`` every server is
    capped at that share of a core (CpuCap), so both runs give each process
    the same CPU; the rows then say ``cap``. ``--two-rate`` takes a list
    of post rates per process: N processes are offered N times each rate,
    so every process sees the same load in both runs, and the sweep shows
    where each setup stops keeping up. ``--two-repeats`` alternates the
    one- and two-process runs that many times."""
    args = bench.args
    if not bench.deployment.redis:
        print("two servers: skipped (needs REDIS_URL)")
        return
    per_process = [float(r) for r in str(args.two_rate).split(",")]
    env = {"CHANNEL_LAYER": "redis-pubsub"}
    cap = args.server_cpu
    runs = ((1, [SERVER_CORE]), (2, [SERVER_CORE, GEN_CORE])) * max(1, args.two_repeats)
    for framing in frames(args, None):
        batch = framing == "batch"
        tag = " batch" if batch else ""
        if cap is not None:
            tag += f" cap {cap:g}"
        for count, cores in runs:
            servers = [
                start_server(
                    bench.deployment, "uvicorn", f"two-{count}-{i}", env=env, core=core, cpu=cap
                )
                for i, core in enumerate(cores)
            ]
            try:
                bench.run_fanout(
                    f"{count} x uvicorn redis-pubsub{tag}",
                    servers,
                    mode="jam",
                    watchers=args.watchers,
                    rates=[rate * count for rate in per_process],
                    gen_core=None,
                    batch=batch,
                    spread_posters=True,
                )
            finally:
                for server in servers:
                    server.stop()


def suite_posting(bench: Bench) -> None:
    args = bench.args
    layer = "redis-pubsub" if bench.deployment.redis else "memory"
    rates = [float(r) for r in str(args.posting_rate).split(",")]
    for prefix, tree in variants():
        for watchers in [int(w) for w in str(args.posting_watchers).split(",")]:
            server = start_server(
                bench.deployment,
                "uvicorn",
                f"posting{'-base' if tree else ''}-{watchers}",
                env={"CHANNEL_LAYER": layer},
                tree=tree,
            )
            try:
                bench.run_fanout(
                    f"{prefix}posting uvicorn {layer}",
                    [server],
                    mode="jam",
                    watchers=watchers,
                    rates=rates,
                    posters=int(max(rates) // 4) + 1,
                )
            finally:
                server.stop()


SUITES = {
    "connect": suite_connect,
    "matrix": suite_matrix,
    "storm": suite_storm,
    "hold": suite_hold,
    "two": suite_two,
    "posting": suite_posting,
}


def machine_facts() -> str:
    def sh(cmd: str) -> str:
        try:
            return subprocess.run(  # noqa: S602 - fixed commands for the report
                cmd, shell=True, capture_output=True, text=True, timeout=10, check=False
            ).stdout.strip()
        except Exception:
            return "?"

    versions = sh(
        f"{sys.executable} -m pip list 2>/dev/null | grep -i -E "
        "'^(django|channels|channels.redis|daphne|uvicorn|websockets|twisted|redis|psycopg|uvloop"
        "|httptools) '"
    )
    return "\n".join(
        [
            f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"nproc: {sh('nproc')}",
            sh("free -h"),
            sh("lscpu | head"),
            f"python: {platform.python_version()}",
            versions,
            f"redis-server: {sh('redis-server --version')}",
            f"postgres: {sh('psql -h 127.0.0.1 -U postgres -Atc "select version()" 2>/dev/null')}",
            f"uptime: {sh('uptime')}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="matrix,storm,hold,two,posting")
    parser.add_argument("--servers", default="daphne,uvicorn")
    parser.add_argument("--layers", default=",".join(LAYERS))
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--rates", default="20,50", help="posts per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--gen-procs", type=int, default=1)
    parser.add_argument("--storm", type=int, default=5000)
    parser.add_argument(
        "--storm-pool-check",
        action="store_true",
        help="also storm with the pool capped at redis-py's default of 100",
    )
    parser.add_argument(
        "--storm-retry",
        type=float,
        default=0.0,
        help="also storm with clients that retry refused connects for this many seconds",
    )
    parser.add_argument(
        "--auth",
        default="session,ticket",
        help="how connect, storm and hold sockets authenticate: session cookie, "
        "socket ticket, or both (each its own run)",
    )
    parser.add_argument(
        "--frames",
        default="single,batch",
        help="fan-out watchers: one frame per event, batched frames (?batch=1), or both",
    )
    parser.add_argument(
        "--uvicorn-ws",
        default="websockets-sansio",
        help="uvicorn's WebSocket implementation: websockets-sansio, websockets (legacy)",
    )
    parser.add_argument("--hold", type=int, default=10000)
    parser.add_argument("--hold-seconds", type=float, default=10.0)
    parser.add_argument("--hold-servers", default="uvicorn")
    parser.add_argument(
        "--two-rate", default="60", help="two suite: posts per second per process, comma-separated"
    )
    parser.add_argument("--two-repeats", type=int, default=1, help="alternate 1 and 2 this often")
    parser.add_argument(
        "--server-cpu",
        type=float,
        help="two suite: cap each server at this share of a core (a cgroup CPU quota)",
    )
    parser.add_argument("--posting-rate", default="200", help="posts per second, comma-separated")
    parser.add_argument("--posting-watchers", default="100", help="comma-separated")
    parser.add_argument("--hold-concurrency", type=int, default=500, help="connects in flight")
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also run matrix, connect, storm, hold and posting on uvicorn with commit REV's code "
        "(git archive), side by side, labelled before/after",
    )
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "jam-bench-logs")
    parser.add_argument("--py-spy", type=Path, help="profile each server with py-spy into this dir")
    parser.add_argument("--json", type=Path, help="write all rows as JSON here")
    args = parser.parse_args()
    os.environ.setdefault("JAM_E2E_REDIS_DB", "12")
    global PROFILE_DIR
    PROFILE_DIR = args.py_spy
    global UVICORN_WS
    UVICORN_WS = args.uvicorn_ws
    nofile = raise_nofile()
    suites = [s for s in args.suite.split(",") if s]
    need = args.watchers
    if "storm" in suites:
        need = max(need, args.storm)
    if "hold" in suites:
        need = max(need, args.hold)
    if "posting" in suites:
        need = max(need, *(int(w) for w in str(args.posting_watchers).split(",")))
    top_rate = max(float(r) for r in str(args.posting_rate).split(","))
    need += int(max(top_rate, 200) // 4) + 2  # posters come from the end

    print(machine_facts(), flush=True)
    print(
        f"open files limit: {nofile}; pinning: "
        f"{'server core 0, generator core 1' if can_pin() else 'none'}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="jam-bench-") as tmp:
        global BASELINE
        if args.baseline:
            BASELINE = (args.baseline, baseline_export(args.baseline, Path(tmp) / "baseline"))
            print(f"baseline: {args.baseline} exported to {BASELINE[1]}", flush=True)
        deployment = Deployment.create(Path(tmp), password=PASSWORD)
        try:
            t0 = time.monotonic()
            deployment.prepare(participants=need)
            if deployment.database.postgres_admin_url:
                # Statistics for the freshly loaded tables, as a running
                # site has them (autovacuum would take up to a minute, in
                # the middle of the first suites).
                import psycopg

                with psycopg.connect(deployment.database.url, autocommit=True) as conn:
                    conn.execute("ANALYZE")
            pairs = [
                line.split()
                for line in deployment.manage(
                    "bench_sessions", str(need), "--tickets", "demo"
                ).splitlines()
                if line.strip()
            ]
            keys = [key for key, _ in pairs]
            topic = int(
                deployment.manage(
                    "shell",
                    "-c",
                    "from jams.models import Topic; "
                    "print(Topic.objects.filter(jam__slug='demo').order_by('pk')[0].pk)",
                ).split()[-1]
            )
            print(
                f"database {deployment.database.url.split('@')[-1]}, "
                f"redis {'db ' + deployment.redis.url if deployment.redis else 'none'}: "
                f"seeded {need} members in {time.monotonic() - t0:.0f} s",
                flush=True,
            )
            bench = Bench(
                args=args,
                deployment=deployment,
                sessions=keys,
                topic=topic,
                tickets={key: ticket for key, ticket in pairs},
            )
            for name in suites:
                print(f"\n== {name} (load {loadavg()})", flush=True)
                SUITES[name](bench)
            print("\n" + table(bench.rows))
            if any("posting" in r["label"] for r in bench.rows):
                print("\n" + posting_table(bench.rows))
            if args.json:
                args.json.write_text(json.dumps(bench.rows, indent=1, default=str))
        finally:
            deployment.close()
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in Path(tmp).glob("*.log"):
                shutil.copy(log, args.logs / log.name)
            print(f"server logs in {args.logs}")
            for spy in PROFILERS:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    spy.wait(30)
    print(f"\nuptime at end: {loadavg()}")


if __name__ == "__main__":
    main()
