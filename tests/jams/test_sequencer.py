"""The hub's sequencer: in-order release, duplicates dropped, gaps filled."""

from __future__ import annotations

import asyncio
import random

from hypothesis import given
from hypothesis import strategies as st

from jams.sequencer import Message, Sequencer


def msg(seq: int, source: str = "live") -> Message:
    return {"seq": seq, "source": source}


def test_in_order_messages_pass_straight_through() -> None:
    sequencer = Sequencer(next_seq=5)
    assert sequencer.accept(msg(5)) == [msg(5)]
    assert sequencer.accept(msg(6)) == [msg(6)]
    assert not sequencer.waiting


def test_out_of_order_messages_are_held_then_released_in_order() -> None:
    sequencer = Sequencer(next_seq=1)
    assert sequencer.accept(msg(3)) == []
    assert sequencer.accept(msg(2)) == []
    assert sequencer.waiting
    assert [m["seq"] for m in sequencer.accept(msg(1))] == [1, 2, 3]


def test_old_and_duplicate_messages_are_dropped() -> None:
    sequencer = Sequencer(next_seq=10)
    assert sequencer.accept(msg(9)) == []
    assert sequencer.accept(msg(10)) == [msg(10)]
    assert sequencer.accept(msg(10)) == []


def test_a_lost_message_is_fetched_from_the_database() -> None:
    fetched: list[tuple[int, int]] = []

    async def fetch(low: int, high: int) -> list[Message]:
        fetched.append((low, high))
        return [msg(seq, "db") for seq in range(low, high + 1)]

    sequencer = Sequencer(next_seq=1)
    sequencer.accept(msg(1))
    assert sequencer.accept(msg(4)) == []
    released = asyncio.run(sequencer.fill_gap(fetch))
    assert fetched == [(2, 3)]
    assert [(m["seq"], m["source"]) for m in released] == [(2, "db"), (3, "db"), (4, "live")]
    # The late live copy of 2 is dropped.
    assert sequencer.accept(msg(2)) == []


def test_a_hole_the_database_cannot_fill_does_not_stall() -> None:
    async def fetch(low: int, high: int) -> list[Message]:
        return []

    sequencer = Sequencer(next_seq=1)
    sequencer.accept(msg(3))
    assert [m["seq"] for m in asyncio.run(sequencer.fill_gap(fetch))] == [3]
    assert sequencer.accept(msg(4)) == [msg(4)]


@given(st.integers(min_value=1, max_value=40), st.randoms(use_true_random=False), st.data())
def test_any_arrival_order_with_losses_releases_every_seq_once_in_order(
    n: int, rnd: random.Random, data: st.DataObject
) -> None:
    lost = data.draw(st.sets(st.integers(min_value=1, max_value=n)))
    arriving = [seq for seq in range(1, n + 1) if seq not in lost]
    rnd.shuffle(arriving)
    duplicates = data.draw(st.lists(st.sampled_from(arriving), max_size=5)) if arriving else []

    async def fetch(low: int, high: int) -> list[Message]:
        return [msg(seq, "db") for seq in range(low, high + 1)]

    sequencer = Sequencer(next_seq=1)
    released: list[int] = []
    for seq in arriving + duplicates:
        released += [m["seq"] for m in sequencer.accept(msg(seq))]
        if sequencer.waiting and rnd.random() < 0.3:
            released += [m["seq"] for m in asyncio.run(sequencer.fill_gap(fetch))]
    # At the end the hub's gap timer fires, and finally the tick catches a
    # loss at the very end (nothing after it to reveal the gap).
    while sequencer.waiting:
        released += [m["seq"] for m in asyncio.run(sequencer.fill_gap(fetch))]
    expected_end = max(arriving) if arriving else 0
    assert released == list(range(1, expected_end + 1))


def test_catch_up_releases_a_loss_at_the_very_end() -> None:
    async def fetch(low: int, high: int) -> list[Message]:
        return [msg(seq, "db") for seq in range(low, high + 1)]

    sequencer = Sequencer(next_seq=1)
    sequencer.accept(msg(1))
    released = asyncio.run(sequencer.catch_up(3, fetch))
    assert [(m["seq"], m["source"]) for m in released] == [(2, "db"), (3, "db")]
    assert sequencer.accept(msg(3)) == []  # the late live copy
    assert asyncio.run(sequencer.catch_up(3, fetch)) == []  # nothing new: no query
