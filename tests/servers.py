"""Real server processes for end-to-end tests (and benchmarks).

Plain Python, no Django imports: the processes have their own database and
their own settings, and the tests talk to them only over HTTP and WebSocket.

    deployment = Deployment.create(workdir, password="...")  # follows the env
    deployment.prepare(participants=0)       # manage.py migrate + seed_demo
    a = deployment.server("daphne")          # or "uvicorn"; started and ready
    a.kill(); a.start()                      # fault tests
    a, b = deployment.start_servers("a", "b", env={...})  # side by side
    sessionid = session_login(a.url, "alice@example.com", "...")
    socket = await LiveSocket.open(a, sessionid)  # a jam.js-like client
    deployment.close()                       # stops servers, drops the database

    redis = RedisServer(workdir); redis.start(); redis.kill(); redis.start()

The database follows the test process's environment: ``DATABASE_URL`` naming
PostgreSQL gets a fresh, uniquely named database on that server (dropped at
close); anything else gets a temporary SQLite file. ``REDIS_URL``, when set,
is rewritten to a database number of its own (``JAM_E2E_REDIS_DB``, default
5) flushed at close, a client name that identifies this run's connections
(``CLIENT LIST``/``CLIENT KILL``), and a channel-layer prefix of its own: Redis
pub/sub ignores database numbers, so the prefix is what keeps two runs on a
shared Redis from hearing each other's groups.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SETTINGS_MODULE = "tests.e2e.server_settings"
READY_SECONDS = 30.0  # a cold Django start on a busy two-core machine
STOP_SECONDS = 10.0


def free_port() -> int:
    """A port nobody listens on right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- Database ------------------------------------------------------------------


@dataclass
class Database:
    url: str
    postgres_admin_url: str | None = None  # where to DROP it from, for PostgreSQL
    name: str = ""

    @classmethod
    def create(cls, workdir: Path, base_url: str | None) -> Database:
        if base_url and base_url.split(":", 1)[0] in ("postgres", "postgresql", "pgsql"):
            import psycopg

            name = f"jam_e2e_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            parts = urllib.parse.urlsplit(base_url)
            with psycopg.connect(base_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
            return cls(url=url, postgres_admin_url=base_url, name=name)
        path = workdir / "db.sqlite3"
        return cls(url=f"sqlite:///{path}", name=str(path))

    def drop(self) -> None:
        if self.postgres_admin_url is None:
            return  # the SQLite file goes with the temporary directory
        import psycopg

        with psycopg.connect(self.postgres_admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# --- Redis ---------------------------------------------------------------------


@dataclass
class RedisTarget:
    """This run's slice of a shared Redis: a database number, a client name
    and a channel-layer prefix."""

    url: str  # what the servers get as REDIS_URL
    client_name: str
    prefix: str

    @classmethod
    def for_run(cls, base_url: str, db: int) -> RedisTarget:
        run = f"jam-e2e-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        parts = urllib.parse.urlsplit(base_url)
        query = urllib.parse.urlencode({"client_name": run})
        url = urllib.parse.urlunsplit(parts._replace(path=f"/{db}", query=query))
        return cls(url=url, client_name=run, prefix=f"{run}:")

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=5)

    def connections(self) -> list[dict[str, Any]]:
        """CLIENT LIST rows of the server processes of this run."""
        with contextlib.closing(self.client()) as r:
            me = r.client_id()
            return [
                c
                for c in r.client_list()
                if c.get("name") == self.client_name and int(c["id"]) != me
            ]

    def drop_connections(self) -> int:
        """Kill every connection the server processes hold (pub/sub and
        normal ones), as a Redis restart would. Returns how many."""
        with contextlib.closing(self.client()) as r:
            me = r.client_id()
            victims = [
                int(c["id"])
                for c in r.client_list()
                if c.get("name") == self.client_name and int(c["id"]) != me
            ]
            for client_id in victims:
                r.client_kill_filter(_id=client_id)
            return len(victims)

    def flush(self) -> None:
        with contextlib.closing(self.client()) as r:
            r.flushdb()


class RedisServer:
    """A private, throw-away redis-server on a free loopback port (no
    persistence), for tests that must really stop and restart Redis without
    touching the shared one."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"redis-{self.port}.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed command line
                [
                    *(binary, "--bind", "127.0.0.1", "--port", str(self.port)),
                    *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError), redis.Redis(port=self.port) as client:
                if client.ping():
                    return
            time.sleep(0.05)
        raise ServerFailed(f"redis-server on {self.port} did not answer")

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(STOP_SECONDS)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_SECONDS)


# --- Deployment and servers -------------------------------------------------------


@dataclass
class Deployment:
    """One database (and Redis slice) shared by the server processes of a test run."""

    workdir: Path
    database: Database
    redis: RedisTarget | None
    password: str
    extra_env: dict[str, str] = field(default_factory=dict)
    settings_module: str = SETTINGS_MODULE
    servers: list[Server] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        workdir: Path,
        *,
        password: str,
        database_url: str | None = None,
        redis_url: str | None = None,
        use_redis: bool = True,
        extra_env: dict[str, str] | None = None,
    ) -> Deployment:
        """A deployment following the environment (DATABASE_URL, REDIS_URL)
        unless the URLs are given; ``use_redis=False`` forces the in-memory layer."""
        workdir.mkdir(parents=True, exist_ok=True)
        database_url = database_url or os.environ.get("DATABASE_URL")
        redis_url = (redis_url or os.environ.get("REDIS_URL")) if use_redis else None
        redis_target = None
        if redis_url:
            redis_target = RedisTarget.for_run(
                redis_url, int(os.environ.get("JAM_E2E_REDIS_DB", "5"))
            )
            redis_target.flush()
        database = Database.create(workdir, database_url)
        return cls(
            workdir=workdir,
            database=database,
            redis=redis_target,
            password=password,
            extra_env=dict(extra_env or {}),
        )

    def env(self) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "CI")
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": self.settings_module,
                "DEBUG": "0",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "DATABASE_URL": self.database.url,
                "PYTHONPATH": str(REPO),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.redis is not None:
            env["REDIS_URL"] = self.redis.url
            env["JAM_E2E_LAYER_PREFIX"] = self.redis.prefix
        env.update(self.extra_env)
        return env

    def manage(self, *args: str, timeout: float = 180.0) -> str:
        result = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
            [sys.executable, str(REPO / "manage.py"), *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def prepare(self, *, participants: int = 0, phase: str = "discussion") -> None:
        """Migrate and seed the demo jam (slug ``demo``) in ``phase`` (seed_demo --phase)."""
        self.manage("migrate", "--noinput", "-v", "0")
        seed = ["seed_demo", "--password", self.password, "--phase", phase]
        if participants:
            seed += ["--participants", str(participants)]
        self.manage(*seed)

    def server(
        self,
        kind: str = "daphne",
        *,
        name: str | None = None,
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> Server:
        """Start a server process (with ``env`` added to the deployment's
        environment) and, unless ``wait=False``, wait until it answers HTTP."""
        name = name or f"{kind}-{len(self.servers) + 1}"
        server = Server(self, kind=kind, name=name, env=env)
        self.servers.append(server)
        server.start(wait=wait)
        return server

    def start_servers(
        self, *names: str, kind: str = "daphne", env: dict[str, str] | None = None
    ) -> list[Server]:
        """Start one process per name side by side, then wait for all of them."""
        servers = [self.server(kind, name=name, env=env, wait=False) for name in names]
        for server in servers:
            server.wait_ready()
        return servers

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers.clear()
        if self.redis is not None:
            with contextlib.suppress(Exception):
                self.redis.flush()
        self.database.drop()


class ServerFailed(RuntimeError):
    pass


class Server:
    def __init__(
        self, deployment: Deployment, *, kind: str, name: str, env: dict[str, str] | None = None
    ) -> None:
        if kind not in ("daphne", "uvicorn"):
            raise ValueError(f"unknown server kind {kind!r}")
        self.deployment = deployment
        self.env = dict(env or {})
        self.kind = kind
        self.name = name
        self.port = free_port()
        self.log_path = deployment.workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        app = "jamsite.asgi:application"
        if self.kind == "daphne":
            return [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(self.port), app]
        return [
            str(BIN / "uvicorn"),
            # The sans-I/O implementation: uvicorn's legacy one (its default,
            # "websockets") raises on a close right after accept under load
            # (AttributeError 'transfer_data_task', docs/benchmarks.md).
            "--ws",
            "websockets-sansio",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            app,
        ]

    def start(self, timeout: float = READY_SECONDS, *, wait: bool = True) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"{self.name} is already running")
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n=== start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            self.process = subprocess.Popen(  # noqa: S603 - fixed command line
                self.command(),
                cwd=REPO,
                env={**self.deployment.env(), **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ServerFailed(f"{self.name} exited during start:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(  # noqa: S310 - http://127.0.0.1 only
                    f"{self.url}/accounts/login/", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError:
                return  # it answers HTTP
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise ServerFailed(f"{self.name} did not answer within {timeout} s:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Terminate (SIGTERM), and kill if it does not exit in time."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_SECONDS)

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing gets to clean up."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGKILL)
        process.wait(STOP_SECONDS)

    def restart(self) -> None:
        self.kill()
        self.start()

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def deployment_for(workdir: Path, **kwargs: Any) -> Iterator[Deployment]:
    deployment = Deployment.create(workdir, **kwargs)
    try:
        yield deployment
    finally:
        deployment.close()


# --- Clients -----------------------------------------------------------------------


def session_login(base_url: str, email: str, password: str, timeout: float = 10.0) -> str:
    """Sign in through the real allauth form (with CSRF); the ``sessionid``."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_url = f"{base_url}/accounts/login/"
    with opener.open(login_url, timeout=timeout) as response:
        html = response.read().decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if match is None:
        raise RuntimeError("no CSRF token on the login page")
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": match.group(1), "login": email, "password": password}
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        login_url, data=data, headers={"Referer": login_url}
    )
    with opener.open(request, timeout=timeout):
        pass
    for cookie in jar:
        if cookie.name == "sessionid" and cookie.value:
            return cookie.value
    raise RuntimeError(f"login as {email} did not give a session")


def http_get(url: str, sessionid: str, timeout: float = 10.0) -> str:
    request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
        url, headers={"Cookie": f"sessionid={sessionid}"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return str(response.read().decode())


class SocketRefused(ConnectionError):
    """The server accepted the handshake and closed the socket before its
    hello (e.g. 4503 "try again later" while the database is down)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"socket closed before hello (code {code})")
        self.code = code


class LiveSocket:
    """A jam socket as the browser's jam.js uses it, for async tests.

    It keeps ``last_seq`` and the events it applied (``applied``: seq ->
    event, at most one per seq, in the order the client applied them), drops
    events at or below ``last_seq`` as jam.js does (counting them in
    ``dropped``), and, with ``auto_resume``, answers a heartbeat that is
    ahead with ``resume`` as jam.js does. Other messages queue in ``inbox``.
    Each applied event is tagged ``_via``: "resume" when it arrived while a
    resume was outstanding, else "live" (pushed through the channel layer).
    """

    def __init__(self, ws: Any, *, auto_resume: bool) -> None:
        self.ws = ws
        self.auto_resume = auto_resume
        self.last_seq = 0
        self.applied: dict[int, dict[str, Any]] = {}
        self.dropped = 0
        self.resumes = 0
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.changed = asyncio.Event()
        self.hello: dict[str, Any] = {}
        self.presence: dict[str, Any] | None = None
        self._resuming = 0  # resumes sent and not yet answered
        self._reader: asyncio.Task[None] | None = None
        self._on_hello: tuple[frozenset[int], int | None] | None = None
        self.closed = asyncio.Event()

    @classmethod
    async def open(
        cls,
        server: Server,
        sessionid: str,
        *,
        slug: str = "demo",
        auto_resume: bool = True,
        within: float = 5.0,
        topics: Iterable[int] | None = None,
        after: int | None = None,
    ) -> LiveSocket:
        """Connect and wait for the hello. With ``topics``, the reader does
        what jam.js does on every hello: it subscribes to them and resumes
        after ``after`` (default: the hello's seq) in the same breath, before
        it reads any other message; wait for the ``resumed`` answer with
        ``receive_until``. Done in two steps instead, a heartbeat read in
        between starts a resume of the jam-wide events alone, whose answer
        moves ``last_seq`` past the topics' events before they are replayed
        (a gap the client never fills)."""
        from websockets.asyncio.client import connect

        ws = await connect(
            f"{server.ws_url}/ws/jams/{slug}/",
            additional_headers={"Cookie": f"sessionid={sessionid}", "Origin": server.url},
            open_timeout=within,
            close_timeout=2,
        )
        socket = cls(ws, auto_resume=auto_resume)
        if topics is not None:
            socket._on_hello = (frozenset(topics), after)
        socket._reader = asyncio.create_task(socket._read())
        hello = asyncio.ensure_future(socket.receive_until("hello", within=within))
        closed = asyncio.ensure_future(socket.closed.wait())
        await asyncio.wait({hello, closed}, return_when=asyncio.FIRST_COMPLETED)
        if not hello.done():
            hello.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hello
            raise SocketRefused(ws.close_code)  # accepted, then closed before hello
        closed.cancel()
        socket.hello = hello.result()
        return socket

    async def _read(self) -> None:
        try:
            async for text in self.ws:
                message = json.loads(text)
                kind = message.get("type")
                if kind == "hello":
                    self.last_seq = int(message["seq"])
                    if self._on_hello is not None:
                        topics, after = self._on_hello
                        if after is not None:
                            self.last_seq = after
                        for topic in sorted(topics):
                            await self.send(type="subscribe", topic=topic)
                        await self.resume()
                    self.inbox.put_nowait(message)
                elif kind == "event" and message.get("seq") is None:
                    self.presence = message  # ephemeral (presence): no seq, not stored
                elif kind == "event":
                    seq = int(message["seq"])
                    if seq <= self.last_seq:
                        self.dropped += 1
                    else:
                        self.last_seq = seq
                        message["_via"] = "resume" if self._resuming else "live"
                        self.applied[seq] = message
                elif kind == "tick":
                    if self.auto_resume and int(message["seq"]) > self.last_seq:
                        await self.resume()
                elif kind == "resumed":
                    self._resuming = max(0, self._resuming - 1)
                    self.last_seq = max(self.last_seq, int(message["seq"]))
                    self.inbox.put_nowait(message)
                else:
                    if kind == "error" and message.get("client_id") is None:
                        self._resuming = max(0, self._resuming - 1)  # a failed resume
                    self.inbox.put_nowait(message)
                self.changed.set()
        except Exception:  # noqa: S110 - a dropped connection ends the reader
            pass
        finally:
            self.closed.set()
            self.changed.set()

    async def send(self, **message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def resume(self, after: int | None = None) -> None:
        self._resuming += 1
        self.resumes += 1
        await self.send(type="resume", after=self.last_seq if after is None else after)

    async def receive_until(self, kind: str, within: float = 5.0) -> dict[str, Any]:
        """The next queued message of this type (events are in ``applied``),
        waiting at most ``within`` seconds."""
        async with asyncio.timeout(within):
            while True:
                message = await self.inbox.get()
                if message.get("type") == kind:
                    return message
                if message.get("type") == "error":
                    raise AssertionError(f"socket error while waiting for {kind}: {message}")

    async def subscribe(self, *, topic: int) -> None:
        await self.send(type="subscribe", topic=topic)
        await self.receive_until("subscribed")

    async def post_idea(self, *, topic: int, title: str, body: str = "An idea.") -> dict[str, Any]:
        client_id = str(uuid.uuid4())
        await self.send(type="post", client_id=client_id, topic=topic, title=title, body=body)
        ack = await self.receive_until("ack")
        assert ack["client_id"] == client_id
        return ack

    async def wait_for_seqs(self, seqs: set[int], within: float) -> bool:
        """Wait until every seq was applied; False after ``within`` seconds."""
        deadline = asyncio.get_running_loop().time() + within
        while not seqs <= set(self.applied):
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or self.closed.is_set():
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)
        return True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader


# --- A private PostgreSQL ------------------------------------------------------------


class PostgresServer:
    """A private, throw-away PostgreSQL cluster (initdb into ``workdir``) on a
    free loopback port, for tests that must really stop and start the
    database without touching the shared server other people use.

        pg = PostgresServer(workdir); pg.start()
        deployment = Deployment.create(workdir, password=..., database_url=pg.url)
        pg.stop(); time.sleep(10); pg.start()   # the fault
        pg.destroy()

    PostgreSQL refuses to run as root: as root, the cluster belongs to (and
    runs as) the ``postgres`` system user.
    """

    def __init__(self, workdir: Path) -> None:
        import tempfile

        self.port = free_port()
        # Its own directory under /tmp: the postgres user must reach it, and
        # pytest's temporary directories are private to root.
        self.workdir = Path(tempfile.mkdtemp(prefix=f"jam-pg-{self.port}-"))
        self.datadir = self.workdir / "data"
        self.log_path = workdir / f"postgres-{self.port}.log"

    @staticmethod
    def binary(name: str) -> str:
        found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        if found:
            return str(found[-1])  # the newest major version installed
        path = shutil.which(name)
        if path is None:
            raise RuntimeError(f"PostgreSQL's {name} is not installed")
        return path

    @classmethod
    def available(cls) -> bool:
        try:
            cls.binary("initdb")
            cls.binary("pg_ctl")
        except RuntimeError:
            return False
        return os.geteuid() != 0 or shutil.which("runuser") is not None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60.0) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(  # noqa: S603 - fixed command lines
            command, check=False, capture_output=True, text=True, timeout=timeout, cwd="/"
        )
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, command, result.stdout, f"{result.stderr}\n{self.log_tail()}"
            )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def init(self) -> None:
        self.datadir.mkdir()
        self.log_path = self.workdir / "postgres.log"
        self.log_path.touch()
        if os.geteuid() == 0:
            for path in (self.workdir, self.datadir, self.log_path):
                shutil.chown(path, "postgres", "postgres")
        self._run(
            self.binary("initdb"), "-D", str(self.datadir), "-U", "postgres",
            "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip

    def start(self, timeout: float = 30.0) -> None:
        if not (self.datadir / "PG_VERSION").exists():
            self.init()
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.datadir} "
            "-c fsync=off -c max_connections=300"
        )
        self._run(
            self.binary("pg_ctl"), "-D", str(self.datadir), "-l", str(self.log_path),
            "-o", options, "-w", "-t", str(int(timeout)), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: connections are cut at once)."""
        self._run(self.binary("pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        try:
            self._run(self.binary("pg_ctl"), "-D", str(self.datadir), "status")
        except subprocess.CalledProcessError:
            return False
        return True

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            if self.running():
                self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


# --- A client that reconnects by itself ------------------------------------------------

# Errors after which the page's client sends the same message again (same client_id).
RETRYABLE = frozenset({"unavailable", "server_error", "rate_limited"})


class ReconnectingClient:
    """jam.js's behaviour around a LiveSocket: when the socket closes it
    reconnects with jittered exponential backoff (a random wait up to 0.5 s,
    1 s, 2 s, ... capped), subscribes again and resumes after the last seq it
    applied; a post is sent again with the same ``client_id`` until it is
    acknowledged (after a retryable error, a timeout or a lost socket).

    ``applied`` merges the events of every socket it had (seq -> event).
    ``refusals`` records why each failed connect failed: the close code of a
    socket closed before its hello, ``"http <status>"`` for a refused
    handshake, else the exception's name.
    """

    def __init__(
        self, server: Server, sessionid: str, *, slug: str = "demo", cap: float = 4.0
    ) -> None:
        self.server, self.sessionid, self.slug, self.cap = server, sessionid, slug, cap
        self.topics: set[int] = set()
        self.socket: LiveSocket | None = None
        self.applied: dict[int, dict[str, Any]] = {}
        self.last_seq = 0
        self.connects = 0
        self.retries = 0
        self.errors: list[dict[str, Any]] = []
        self.refusals: list[int | str | None] = []
        self._after: int | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, topics: tuple[int, ...] = (), *, after: int | None = None) -> None:
        """Connect (waiting at most 30 s); ``after``: resume after this seq on
        the first connect too, as a page rendered at that seq does (jam.js
        starts from the page's ``data-seq``), instead of the hello's."""
        self.topics = set(topics)
        self._after = after
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(30):
            await self._connected.wait()

    async def _run(self) -> None:
        import random

        failures = 0
        while True:
            try:
                socket = await LiveSocket.open(
                    self.server,
                    self.sessionid,
                    slug=self.slug,
                    auto_resume=True,
                    topics=self.topics,
                    after=self.last_seq if self.connects else self._after,
                )
            except Exception as exc:
                self.refusals.append(self._refusal(exc))
                failures += 1
                await asyncio.sleep(random.uniform(0, min(self.cap, 0.5 * 2 ** (failures - 1))))
                continue
            try:
                if not self.connects:
                    self.last_seq = int(socket.hello["seq"]) if self._after is None else self._after
                await socket.receive_until("resumed", within=10)
            except Exception:
                await socket.close()
                failures += 1
                await asyncio.sleep(random.uniform(0, min(self.cap, 0.5 * 2 ** (failures - 1))))
                continue
            failures = 0
            self.connects += 1
            self.socket = socket
            self._connected.set()
            pump = asyncio.create_task(self._pump(socket))
            await socket.closed.wait()
            pump.cancel()
            self._absorb(socket)
            self._connected.clear()
            self.socket = None
            await socket.close()
            await asyncio.sleep(random.uniform(0, 0.5))

    @staticmethod
    def _refusal(exc: Exception) -> int | str | None:
        from websockets.exceptions import InvalidStatus

        if isinstance(exc, SocketRefused):
            return exc.code
        if isinstance(exc, InvalidStatus):
            return f"http {exc.response.status_code}"
        return type(exc).__name__

    def _absorb(self, socket: LiveSocket) -> None:
        for seq, event in socket.applied.items():
            self.applied.setdefault(seq, event)
        self.last_seq = max(self.last_seq, socket.last_seq)

    async def _pump(self, socket: LiveSocket) -> None:
        while True:
            self._absorb(socket)
            socket.changed.clear()
            await socket.changed.wait()

    async def post_idea(self, *, topic: int, title: str, within: float = 90.0) -> dict[str, Any]:
        """Post until acknowledged; the ack. Raises on a refusal that is not retryable."""
        import random

        client_id = str(uuid.uuid4())
        message = {"type": "post", "client_id": client_id, "topic": topic, "title": title,
                   "body": f"{title}."}  # fmt: skip
        attempt = 0
        async with asyncio.timeout(within):
            while True:
                attempt += 1
                await self._connected.wait()
                socket = self.socket
                if socket is None:
                    continue
                try:
                    await socket.ws.send(json.dumps(message))
                    answer = await self._answer(socket, client_id, within=10)
                except Exception:
                    answer = None  # lost socket or no answer in time: send again
                if answer is not None and answer["type"] == "ack":
                    return answer
                if answer is not None:
                    self.errors.append(answer)
                    if answer.get("code") not in RETRYABLE:
                        raise AssertionError(f"post refused: {answer}")
                self.retries += 1
                await asyncio.sleep(random.uniform(0, min(self.cap, 0.25 * 2**attempt)))

    @staticmethod
    async def _answer(socket: LiveSocket, client_id: str, within: float) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                get = asyncio.ensure_future(socket.inbox.get())
                closed = asyncio.ensure_future(socket.closed.wait())
                done, _ = await asyncio.wait({get, closed}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    raise ConnectionError("socket closed")
                closed.cancel()
                message = get.result()
                if message.get("client_id") == client_id:
                    return message

    async def caught_up(self, seqs: set[int], within: float) -> bool:
        deadline = asyncio.get_running_loop().time() + within
        while not seqs <= set(self.applied):
            if self.socket is not None:
                self._absorb(self.socket)
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.socket is not None:
            self._absorb(self.socket)
            await self.socket.close()
