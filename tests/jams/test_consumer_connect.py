"""The connect path's per-process slug cache (jams/consumers.py): one
database call per connect, and still right when a slug changes hands."""

from __future__ import annotations

import json
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client

from jams import consumers
from jams.models import Jam
from jams.phases import Stage
from jamsite.asgi import application
from tests.factories import UserFactory, jam_in_stage, member

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def fresh_state() -> None:
    channel_layers.backends = {}
    consumers._jam_ids.clear()


def session_cookie(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def connect(user: Any, slug: str) -> tuple[WebsocketCommunicator, bool, int | None]:
    cookie = await database_sync_to_async(session_cookie)(user)
    comm = WebsocketCommunicator(
        application,
        f"/ws/jams/{slug}/",
        headers=[(b"cookie", f"sessionid={cookie}".encode()), (b"origin", ORIGIN.encode())],
    )
    connected, code = await comm.connect()
    return comm, connected, code


async def test_a_cached_slug_still_refuses_non_members() -> None:
    jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    alice = await database_sync_to_async(member)(jam)
    stranger = await database_sync_to_async(UserFactory)()
    comm, connected, _ = await connect(alice, jam.slug)
    assert connected
    assert consumers._jam_ids == {jam.slug: jam.pk}
    other, connected, code = await connect(stranger, jam.slug)
    assert not connected
    assert code == consumers.CLOSE_FORBIDDEN
    # The refused socket left the hub: only alice's remains in the jam.
    hub = consumers.hub_for_loop()
    assert {s.user_id for s in hub.jams[jam.pk]} == {alice.pk}
    await comm.disconnect()
    await other.disconnect()


async def test_a_slug_that_changed_hands_joins_the_new_jam() -> None:
    old = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION, slug="reused")
    consumers._jam_ids["reused"] = old.pk
    await database_sync_to_async(Jam.objects.filter(pk=old.pk).delete)()
    new = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION, slug="reused")
    bob = await database_sync_to_async(member)(new)
    comm, connected, _ = await connect(bob, "reused")
    assert connected
    hello = json.loads(await comm.receive_from(timeout=3))
    assert hello["type"] == "hello"
    assert consumers._jam_ids["reused"] == new.pk
    hub = consumers.hub_for_loop()
    assert old.pk not in hub.jams
    assert {s.user_id for s in hub.jams[new.pk]} == {bob.pk}
    await comm.disconnect()


async def test_sockets_have_no_channel_of_their_own() -> None:
    """Only the hub listens on the layer; a socket costs no channel, queue or
    subscription there."""
    from channels.layers import get_channel_layer

    jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    people = [await database_sync_to_async(member)(jam) for _ in range(3)]
    sockets = [(await connect(person, jam.slug))[0] for person in people]
    layer = get_channel_layer()
    assert layer is not None
    hub = consumers.hub_for_loop()
    assert all(socket.channel_layer is None for socket in hub.jams[jam.pk])  # type: ignore[attr-defined]
    assert set(layer.channels) <= {hub.channel}  # type: ignore[attr-defined]
    for comm in sockets:
        await comm.disconnect()


async def test_connects_beyond_the_gate_are_refused_quickly_then_admitted(settings) -> None:
    """Admission control: while the process's connect slots are taken, a
    socket waits at most JAM_WS_CONNECT_WAIT_SECONDS and is refused with
    "try again later"; once a slot is free the same member gets in."""
    settings.JAM_WS_CONNECTS_IN_FLIGHT = 1
    settings.JAM_WS_CONNECT_WAIT_SECONDS = 0.3
    jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    alice = await database_sync_to_async(member)(jam)
    gate = consumers.connect_gate()
    assert await gate.enter()  # the only slot is busy (another connect in progress)
    refused, connected, _ = await connect(alice, jam.slug)
    # Accepted, then closed with 4503, so clients see the code (a close
    # before accept would be an HTTP 403).
    assert connected
    closed = await refused.receive_output()
    assert closed == {"type": "websocket.close", "code": 4503}  # nothing (no hello) before it
    assert gate.refused == 1
    await refused.disconnect()
    gate.leave()
    comm, connected, _ = await connect(alice, jam.slug)
    assert connected
    hello = json.loads(await comm.receive_from())
    assert hello["type"] == "hello"
    await comm.disconnect()
    # The admitted connect gave its slot back.
    assert await gate.enter()
    gate.leave()
