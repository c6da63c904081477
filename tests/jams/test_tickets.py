"""Socket tickets (jams/tickets.py): a signed, short-lived pass that opens the
jam socket without the session, through the real ASGI application; and the
per-process connect snapshot that ticketed connects reuse."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.core import signing
from django.test import Client

from ideas.models import Idea
from jams import consumers
from jams.middleware import CLOSE_TRY_AGAIN
from jams.models import Jam, Membership, Role
from jams.phases import Stage
from jams.tickets import SocketTicket, ticket_from_query, ticket_issue, ticket_read
from jamsite.asgi import application
from tests.factories import jam_in_stage, member

ORIGIN = "http://127.0.0.1:8000"
WAIT = 3


# --- The ticket itself ----------------------------------------------------------


def test_a_ticket_reads_back_what_was_issued() -> None:
    text = ticket_issue(user_id=7, jam_id=3, role="facilitator")
    assert ticket_read(text) == SocketTicket(user_id=7, jam_id=3, role="facilitator")


def test_forged_expired_or_foreign_tickets_are_refused() -> None:
    text = ticket_issue(user_id=7, jam_id=3, role="participant")
    value, _, signature = text.rpartition(":")
    forged_value = signing.dumps([8, 3, "participant"], salt="jams.socket-ticket")
    assert ticket_read(forged_value.rpartition(":")[0] + ":" + signature) is None
    assert (
        ticket_read(value + ":" + signature[:-1] + ("A" if signature[-1] != "A" else "B")) is None
    )
    assert ticket_read(text, max_age=-1) is None  # older than its lifetime
    assert ticket_read(signing.dumps([7, 3, "participant"], salt="another.purpose")) is None
    assert ticket_read(signing.dumps({"user": 7}, salt="jams.socket-ticket")) is None
    assert ticket_read(signing.dumps([7, 3, ""], salt="jams.socket-ticket")) is None
    assert ticket_read("") is None


def test_the_ticket_is_taken_from_the_query_string() -> None:
    text = ticket_issue(user_id=1, jam_id=2, role="participant")
    query = f"x=1&ticket={text.replace(':', '%3A')}".encode()
    assert ticket_from_query(query) == SocketTicket(user_id=1, jam_id=2, role="participant")
    assert ticket_from_query(f"batch=1&ticket={text}".encode()) == SocketTicket(1, 2, "participant")
    assert ticket_from_query(b"") is None
    assert ticket_from_query(b"ticket=") is None
    assert ticket_from_query(b"noticket=" + text.encode()) is None


def test_member_pages_carry_a_ticket_for_their_socket(db) -> None:
    jam = jam_in_stage(Stage.DISCUSSION)
    alice = member(jam, Role.PARTICIPANT)
    client = Client()
    client.force_login(alice)
    html = client.get(jam.get_absolute_url()).content.decode()
    text = html.split('data-ticket="', 1)[1].split('"', 1)[0]
    assert ticket_read(text) == SocketTicket(user_id=alice.pk, jam_id=jam.pk, role="participant")


# --- Sockets on tickets -----------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_state() -> None:
    channel_layers.backends = {}
    consumers._jam_ids.clear()


async def open_socket(
    slug: str, *, ticket: str | None = None, user: Any = None
) -> tuple[WebsocketCommunicator, bool, int | None]:
    headers = [(b"origin", ORIGIN.encode())]
    if user is not None:

        def cookie() -> str:
            client = Client()
            client.force_login(user)
            return client.cookies["sessionid"].value

        headers.append((b"cookie", f"sessionid={await database_sync_to_async(cookie)()}".encode()))
    path = f"/ws/jams/{slug}/" + (f"?ticket={ticket}" if ticket else "")
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await comm.connect()
    return comm, connected, code


async def receive_until(comm: WebsocketCommunicator, kind: str) -> dict[str, Any]:
    while True:
        message = json.loads(await comm.receive_from(timeout=WAIT))
        if message["type"] == kind:
            return message


def ticket_for(user: Any, jam: Jam, role: str = "participant") -> str:
    return ticket_issue(user_id=user.pk, jam_id=jam.pk, role=role)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_ticket_alone_opens_the_socket_and_the_member_can_post(world) -> None:
    jam, topic = world["jam"], world["topic"]
    comm, connected, _code = await open_socket(jam.slug, ticket=ticket_for(world["alice"], jam))
    assert connected  # no session cookie at all
    hello = await receive_until(comm, "hello")
    assert hello["role"] == "participant"
    assert hello["topics"] == [{"id": topic.pk, "title": "Cities"}]
    assert hello["seq"] == (await Jam.objects.aget(pk=jam.pk)).last_seq
    # The hello brings a fresh ticket for the next connect.
    assert ticket_read(hello["ticket"]) == SocketTicket(world["alice"].pk, jam.pk, "participant")
    await comm.send_to(text_data=json.dumps({"type": "resume", "after": hello["seq"]}))
    await receive_until(comm, "resumed")
    client_id = str(uuid.uuid4())
    await comm.send_to(
        text_data=json.dumps(
            {"type": "post", "client_id": client_id, "topic": topic.pk, "title": "T", "body": "b"}
        )
    )
    ack = await receive_until(comm, "ack")
    assert ack["client_id"] == client_id
    idea = await Idea.objects.aget(topic=topic)
    assert idea.author_id == world["alice"].pk
    await comm.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_bad_ticket_falls_back_to_the_session(world) -> None:
    jam = world["jam"]
    forged = ticket_for(world["alice"], jam, role="organizer")[:-2] + "xx"
    comm, connected, code = await open_socket(jam.slug, ticket=forged)
    assert (connected, code) == (False, consumers.CLOSE_UNAUTHENTICATED)
    comm, connected, _ = await open_socket(jam.slug, ticket=forged, user=world["host"])
    assert connected
    hello = await receive_until(comm, "hello")
    assert hello["role"] == "facilitator"  # the session's member, not the forged ticket's
    await comm.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_ticket_for_another_jam_is_refused_before_the_hello(world) -> None:
    other = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    await Membership.objects.acreate(jam=other, user=world["alice"], role=Role.PARTICIPANT)
    # Known slug (cached id) and unknown slug: both refused, "try again later".
    for warm in (False, True):
        if warm:
            comm, ok, _ = await open_socket(world["jam"].slug, user=world["alice"])
            assert ok
            await comm.disconnect()
        ticket = ticket_for(world["alice"], other)
        comm, _connected, _code = await open_socket(world["jam"].slug, ticket=ticket)
        output = await comm.receive_output(timeout=WAIT)
        assert output == {"type": "websocket.close", "code": CLOSE_TRY_AGAIN}
        await comm.disconnect()


async def remove(world: dict[str, Any]) -> None:
    from jams.services import membership_remove

    def run() -> None:
        membership = Membership.objects.get(jam=world["jam"], user=world["alice"])
        membership_remove(actor=world["boss"], membership=membership, reason="left")

    await database_sync_to_async(run)()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_removed_members_ticket_is_closed_at_the_first_resume(world) -> None:
    jam = world["jam"]
    ticket = ticket_for(world["alice"], jam)
    await remove(world)
    comm, connected, _ = await open_socket(jam.slug, ticket=ticket)
    assert connected
    hello = await receive_until(comm, "hello")
    await comm.send_to(text_data=json.dumps({"type": "resume", "after": hello["seq"]}))
    error = await receive_until(comm, "error")
    assert error["code"] == "forbidden"
    assert await comm.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4403}


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_removed_members_ticket_is_closed_before_going_live_without_resume(
    world, monkeypatch
) -> None:
    monkeypatch.setattr(consumers, "HOLD_SECONDS", 0.2)
    jam = world["jam"]
    ticket = ticket_for(world["alice"], jam)
    await remove(world)
    comm, connected, _ = await open_socket(jam.slug, ticket=ticket)
    assert connected
    await receive_until(comm, "hello")
    error = await receive_until(comm, "error")  # no resume sent
    assert error["code"] == "forbidden"
    assert await comm.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4403}


# --- The connect snapshot cache -------------------------------------------------------


async def post_over(comm: WebsocketCommunicator, topic: int) -> int:
    message = {"type": "post", "client_id": str(uuid.uuid4()), "topic": topic, "title": "t"}
    await comm.send_to(text_data=json.dumps({**message, "body": "b"}))
    return int((await receive_until(comm, "ack"))["seq"])


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_ticketed_connects_reuse_the_snapshot_only_while_no_event_passed(world) -> None:
    jam, topic = world["jam"], world["topic"].pk
    poster, ok, _ = await open_socket(jam.slug, user=world["host"])
    assert ok
    await receive_until(poster, "hello")
    ticket = ticket_for(world["alice"], jam)
    first, ok, _ = await open_socket(jam.slug, ticket=ticket)
    assert ok
    seq0 = (await receive_until(first, "hello"))["seq"]
    cache = consumers.snapshot_cache()
    entry = cache.entries[jam.pk]
    second, ok, _ = await open_socket(jam.slug, ticket=ticket)
    assert ok
    assert (await receive_until(second, "hello"))["seq"] == seq0
    assert cache.entries[jam.pk] is entry  # served from the cache, not read again
    # An event passes through this process's hub: the cached state is stale.
    seq1 = await post_over(poster, topic)
    assert seq1 > seq0
    hub = consumers.hub_for_loop()
    async with asyncio.timeout(WAIT):
        while hub.released_seq(jam.pk) != seq1:  # noqa: ASYNC110 (the hub has no event for it)
            await asyncio.sleep(0.01)
    third, ok, _ = await open_socket(jam.slug, ticket=ticket)
    assert ok
    assert (await receive_until(third, "hello"))["seq"] == seq1
    assert cache.entries[jam.pk] is not entry
    for comm in (poster, first, second, third):
        await comm.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_change_without_an_event_shows_after_the_snapshot_lifetime(world, settings) -> None:
    settings.JAM_WS_SNAPSHOT_SECONDS = 0.0
    jam = world["jam"]
    ticket = ticket_for(world["alice"], jam)
    first, ok, _ = await open_socket(jam.slug, ticket=ticket)
    assert ok
    assert (await receive_until(first, "hello"))["jam"]["title"] == jam.title
    await Jam.objects.filter(pk=jam.pk).aupdate(title="Renamed jam")
    second, ok, _ = await open_socket(jam.slug, ticket=ticket)
    assert ok
    assert (await receive_until(second, "hello"))["jam"]["title"] == "Renamed jam"
    await first.disconnect()
    await second.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_sockets_going_live_together_share_a_membership_read(world, monkeypatch) -> None:
    monkeypatch.setattr(consumers, "HOLD_SECONDS", 0.2)
    jam = world["jam"]
    tickets = {
        name: ticket_for(world[name], jam, role)
        for name, role in (("alice", "participant"), ("host", "facilitator"), ("boss", "organizer"))
    }
    await remove(world)  # alice's ticket is still valid, her membership is gone
    await Membership.objects.filter(jam=jam, user=world["boss"]).aupdate(role=Role.FACILITATOR)
    sockets = {}
    for name, ticket in tickets.items():
        comm, ok, _ = await open_socket(jam.slug, ticket=ticket)
        assert ok
        await receive_until(comm, "hello")
        sockets[name] = comm
    # No resume from anyone: the three reads are one batch.
    assert (await receive_until(sockets["alice"], "error"))["code"] == "forbidden"
    assert await sockets["alice"].receive_output(timeout=WAIT) == {
        "type": "websocket.close",
        "code": 4403,
    }
    # The organizer's ticket is out of date: the read corrects the role.
    assert await receive_until(sockets["boss"], "role") == {"type": "role", "role": "facilitator"}
    await sockets["host"].send_to(
        text_data=json.dumps({"type": "alert", "client_id": str(uuid.uuid4()), "text": "Hello"})
    )
    for name in ("host", "boss"):
        event = await receive_until(sockets[name], "event")
        assert (event["event"], event["data"]["text"]) == ("alert", "Hello")
    for comm in sockets.values():
        await comm.disconnect()
