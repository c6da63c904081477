"""Batched frames (``?batch=1``, jams/hub.py and jams/consumers.py): events
that reach the hub together leave in one frame per batching socket, one
message a line, in seq order; other sockets get one frame per event."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from jams.models import Role
from jams.phases import Stage
from jams.realtime import RecordedEvent, event_record, jam_group
from jamsite.asgi import application
from tests.factories import jam_in_stage, member

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = "http://127.0.0.1:8000"
WAIT = 3


@pytest.fixture(autouse=True)
def fresh_layer() -> None:
    channel_layers.backends = {}


async def open_socket(user: Any, slug: str, *, batch: bool) -> WebsocketCommunicator:
    def cookie() -> str:
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    headers = [
        (b"origin", ORIGIN.encode()),
        (b"cookie", f"sessionid={await database_sync_to_async(cookie)()}".encode()),
    ]
    path = f"/ws/jams/{slug}/" + ("?batch=1" if batch else "")
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await comm.connect()
    assert connected
    hello = json.loads(await comm.receive_from(timeout=WAIT))
    assert hello["type"] == "hello"
    await comm.send_to(text_data=json.dumps({"type": "resume", "after": hello["seq"]}))
    while json.loads(await comm.receive_from(timeout=WAIT))["type"] != "resumed":
        pass
    return comm


def stored(jam_id: int, n: int) -> list[RecordedEvent]:
    """n jam-wide events, stored but not broadcast (the test publishes them)."""
    with transaction.atomic():
        events = [event_record(jam_id=jam_id, name="test", data={"n": i}) for i in range(n)]
        transaction.get_connection().run_on_commit = []
    return events


async def publish_together(events: list[RecordedEvent]) -> None:
    """Into the layer at once (in order), as a Redis reader puts what one read
    brought: the hub finds them all waiting. (One group_send after the other
    would let the hub take each alone: the memory layer's group_send pauses.)"""
    layer = get_channel_layer()
    await asyncio.gather(
        *(layer.group_send(jam_group(event.jam_id), event.layer_message()) for event in events)
    )


async def frames(comm: WebsocketCommunicator, messages: int) -> list[list[dict[str, Any]]]:
    """Frames until ``messages`` messages arrived, each split into its lines."""
    got: list[list[dict[str, Any]]] = []
    while sum(len(frame) for frame in got) < messages:
        text = await comm.receive_from(timeout=WAIT)
        got.append([json.loads(line) for line in text.split("\n")])
    return got


@pytest.fixture
async def jam_and_members() -> tuple[Any, Any, Any]:
    def build() -> tuple[Any, Any, Any]:
        jam = jam_in_stage(Stage.DISCUSSION)
        return jam, member(jam, Role.PARTICIPANT), member(jam, Role.PARTICIPANT)

    return await database_sync_to_async(build)()


async def test_events_arriving_together_share_a_frame_only_for_batching_sockets(
    jam_and_members,
) -> None:
    jam, alice, bob = jam_and_members
    batching = await open_socket(alice, jam.slug, batch=True)
    plain = await open_socket(bob, jam.slug, batch=False)
    events = await database_sync_to_async(stored)(jam.pk, 5)
    await publish_together(events)
    seqs = [e.seq for e in events]
    got = await frames(batching, 5)
    assert [m["seq"] for frame in got for m in frame] == seqs
    assert len(got) < 5  # several events in one frame
    plain_got = await frames(plain, 5)
    assert [len(frame) for frame in plain_got] == [1] * 5
    assert [frame[0]["seq"] for frame in plain_got] == seqs
    await batching.disconnect()
    await plain.disconnect()
