"""Property: whatever the interleaving of connects, posts, drops and
reconnects (with resume), every client ends with exactly what the database
holds: no gap, no duplicate.

Each client behaves as static/js/jam.js does: it applies events with a seq
above the last one it applied, remembers that seq, and after every
(re)connect subscribes and sends resume after it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ideas.models import Post
from jams.models import Role
from jams.phases import Stage
from jamsite.asgi import application
from tests.factories import TopicFactory, jam_in_stage, member

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = 3
Operation = tuple[str, int]

operations = st.lists(
    st.tuples(
        st.sampled_from(["post", "post", "drop", "connect", "settle"]), st.integers(0, CLIENTS - 1)
    ),
    min_size=1,
    max_size=14,
)


@dataclass
class ClientState:
    user: Any
    cookie: str
    comm: WebsocketCommunicator | None = None
    last_seq: int = 0
    seen: list[int] = field(default_factory=list)  # post ids, in the order applied

    def apply(self, message: dict[str, Any]) -> None:
        if message.get("type") != "event" or message["seq"] <= self.last_seq:
            return
        self.last_seq = message["seq"]
        if message["event"] == "post.created":
            self.seen.append(message["data"]["id"])


async def drain(state: ClientState) -> None:
    """Apply everything that has arrived."""
    if state.comm is None:
        return
    while not await state.comm.receive_nothing(timeout=0.02):
        state.apply(json.loads(await state.comm.receive_from()))


async def connect(state: ClientState, slug: str, topic: int) -> None:
    comm = WebsocketCommunicator(
        application,
        f"/ws/jams/{slug}/",
        headers=[
            (b"cookie", f"sessionid={state.cookie}".encode()),
            (b"origin", b"http://127.0.0.1"),
        ],
    )
    ok, _ = await comm.connect()
    assert ok
    state.comm = comm
    hello = json.loads(await comm.receive_from())
    assert hello["type"] == "hello"
    await comm.send_to(text_data=json.dumps({"type": "subscribe", "topic": topic}))
    await comm.send_to(text_data=json.dumps({"type": "resume", "after": state.last_seq}))
    while True:
        message = json.loads(await comm.receive_from(timeout=3))
        state.apply(message)
        if message["type"] == "resumed":
            return


async def drop(state: ClientState) -> None:
    if state.comm is not None:
        await state.comm.disconnect()
        state.comm = None


async def post(state: ClientState, topic: int) -> None:
    if state.comm is None:
        return
    client_id = str(uuid.uuid4())
    await state.comm.send_to(
        text_data=json.dumps(
            {"type": "post", "client_id": client_id, "topic": topic, "title": "t", "body": "b"}
        )
    )
    while True:
        message = json.loads(await state.comm.receive_from(timeout=3))
        state.apply(message)
        if message["type"] == "ack" and message["client_id"] == client_id:
            return


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def build_world() -> tuple[str, int, list[ClientState]]:
    jam = jam_in_stage(Stage.DISCUSSION)
    topic = TopicFactory(jam=jam)
    users = [member(jam, Role.PARTICIPANT) for _ in range(CLIENTS)]
    return jam.slug, topic.pk, [ClientState(user=u, cookie=session_cookie(u)) for u in users]


async def scenario(ops: list[Operation]) -> None:
    channel_layers.backends = {}
    slug, topic, clients = await database_sync_to_async(build_world)()
    for state in clients:
        await connect(state, slug, topic)
    for op, index in ops:
        state = clients[index]
        if op == "post":
            await post(state, topic)
        elif op == "drop":
            await drop(state)
        elif op == "connect" and state.comm is None:
            await connect(state, slug, topic)
        elif op == "settle":
            await asyncio.gather(*(drain(c) for c in clients))
    for state in clients:
        await drop(state)
        await connect(state, slug, topic)  # the final reconnect, as after any drop
        await drain(state)
    expected = await database_sync_to_async(
        lambda: list(
            Post.objects.filter(topic_id=topic).order_by("id").values_list("id", flat=True)
        )
    )()
    for state in clients:
        assert len(state.seen) == len(set(state.seen)), "duplicate post"
        assert sorted(state.seen) == expected, "gap"
        await drop(state)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_every_client_ends_with_what_the_database_holds(ops: list[Operation]) -> None:
    asyncio.run(scenario(ops))
