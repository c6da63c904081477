"""A socket that closes while the hub fans an event out (its disconnect has
not run yet, so it is still in the hub) must cost the other sockets nothing:
before, the send to it raised, the loop ended, every socket after it missed
that event, and a client that then got a newer event never saw the hole.
Real in-memory channel layer and the server's own exception types."""

from __future__ import annotations

import asyncio

import pytest
from autobahn.exception import Disconnected
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from django.db import transaction

from jams.hub import Hub
from jams.models import Jam
from jams.phases import Stage
from jams.realtime import RecordedEvent, event_record, jam_group
from tests.factories import jam_in_stage

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


class ClosingSocket:
    """A consumer whose connection is gone for the events in ``closed_for``:
    sending to it raises as daphne does ("Attempt to send on a closed
    protocol"); everything else is recorded."""

    def __init__(self, jam_id: int, user_id: int, closed_for: int) -> None:
        self.jam_id, self.user_id = jam_id, user_id
        self.topics: set[int] = set()
        self.closed_for = closed_for
        self.seqs: list[int] = []
        self.ticks = 0

    def wants(self, *, topic: int | None, idea: int | None, recipient: int | None) -> bool:
        return recipient is None or recipient == self.user_id

    async def deliver(self, seq: int, text: str) -> None:
        if seq == self.closed_for:
            raise Disconnected("Attempt to send on a closed protocol")
        self.seqs.append(seq)

    async def send_ephemeral(self, text: str) -> None:
        raise Disconnected("Attempt to send on a closed protocol")

    async def recheck(self) -> None:
        pass

    async def tick(self, seq: int) -> None:
        self.ticks += 1


def record(jam: Jam, n: int) -> list[RecordedEvent]:
    with transaction.atomic():
        events = [event_record(jam_id=jam.pk, name="test", data={"n": i}) for i in range(n)]
        transaction.get_connection().run_on_commit = []  # published by hand below
    return events


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    channel_layers.backends = {}


async def test_a_socket_closing_mid_fan_out_costs_the_others_nothing() -> None:
    jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    layer = get_channel_layer()
    hub = Hub(layer)
    # Each of the next four events fails on a different socket; whatever
    # order the hub walks its sockets in, at most one of them is last, so
    # without the fix some socket after a failing one misses an event.
    first = await database_sync_to_async(lambda: Jam.objects.get(pk=jam.pk).last_seq)() + 1
    seqs = list(range(first, first + 4))
    sockets = [ClosingSocket(jam.pk, user_id=n + 1, closed_for=seq) for n, seq in enumerate(seqs)]
    try:
        for socket in sockets:
            await hub.join(socket)
        events = await database_sync_to_async(record)(jam, 4)
        assert [e.seq for e in events] == seqs
        for event in events:
            await layer.group_send(jam_group(event.jam_id), event.layer_message())
        expected = {id(s): [q for q in seqs if q != s.closed_for] for s in sockets}
        for _ in range(100):
            if all(s.seqs == expected[id(s)] for s in sockets):
                break
            await asyncio.sleep(0.05)
        assert [s.seqs for s in sockets] == [expected[id(s)] for s in sockets]
        # The hub's listener is still alive: a later event reaches everyone.
        (later,) = await database_sync_to_async(record)(jam, 1)
        await layer.group_send(jam_group(later.jam_id), later.layer_message())
        for _ in range(100):
            if all(s.seqs[-1:] == [later.seq] for s in sockets):
                break
            await asyncio.sleep(0.05)
        assert all(s.seqs[-1] == later.seq for s in sockets)
    finally:
        await hub.close()
