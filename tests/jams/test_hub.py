"""The hub delivers each jam's events in seq order, once, and fills a lost
delivery from the event table, with the real in-memory channel layer."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer
from channels.sessions import InstanceSessionWrapper
from django.db import transaction

from jams.consumers import JamConsumer
from jams.hub import GAP_SECONDS, Hub
from jams.models import Jam
from jams.phases import Stage
from jams.realtime import RecordedEvent, event_record, jam_group
from tests.factories import jam_in_stage

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


class RecordingSocket:
    """Stands in for a consumer: records what the hub hands it."""

    def __init__(self, jam_id: int, user_id: int = 1) -> None:
        self.jam_id, self.user_id = jam_id, user_id
        self.topics: set[int] = set()
        self.seqs: list[int] = []
        self.ticks: list[int] = []
        self.ephemeral: list[dict] = []

    def wants(self, *, topic: int | None, idea: int | None, recipient: int | None) -> bool:
        return recipient is None or recipient == self.user_id

    async def deliver(self, seq: int, text: str) -> None:
        self.seqs.append(seq)

    async def send_ephemeral(self, text: str) -> None:
        self.ephemeral.append(json.loads(text))

    async def recheck(self) -> None:
        pass

    async def tick(self, seq: int) -> None:
        self.ticks.append(seq)


def record(jam: Jam, n: int) -> list[RecordedEvent]:
    """Store n events without broadcasting them (the layer 'loses' them)."""
    with transaction.atomic():
        events = [event_record(jam_id=jam.pk, name="test", data={"n": i}) for i in range(n)]
        transaction.get_connection().run_on_commit = []  # no broadcast
    return events


async def publish(event: RecordedEvent) -> None:
    await get_channel_layer().group_send(jam_group(event.jam_id), event.layer_message())


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    channel_layers.backends = {}


async def settle(socket: RecordingSocket, count: int, within: float = 3) -> None:
    for _ in range(int(within / 0.05)):
        if len(socket.seqs) >= count:
            return
        await asyncio.sleep(0.05)


async def test_out_of_order_arrivals_go_out_in_order() -> None:
    jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    hub = Hub(get_channel_layer())
    socket = RecordingSocket(jam.pk)
    await hub.join(socket)
    events = await database_sync_to_async(record)(jam, 3)
    for event in (events[2], events[0], events[1], events[0]):  # reordered, one duplicate
        await publish(event)
    await settle(socket, 3)
    assert socket.seqs == [e.seq for e in events]
    await hub.close()


async def test_a_lost_delivery_is_sent_from_the_database() -> None:
    jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    hub = Hub(get_channel_layer())
    socket = RecordingSocket(jam.pk)
    await hub.join(socket)
    events = await database_sync_to_async(record)(jam, 3)
    await publish(events[0])
    await publish(events[2])  # events[1] never arrives
    await asyncio.sleep(GAP_SECONDS / 2)
    assert socket.seqs == [events[0].seq]  # 3 waits for 2
    await settle(socket, 3)
    assert socket.seqs == [e.seq for e in events]
    await hub.close()


async def test_a_loss_at_the_very_end_is_sent_at_the_next_heartbeat(settings) -> None:
    settings.JAM_HUB_TICK_SECONDS = 0.2
    jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    hub = Hub(get_channel_layer())
    socket = RecordingSocket(jam.pk)
    await hub.join(socket)
    events = await database_sync_to_async(record)(jam, 2)
    await publish(events[0])  # events[1] is lost and nothing follows it
    await settle(socket, 2)
    assert socket.seqs == [e.seq for e in events]
    assert events[1].seq in socket.ticks
    await hub.close()


async def test_events_from_before_joining_are_not_sent() -> None:
    jam = await database_sync_to_async(jam_in_stage)(Stage.DISCUSSION)
    old = await database_sync_to_async(record)(jam, 2)
    hub = Hub(get_channel_layer())
    socket = RecordingSocket(jam.pk)
    await hub.join(socket)
    new = await database_sync_to_async(record)(jam, 1)
    for event in (*old, *new):
        await publish(event)
    await settle(socket, 1)
    await asyncio.sleep(0.2)
    assert socket.seqs == [new[0].seq]
    await hub.close()


async def test_deliveries_skip_only_the_pass_through_session_wrapper() -> None:
    """The fan-out writes frames past Channels' session wrapper (it acts on
    ``http.response.start`` only); any other send stays as it is."""
    sent: list[dict[str, object]] = []

    async def server_send(message: dict[str, object]) -> None:
        sent.append(message)

    plain = JamConsumer()
    plain.base_send = server_send
    assert plain.frame_send is server_send

    wrapped = JamConsumer()
    wrapped.base_send = InstanceSessionWrapper({"cookies": {}}, server_send).send
    assert wrapped.frame_send is server_send

    wrapped.floor, wrapped.sent, wrapped.held = 0, 0, None
    await wrapped.deliver(1, "one")
    await wrapped.deliver(1, "one again")  # sent already: skipped
    assert sent == [{"type": "websocket.send", "text": "one"}]


async def test_turnout_signals_are_coalesced_into_one_push_of_the_committed_counter(
    settings,
) -> None:
    """Many votes within the window: one read, one frame per socket and round,
    with the counter as committed (not what the signals arrived with)."""
    settings.JAM_HUB_TURNOUT_SECONDS = 0.3

    def build() -> tuple[Jam, int, int]:
        from tests.factories import idea_in, round_with_ballot

        jam = jam_in_stage(Stage.VOTING)
        ideas = [idea_in(jam) for _ in range(2)]
        first = round_with_ballot(jam, ideas[:1], method="approval")
        second = round_with_ballot(jam, ideas[1:], method="approval")
        return jam, first.pk, second.pk

    jam, first, second = await database_sync_to_async(build)()
    hub = Hub(get_channel_layer())
    socket = RecordingSocket(jam.pk)
    await hub.join(socket)
    from voting.models import VotingRound

    await VotingRound.objects.filter(pk=first).aupdate(voters=7)
    await VotingRound.objects.filter(pk=second).aupdate(voters=2)
    for round_id in (first, first, second, first, first):
        message = {"type": "hub.turnout", "jam": jam.pk, "round": round_id}
        await get_channel_layer().group_send(jam_group(jam.pk), message)
    await asyncio.sleep(0.1)
    assert socket.ephemeral == []  # within the window: nothing yet
    for _ in range(40):
        if socket.ephemeral:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # nothing more comes
    assert [(e["event"], e["seq"], e["data"]) for e in socket.ephemeral] == [
        ("turnout.changed", None, {"round": first, "voters": 7}),
        ("turnout.changed", None, {"round": second, "voters": 2}),
    ]
    # A later signal opens a new window and pushes the counter as it is then.
    await VotingRound.objects.filter(pk=first).aupdate(voters=8)
    await get_channel_layer().group_send(
        jam_group(jam.pk), {"type": "hub.turnout", "jam": jam.pk, "round": first}
    )
    for _ in range(40):
        if len(socket.ephemeral) == 3:
            break
        await asyncio.sleep(0.05)
    assert socket.ephemeral[2]["data"] == {"round": first, "voters": 8}
    await hub.close()
