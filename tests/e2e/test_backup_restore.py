"""The backup and restore of docs/operations.md, end to end: a seeded
database (with posts written through a real server), ``pg_dump -Fc``, a
``pg_restore`` into a fresh database, a server started on the copy, and the
posts, ideas, events and audit rows equal, row for row.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Database, Deployment, LiveSocket, PostgresServer, Server

from .conftest import PASSWORD
from .test_two_servers import database_posts, login

pytestmark = [pytest.mark.postgres, pytest.mark.server]

TABLES = ["ideas_post", "ideas_idea", "jams_event", "jams_auditentry", "voting_ballot"]


def major(version: str) -> int:
    match = re.search(r"(\d+)", version)
    assert match, version
    return int(match.group(1))


def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Per table: row count and a hash of every row, in primary-key order."""
    import psycopg

    out = {}
    with psycopg.connect(url) as conn:
        for table in TABLES:
            exists = conn.execute("SELECT to_regclass(%s)", [table]).fetchone()
            if not exists or exists[0] is None:
                continue
            rows = conn.execute(f"SELECT t::text FROM {table} t ORDER BY id").fetchall()  # noqa: S608
            digest = hashlib.sha256("\n".join(r[0] for r in rows).encode()).hexdigest()
            out[table] = (len(rows), digest)
    return out


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Deployment]:
    deployment = Deployment.create(tmp_path / "original", password=PASSWORD, use_redis=False)
    try:
        deployment.prepare()
        yield deployment
    finally:
        deployment.close()


async def write_posts(server: Server, n: int) -> None:
    sid = await login(server, "bob@example.com")
    socket = await LiveSocket.open(server, sid)
    try:
        topic = socket.hello["topics"][0]["id"]
        for i in range(n):
            await socket.post_idea(topic=topic, title=f"Before the backup {i}")
    finally:
        await socket.close()


def test_pg_dump_and_restore_give_an_equal_working_database(
    seeded: Deployment, tmp_path: Path
) -> None:
    import psycopg

    database = seeded.database
    assert database.postgres_admin_url is not None
    original = seeded.server("daphne", name="daphne-original")
    asyncio.run(write_posts(original, 5))
    original.stop()

    # pg_dump must be at least as new as the server (docs/operations.md).
    pg_dump, pg_restore = PostgresServer.binary("pg_dump"), PostgresServer.binary("pg_restore")
    dump_version = subprocess.run(  # noqa: S603 - fixed command line
        [pg_dump, "--version"], capture_output=True, text=True, check=True
    ).stdout
    with psycopg.connect(database.url) as conn:
        server_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    assert major(dump_version) >= major(server_version), (dump_version, server_version)

    archive = tmp_path / "jam.dump"
    subprocess.run(  # noqa: S603 - fixed command line
        [pg_dump, "-Fc", "--no-owner", "-f", str(archive), "-d", database.url],
        check=True,
        timeout=120,
    )
    name = f"jam_restored_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database.postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urllib.parse.urlsplit(database.url)
    restored_url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    restored = Deployment(
        workdir=tmp_path / "restored",
        database=Database(
            url=restored_url, postgres_admin_url=database.postgres_admin_url, name=name
        ),
        redis=None,
        password=PASSWORD,
    )
    restored.workdir.mkdir()
    try:
        subprocess.run(  # noqa: S603 - fixed command line
            [pg_restore, "--no-owner", "--exit-on-error", "-d", restored_url, str(archive)],
            check=True,
            timeout=120,
        )
        before, after = fingerprint(database.url), fingerprint(restored_url)
        assert before["ideas_post"][0] > 0 and before["jams_auditentry"][0] > 0
        assert after == before
        # A server on the copy serves it, and its sequences go on from there.
        server = restored.server("daphne", name="daphne-restored")

        async def check() -> None:
            sid = await login(server, "bob@example.com")
            probe = await LiveSocket.open(server, sid)
            topic = probe.hello["topics"][0]["id"]
            await probe.close()
            posts = await database_posts(server, sid, topic)
            assert any(True for _ in posts)
            await write_posts(server, 1)  # new rows get fresh ids: sequences restored

        asyncio.run(check())
        assert fingerprint(restored_url)["ideas_post"][0] == before["ideas_post"][0] + 1
    finally:
        restored.close()
