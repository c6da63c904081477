"""Two daphne processes sharing Redis: cross-process delivery, and nothing
lost when Redis loses everything mid-run.

Black-box: the processes have their own database; these tests see it only
through the socket (``resume`` from 0 replays what the database holds) and
the server's own HTTP pages.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from tests.servers import (
    Deployment,
    LiveSocket,
    RedisServer,
    Server,
    http_get,
    session_login,
)

from .conftest import PASSWORD

pytestmark = [pytest.mark.redis, pytest.mark.server]

# Short hub intervals so heartbeats (and the resumes they trigger) and the
# group-membership refresh happen within the test's time budget.
HUB_ENV = {"JAM_HUB_TICK_SECONDS": "1", "JAM_HUB_REFRESH_SECONDS": "2"}
WAIT = 5.0  # seconds for one live delivery
RECOVERY = 30.0  # seconds the live layer may take to hear Redis again


@pytest.fixture(scope="module")
def servers(deployment: Deployment) -> Iterator[tuple[Server, Server]]:
    a, b = deployment.start_servers("daphne-a", "daphne-b", env=HUB_ENV)
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture(scope="module")
def private_redis(e2e_workdir: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server to restart a Redis of our own")
    redis = RedisServer(e2e_workdir)
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="module")
def servers_on_private_redis(
    deployment: Deployment, private_redis: RedisServer
) -> Iterator[tuple[Server, Server]]:
    env = {**HUB_ENV, "REDIS_URL": private_redis.url, "JAM_E2E_LAYER_PREFIX": "private:"}
    a, b = deployment.start_servers("daphne-c", "daphne-d", env=env)
    yield a, b
    a.stop()
    b.stop()


def logs(*servers: Server, socket: LiveSocket | None = None) -> str:
    state = ""
    if socket is not None:
        state = (
            f"client: last_seq={socket.last_seq} applied={sorted(socket.applied)} "
            f"resumes={socket.resumes} dropped={socket.dropped}\n"
        )
    return state + "\n".join(f"--- {s.name} ---\n{s.log_tail(80)}" for s in servers)


async def login(server: Server, email: str) -> str:
    return await asyncio.to_thread(session_login, server.url, email, PASSWORD)


async def post_ideas(bob: LiveSocket, topic: int, titles: list[str]) -> list[dict]:
    return [await bob.post_idea(topic=topic, title=title) for title in titles]


async def database_posts(server: Server, sessionid: str, topic: int) -> dict[int, int]:
    """seq -> post id of every post.created event of the topic the database
    holds, through a resume from 0 on a fresh socket."""
    socket = await LiveSocket.open(server, sessionid, auto_resume=False)
    try:
        await socket.subscribe(topic=topic)
        socket.last_seq = 0
        await socket.resume(after=0)
        await socket.receive_until("resumed", within=WAIT)
        return {
            seq: int(e["data"]["id"])
            for seq, e in socket.applied.items()
            if e["event"] == "post.created"
        }
    finally:
        await socket.close()


async def live_delivery(
    bob: LiveSocket, alice: LiveSocket, topic: int, title: str
) -> tuple[bool, dict]:
    """Post once through bob; whether alice heard it pushed live (not in the
    answer to a resume), and the ack."""
    ack = await bob.post_idea(topic=topic, title=title)
    heard = await alice.wait_for_seqs({ack["seq"]}, WAIT)
    return heard and alice.applied[ack["seq"]]["_via"] == "live", ack


async def test_post_on_one_server_reaches_a_client_of_the_other(servers) -> None:
    a, b = servers
    alice_sid, bob_sid = await login(a, "alice@example.com"), await login(b, "bob@example.com")
    alice = await LiveSocket.open(a, alice_sid, auto_resume=False)
    bob = await LiveSocket.open(b, bob_sid)
    try:
        topic = alice.hello["topics"][0]["id"]
        await alice.subscribe(topic=topic)
        ack = await bob.post_idea(topic=topic, title="Heard across servers")
        assert await alice.wait_for_seqs({ack["seq"]}, WAIT), logs(a, b, socket=alice)
        event = alice.applied[ack["seq"]]
        assert event["event"] == "post.created"
        assert event["_via"] == "live"  # pushed through Redis, not replayed
        assert event["data"]["id"] == ack["id"]
        assert event["data"]["idea"] == ack["idea"]
    finally:
        await alice.close()
        await bob.close()


async def test_redis_losing_everything_loses_no_post(servers, deployment) -> None:
    """Redis "restarted empty" mid-run, without touching the shared Redis server.

    With channels_redis's RedisPubSubChannelLayer a restart loses exactly two
    things: the connections, and with the pub/sub connection every SUBSCRIBE
    (the groups live in that connection, not in keys); the keyspace is empty
    afterwards too. So we ``CLIENT KILL`` every connection the two server
    processes hold (they carry this run's client name) and ``FLUSHDB`` the
    run's own database number. (A ``FLUSHDB`` alone would not do: pub/sub
    state is not in the keyspace.) Unlike a real restart, reconnecting
    succeeds at once; the next test covers the down time.
    """
    redis = deployment.redis
    assert redis is not None

    async def lose() -> None:
        assert redis.connections(), "the servers hold no Redis connections"
        killed = redis.drop_connections()
        redis.flush()
        assert killed >= 2  # at least each process's pub/sub connection

    await loss_scenario(*servers, lose=lose, topic_index=1)


async def test_redis_restart_loses_no_post(servers_on_private_redis, private_redis) -> None:
    """A real restart, of a Redis of our own: killed (SIGKILL, no
    persistence), down for two seconds while posts go on, started again
    empty on the same port."""

    async def lose() -> None:
        private_redis.kill()
        await asyncio.sleep(2)
        private_redis.start()

    await loss_scenario(*servers_on_private_redis, lose=lose, topic_index=2)


async def loss_scenario(
    a: Server, b: Server, *, lose: Callable[[], Awaitable[None]], topic_index: int
) -> None:
    """Alice listens on A, bob posts on B. Redis loses everything (``lose``),
    posts go on during and after; alice's client answers heartbeats that are
    ahead with ``resume`` (as jam.js does), so she gets them all within
    seconds. Live delivery itself must come back by itself within RECOVERY
    seconds (sockets must not stay deaf). Then she moves to B and resumes
    after her last seq, and ends up with exactly the posts the database holds:
    no gap, no duplicate."""
    alice_sid, bob_sid = await login(a, "alice@example.com"), await login(b, "bob@example.com")
    # Alice's client follows the protocol: a heartbeat ahead of her -> resume.
    alice = await LiveSocket.open(a, alice_sid, auto_resume=True)
    bob = await LiveSocket.open(b, bob_sid)
    sockets = [alice, bob]
    try:
        start_seq = alice.last_seq
        topic = alice.hello["topics"][topic_index]["id"]
        await alice.subscribe(topic=topic)
        acks = await post_ideas(bob, topic, ["Before the loss"])
        assert await alice.wait_for_seqs({acks[0]["seq"]}, WAIT), logs(a, b, socket=alice)

        lost = asyncio.create_task(lose())
        # Posts go on at once: they are recorded whatever Redis does.
        acks += await post_ideas(bob, topic, [f"During the loss {n}" for n in range(3)])
        await lost
        acks += await post_ideas(bob, topic, ["After the loss"])
        assert await alice.wait_for_seqs({ack["seq"] for ack in acks}, 10), logs(a, b, socket=alice)

        # Live delivery must come back by itself (re-subscribed groups).
        loop = asyncio.get_running_loop()
        deadline, attempt, recovered = loop.time() + RECOVERY, 0, False
        while not recovered and loop.time() < deadline:
            attempt += 1
            recovered, ack = await live_delivery(bob, alice, topic, f"Probe {attempt}")
            acks.append(ack)
        assert recovered, f"no live delivery within {RECOVERY} s\n{logs(a, b, socket=alice)}"
        assert await alice.wait_for_seqs({ack["seq"] for ack in acks}, 10), logs(a, b, socket=alice)

        # Alice moves to the other server; posts made meanwhile are resumed.
        await alice.close()
        missed = await post_ideas(bob, topic, ["While away 1", "While away 2"])
        moved = await LiveSocket.open(b, alice_sid, topics={topic}, after=alice.last_seq)
        sockets.append(moved)
        await moved.receive_until("resumed", within=WAIT)
        assert {ack["seq"] for ack in missed} <= set(moved.applied), logs(a, b, socket=moved)

        seen = [
            (seq, int(e["data"]["id"]))
            for client in (alice, moved)
            for seq, e in client.applied.items()
            if e["event"] == "post.created" and seq > start_seq
        ]
        truth = {
            seq: post
            for seq, post in (await database_posts(a, bob_sid, topic)).items()
            if seq > start_seq
        }
        seen_posts = [post for _, post in seen]
        assert len(seen_posts) == len(set(seen_posts)), "a post was applied twice"
        assert dict(seen) == truth  # exactly what the database holds, no gap
        assert {ack["id"] for ack in [*acks, *missed]} == set(truth.values())

        # The server's own page lists the same ideas.
        page = await asyncio.to_thread(http_get, f"{b.url}/jams/demo/topics/{topic}/", bob_sid)
        listed = {int(n) for n in re.findall(r'id="idea-(\d+)"', page)}
        assert {ack["idea"] for ack in [*acks, *missed]} <= listed
    finally:
        for socket in sockets:
            await socket.close()
