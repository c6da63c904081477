"""The jam socket through the real ASGI router (origin check, session auth),
every message type and error code, resume, and removal."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client

from ideas.models import Post
from jams.models import Jam, Membership, Role, Topic
from jams.phases import Stage
from jamsite.asgi import application
from tests.factories import TopicFactory, UserFactory, jam_in_stage, member

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = "http://127.0.0.1:8000"
WAIT = 3  # seconds a socket waits for a message before the test fails


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    """Each test runs in its own event loop; give it its own layer."""
    channel_layers.backends = {}


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def open_socket(
    user: Any, jam: Jam, *, origin: str | None = ORIGIN
) -> tuple[WebsocketCommunicator, bool, int | None]:
    headers = []
    if user is not None:
        cookie = await database_sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    comm = WebsocketCommunicator(application, f"/ws/jams/{jam.slug}/", headers=headers)
    connected, code = await comm.connect()
    return comm, connected, code


class Socket:
    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm

    async def send(self, **message: Any) -> None:
        await self.comm.send_to(text_data=json.dumps(message))

    async def send_raw(self, text: str) -> None:
        await self.comm.send_to(text_data=text)

    async def receive(self) -> dict[str, Any]:
        return json.loads(await self.comm.receive_from(timeout=WAIT))

    async def receive_until(self, kind: str) -> dict[str, Any]:
        while True:
            message = await self.receive()
            if message["type"] == kind:
                return message

    async def quiet(self) -> bool:
        return await self.comm.receive_nothing(timeout=0.2)


@pytest.fixture
async def connected(world: dict[str, Any]) -> AsyncIterator[dict[str, Socket]]:
    sockets = {}
    for name in ("alice", "bob"):
        comm, ok, _ = await open_socket(world[name], world["jam"])
        assert ok
        sockets[name] = Socket(comm)
        hello = await sockets[name].receive()
        assert hello["type"] == "hello"
    yield sockets
    for socket in sockets.values():
        with contextlib.suppress(Exception):  # a test may have closed it already
            await socket.comm.disconnect()


async def test_hello_snapshot(world) -> None:
    comm, ok, _ = await open_socket(world["alice"], world["jam"])
    assert ok
    hello = json.loads(await comm.receive_from())
    assert hello["type"] == "hello"
    assert hello["role"] == "participant"
    assert hello["phase"]["stage"] == "discussion"
    assert hello["topics"] == [{"id": world["topic"].pk, "title": "Cities"}]
    assert hello["seq"] == (await Jam.objects.aget(pk=world["jam"].pk)).last_seq
    await comm.disconnect()


async def test_refused_without_session_membership_or_our_origin(world) -> None:
    outsider = await database_sync_to_async(UserFactory)()
    other_jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    for user, jam, origin in (
        (None, world["jam"], ORIGIN),  # anonymous
        (outsider, world["jam"], ORIGIN),  # not a member
        (world["alice"], other_jam, ORIGIN),  # member of another jam
        (world["alice"], world["jam"], "http://evil.example.com"),  # cross-site
        (world["alice"], world["jam"], None),  # no Origin at all
    ):
        comm, ok, _ = await open_socket(user, jam, origin=origin)
        assert not ok
        await comm.disconnect()


async def test_post_idea_ack_and_live_delivery(world, connected) -> None:
    alice, bob = connected["alice"], connected["bob"]
    topic = world["topic"].pk
    await bob.send(type="subscribe", topic=topic)
    assert (await bob.receive())["type"] == "subscribed"
    client_id = str(uuid.uuid4())
    await alice.send(type="post", client_id=client_id, topic=topic, title="Trees", body="Plant")
    ack = await alice.receive_until("ack")
    assert ack["client_id"] == client_id
    post = await Post.objects.select_related("idea").aget(pk=ack["id"])
    assert post.idea.title == "Trees"
    event = await bob.receive_until("event")
    assert event["event"] == "post.created"
    assert event["seq"] == ack["seq"]
    assert event["data"]["id"] == post.pk
    # Alice is not subscribed to the topic: she gets no topic event.
    assert await alice.quiet()
    # A retry with the same client_id returns the same ack, no new post.
    await alice.send(type="post", client_id=client_id, topic=topic, title="Trees", body="Plant")
    again = await alice.receive_until("ack")
    assert (again["id"], again["seq"]) == (ack["id"], ack["seq"])
    assert await Post.objects.acount() == 1


async def test_reply_and_react_over_the_socket(world, connected) -> None:
    alice, bob = connected["alice"], connected["bob"]
    await alice.send(
        type="post", client_id=str(uuid.uuid4()), topic=world["topic"].pk, title="T", body="B"
    )
    ack = await alice.receive_until("ack")
    idea = ack["idea"]
    await bob.send(type="subscribe", idea=idea)
    await bob.receive_until("subscribed")
    await alice.send(type="post", client_id=str(uuid.uuid4()), idea=idea, parent=None, body="R")
    reply = await alice.receive_until("ack")
    event = await bob.receive_until("event")
    if event["data"]["id"] == ack["id"]:  # the idea's own event, if it came late
        event = await bob.receive_until("event")
    assert (event["event"], event["data"]["parent"]) == ("post.created", ack["id"])
    await alice.send(type="react", client_id=str(uuid.uuid4()), post=reply["id"], value="agree")
    await alice.receive_until("ack")
    event = await bob.receive_until("event")
    assert event["event"] == "reaction.changed"
    assert event["data"]["counts"] == {"agree": 1, "disagree": 0, "pass": 0}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid"),
        ("[1, 2]", "invalid"),
        ('{"type": "dance"}', "invalid"),
        ('{"type": "subscribe", "topic": "1"}', "invalid"),
        ('{"type": "subscribe", "topic": true}', "invalid"),
        ('{"type": "subscribe", "topic": 1, "idea": 2}', "invalid"),
        ('{"type": "resume", "after": -1}', "invalid"),
        ('{"type": "resume", "after": NaN}', "invalid"),
        ('{"type": "resume", "after": 1e400}', "invalid"),
        ('{"type": "post", "client_id": "nope", "topic": 1, "body": "x"}', "invalid"),
        (
            '{"type": "react", "client_id": "' + str(uuid.uuid4()) + '", "post": 1, "value": 3}',
            "invalid",
        ),
        ('{"type": "subscribe", "topic": 99999999}', "not_found"),
        ('{"type": "subscribe", "topic": 99999999999999999999999}', "invalid"),
        ("[" * 100_000 + "]" * 100_000, "too_large"),
        (
            '{"type": "post", "client_id": "'
            + str(uuid.uuid4())
            + '", "topic": 1, "body": "'
            + "x" * 70_000
            + '"}',
            "too_large",
        ),
    ],
)
async def test_bad_messages_get_typed_errors_and_the_socket_stays_open(
    connected, raw, code
) -> None:
    alice = connected["alice"]
    await alice.send_raw(raw)
    error = await alice.receive()
    assert error["type"] == "error"
    assert error["code"] == code
    assert error["message"]
    await alice.send(type="ping")
    assert (await alice.receive())["type"] == "pong"


async def test_client_id_is_echoed_in_errors(world, connected) -> None:
    client_id = str(uuid.uuid4())
    await connected["alice"].send(
        type="post", client_id=client_id, topic=world["topic"].pk, title="", body="x"
    )
    error = await connected["alice"].receive()
    assert (error["code"], error["client_id"]) == ("invalid", client_id)


async def test_topic_of_another_jam_is_not_found(world, connected) -> None:
    foreign = await database_sync_to_async(TopicFactory)()
    await connected["alice"].send(type="subscribe", topic=foreign.pk)
    assert (await connected["alice"].receive())["code"] == "not_found"
    await connected["alice"].send(
        type="post", client_id=str(uuid.uuid4()), topic=foreign.pk, title="T", body="B"
    )
    assert (await connected["alice"].receive())["code"] == "not_found"
    assert await Post.objects.acount() == 0


async def test_posting_outside_the_discussion_is_phase_closed() -> None:
    def build() -> tuple[Jam, Topic, Any]:
        jam = jam_in_stage(Stage.VOTING)
        return jam, TopicFactory(jam=jam), member(jam)

    jam, topic, user = await database_sync_to_async(build)()
    comm, ok, _ = await open_socket(user, jam)
    assert ok
    socket = Socket(comm)
    await socket.receive()
    await socket.send(type="post", client_id=str(uuid.uuid4()), topic=topic.pk, title="T", body="B")
    assert (await socket.receive())["code"] == "phase_closed"
    await comm.disconnect()


async def test_flooding_trips_the_rate_limit(connected) -> None:
    alice = connected["alice"]
    for _ in range(40):
        await alice.send(type="ping")
    replies = [await alice.receive() for _ in range(40)]
    codes = [r.get("code") for r in replies if r["type"] == "error"]
    assert codes
    assert set(codes) == {"rate_limited"}
    assert sum(r["type"] == "pong" for r in replies) >= 20


async def test_resume_replays_exactly_what_was_missed(world, connected) -> None:
    alice, bob = connected["alice"], connected["bob"]
    topic = world["topic"].pk
    await bob.send(type="subscribe", topic=topic)
    await bob.receive_until("subscribed")
    await bob.send(type="post", client_id=str(uuid.uuid4()), topic=topic, title="1", body="x")
    seen = (await bob.receive_until("ack"))["seq"]  # its own event may come first
    await bob.comm.disconnect()
    missed = []
    for n in range(3):
        await alice.send(
            type="post", client_id=str(uuid.uuid4()), topic=topic, title=f"m{n}", body="x"
        )
        missed.append((await alice.receive_until("ack"))["seq"])
    comm, ok, _ = await open_socket(world["bob"], world["jam"])
    assert ok
    bob = Socket(comm)
    await bob.receive_until("hello")
    await bob.send(type="subscribe", topic=topic)
    await bob.receive_until("subscribed")
    await bob.send(type="resume", after=seen)
    replayed = []
    while True:
        message = await bob.receive()
        if message["type"] == "resumed":
            break
        replayed.append(message["seq"])
    assert replayed == missed
    assert message["seq"] >= missed[-1]
    await comm.disconnect()


async def test_alerts_reach_everyone_and_only_staff_send_them(world, connected) -> None:
    comm, ok, _ = await open_socket(world["host"], world["jam"])
    assert ok
    host = Socket(comm)
    await host.receive_until("hello")
    await connected["alice"].send(type="alert", client_id=str(uuid.uuid4()), text="Hi all")
    assert (await connected["alice"].receive())["code"] == "forbidden"
    await host.send(type="alert", client_id=str(uuid.uuid4()), text="Session at 3 pm")
    await host.receive_until("ack")
    for socket in connected.values():
        event = await socket.receive_until("event")
        assert (event["event"], event["data"]["text"]) == ("alert", "Session at 3 pm")
    await comm.disconnect()


async def test_removed_member_is_disconnected(world, connected) -> None:
    from jams.services import membership_remove

    def remove() -> None:
        membership = Membership.objects.get(jam=world["jam"], user=world["alice"])
        membership_remove(actor=world["boss"], membership=membership, reason="left the company")

    await database_sync_to_async(remove)()
    error = await connected["alice"].receive_until("error")
    assert error["code"] == "forbidden"
    output = await connected["alice"].comm.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4403}


async def test_deleting_an_account_closes_its_sockets_in_every_jam(world, connected) -> None:
    from accounts.services import account_delete

    other = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    await Membership.objects.acreate(jam=other, user=world["alice"], role=Role.PARTICIPANT)
    comm, ok, _ = await open_socket(world["alice"], other)
    assert ok
    second = Socket(comm)
    await second.receive_until("hello")
    await database_sync_to_async(account_delete)(user=world["alice"])
    for socket in (connected["alice"], second):
        assert (await socket.receive_until("error"))["code"] == "forbidden"
        output = await socket.comm.receive_output(timeout=2)
        assert output == {"type": "websocket.close", "code": 4403}
    assert await connected["bob"].quiet()  # nobody else is touched


async def test_role_change_reaches_open_sockets(world, connected) -> None:
    from jams.services import membership_set_role

    def promote() -> None:
        membership = Membership.objects.get(jam=world["jam"], user=world["bob"])
        membership_set_role(actor=world["boss"], membership=membership, role=Role.FACILITATOR)

    await database_sync_to_async(promote)()
    assert await connected["bob"].receive_until("role") == {"type": "role", "role": "facilitator"}


async def test_presence_counts_people_in_the_jam_and_topic(world, settings) -> None:
    settings.JAM_HUB_PRESENCE_SECONDS = 0.1
    sockets = []
    for name in ("alice", "alice", "bob"):  # alice has two tabs
        comm, ok, _ = await open_socket(world[name], world["jam"])
        assert ok
        sockets.append(Socket(comm))
        await sockets[-1].receive_until("hello")
    await sockets[0].send(type="subscribe", topic=world["topic"].pk)
    await sockets[0].receive_until("subscribed")
    expected = {"jam": 2, "topics": {str(world["topic"].pk): 1}}
    for _ in range(20):
        event = await sockets[2].receive_until("event")
        if event["event"] == "presence" and event["data"] == expected:
            break
    else:
        pytest.fail("no presence event with the expected counts")
    assert event["seq"] is None  # not stored: no seq, not resumable
    for socket in sockets:
        await socket.comm.disconnect()
