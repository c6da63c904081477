"""Votes over the jam socket: the same ballot rules as the round page's form,
acknowledged on the socket, the turnout pushed to everybody live."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers

from jams.models import Role
from jams.phases import Stage
from tests.factories import TopicFactory, idea_in, jam_in_stage, member, round_with_ballot
from tests.jams.test_consumers import Socket, open_socket
from voting.models import Ballot, BallotEntry

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    channel_layers.backends = {}


@pytest.fixture
async def polls() -> dict[str, Any]:
    """A jam in its voting stage with a budget round of three ideas (5 points),
    and an approval round of a jam still in discussion."""

    def build() -> dict[str, Any]:
        jam = jam_in_stage(Stage.VOTING)
        topic = TopicFactory(jam=jam)
        ideas = [idea_in(jam, topic=topic) for _ in range(3)]
        early = jam_in_stage(Stage.DISCUSSION)
        early_idea = idea_in(early, topic=TopicFactory(jam=early))
        return {
            "jam": jam,
            "ideas": [i.pk for i in ideas],
            "round": round_with_ballot(jam, ideas, method="budget", parameters={"points": 5}),
            "alice": member(jam, Role.PARTICIPANT),
            "bob": member(jam, Role.PARTICIPANT),
            "early": early,
            "early_idea": early_idea.pk,
            "early_round": round_with_ballot(early, [early_idea], method="approval"),
            "early_member": member(early, Role.PARTICIPANT),
        }

    return await database_sync_to_async(build)()


@pytest.fixture
async def sockets(polls: dict[str, Any]) -> AsyncIterator[dict[str, Socket]]:
    opened = {}
    for name in ("alice", "bob"):
        comm, ok, _ = await open_socket(polls[name], polls["jam"])
        assert ok
        opened[name] = Socket(comm)
        assert (await opened[name].receive())["type"] == "hello"
    yield opened
    for socket in opened.values():
        with contextlib.suppress(Exception):
            await socket.comm.disconnect()


async def stored(round_pk: int, voter: Any) -> dict[int, int]:
    return {
        e.idea_id: e.value
        async for e in BallotEntry.objects.filter(ballot__round_id=round_pk, ballot__voter=voter)
    }


async def test_a_vote_is_stored_acknowledged_and_the_turnout_goes_out_live(polls, sockets) -> None:
    alice, bob = sockets["alice"], sockets["bob"]
    first, second, _ = polls["ideas"]
    client_id = str(uuid.uuid4())
    await alice.send(
        type="vote",
        client_id=client_id,
        round=polls["round"].pk,
        choices={str(first): 3, str(second): 2},
    )
    ack = await alice.receive_until("ack")
    assert ack == {
        "type": "ack",
        "client_id": client_id,
        "round": polls["round"].pk,
        "entries": 2,
        "voters": 1,
    }
    assert await stored(polls["round"].pk, polls["alice"]) == {first: 3, second: 2}
    # Pushed by the hub within its window, unstored (seq null), like presence.
    event = await bob.receive_until("event")
    assert (event["event"], event["seq"], event["data"]) == (
        "turnout.changed",
        None,
        {"round": polls["round"].pk, "voters": 1},
    )

    # Changed: the whole ballot is replaced, the turnout stays.
    await alice.send(
        type="vote", client_id=str(uuid.uuid4()), round=polls["round"].pk, choices={str(second): 5}
    )
    ack = await alice.receive_until("ack")
    assert (ack["entries"], ack["voters"]) == (1, None)
    assert await stored(polls["round"].pk, polls["alice"]) == {second: 5}
    assert await bob.quiet()

    # Withdrawn: an empty ballot stops counting.
    await alice.send(type="vote", client_id=str(uuid.uuid4()), round=polls["round"].pk, choices={})
    ack = await alice.receive_until("ack")
    assert (ack["entries"], ack["voters"]) == (0, 0)
    assert await stored(polls["round"].pk, polls["alice"]) == {}


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        ({"IDEA0": 6}, "invalid"),  # over the 5 points of one idea's range
        ({"IDEA0": 3, "IDEA1": 3}, "too_large"),  # 6 points spread, 5 allowed
        ({"IDEA0": "3"}, "invalid"),  # not a whole number
        ({"IDEA0": 1.5}, "invalid"),
        ({"IDEA0": True}, "invalid"),
        ({"999999999": 1}, "invalid"),  # not on the ballot
        ({"nope": 1}, "invalid"),
        ([1, 2], "invalid"),  # not an object
        (None, "invalid"),
    ],
)
async def test_a_bad_ballot_gets_a_typed_error_and_changes_nothing(
    polls, sockets, choices, code
) -> None:
    alice = sockets["alice"]
    ideas = polls["ideas"]
    if isinstance(choices, dict):
        choices = {
            (str(ideas[int(k[4:])]) if k.startswith("IDEA") else k): v for k, v in choices.items()
        }
    round_pk, before = polls["round"].pk, {str(ideas[2]): 1}
    await alice.send(type="vote", client_id=str(uuid.uuid4()), round=round_pk, choices=before)
    assert (await alice.receive_until("ack"))["entries"] == 1
    client_id = str(uuid.uuid4())
    await alice.send(type="vote", client_id=client_id, round=polls["round"].pk, choices=choices)
    error = await alice.receive_until("error")
    assert (error["client_id"], error["code"]) == (client_id, code)
    assert error["message"]
    assert await stored(polls["round"].pk, polls["alice"]) == {ideas[2]: 1}
    # The socket stays open and usable.
    await alice.send(type="ping")
    assert (await alice.receive_until("pong"))["type"] == "pong"


async def test_a_vote_outside_the_voting_stage_is_refused(polls) -> None:
    comm, ok, _ = await open_socket(polls["early_member"], polls["early"])
    assert ok
    socket = Socket(comm)
    try:
        assert (await socket.receive())["type"] == "hello"
        await socket.send(
            type="vote",
            client_id=str(uuid.uuid4()),
            round=polls["early_round"].pk,
            choices={str(polls["early_idea"]): 1},
        )
        error = await socket.receive_until("error")
        assert error["code"] == "phase_closed"
        assert not await Ballot.objects.filter(round=polls["early_round"]).aexists()
    finally:
        await comm.disconnect()


async def test_a_round_of_another_jam_is_not_found(polls, sockets) -> None:
    """The socket's jam bounds the round ids it reaches (the early jam's round,
    sent on the voting jam's socket)."""
    alice = sockets["alice"]
    await alice.send(
        type="vote",
        client_id=str(uuid.uuid4()),
        round=polls["early_round"].pk,
        choices={str(polls["early_idea"]): 1},
    )
    assert (await alice.receive_until("error"))["code"] == "not_found"
    assert not await Ballot.objects.filter(round=polls["early_round"]).aexists()


async def test_a_voter_removed_from_the_jam_cannot_vote_on_an_open_socket(polls, sockets) -> None:
    """The socket's user id is all the vote takes: the membership is read by
    the vote's own checks, so a removal counts at once."""
    from jams.models import Membership

    await Membership.objects.filter(jam=polls["jam"], user=polls["alice"]).adelete()
    alice = sockets["alice"]
    await alice.send(
        type="vote",
        client_id=str(uuid.uuid4()),
        round=polls["round"].pk,
        choices={str(polls["ideas"][0]): 1},
    )
    error = await alice.receive_until("error")
    assert error["code"] in ("not_found", "forbidden")
    assert not await Ballot.objects.filter(round=polls["round"]).aexists()


async def test_votes_of_many_sockets_at_once_share_batches(polls) -> None:
    """Twelve members vote at the same moment: votes that arrive while a
    batch is in its transaction go together in the next one
    (jams/groupcommit.py, ``services.votes_cast``), and still every voter
    gets their own ack and ballot, and one voter's bad ballot fails alone."""
    from jams.groupcommit import vote_batch_for_loop

    jam, round_pk = polls["jam"], polls["round"].pk
    first, second, third = polls["ideas"]
    people = await database_sync_to_async(lambda: [member(jam) for _ in range(12)])()
    sockets = []
    for person in people:
        comm, ok, _ = await open_socket(person, jam)
        assert ok
        sockets.append(Socket(comm))
        assert (await sockets[-1].receive())["type"] == "hello"
    ballots = [{str(first): i % 6, str(third): 5 - i % 6} for i in range(12)]
    ballots[5] = {str(second): 6}  # over the 5 points
    client_ids = [str(uuid.uuid4()) for _ in sockets]
    try:
        for i, socket in enumerate(sockets):
            await socket.send(
                type="vote", client_id=client_ids[i], round=round_pk, choices=ballots[i]
            )
        acks = []
        for socket in sockets:
            message = await socket.receive()
            while message["type"] not in ("ack", "error"):
                message = await socket.receive()
            acks.append(message)
        batcher = vote_batch_for_loop(jam.pk)
        assert batcher.largest > 1
        assert batcher.batches < 12
    finally:
        for socket in sockets:
            with contextlib.suppress(Exception):
                await socket.comm.disconnect()
    assert [a["client_id"] for a in acks] == client_ids
    assert [a["type"] for a in acks] == ["ack"] * 5 + ["error"] + ["ack"] * 6
    assert acks[5]["code"] == "invalid"
    for i, (person, ack) in enumerate(zip(people, acks, strict=True)):
        if i == 5:
            assert await stored(round_pk, person) == {}
            continue
        expected = {int(idea): value for idea, value in ballots[i].items() if value}
        assert ack["entries"] == len(expected)
        assert await stored(round_pk, person) == expected
    counting = await Ballot.objects.filter(round_id=round_pk, size__gt=0).acount()
    assert counting == 11
