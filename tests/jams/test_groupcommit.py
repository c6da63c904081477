"""Group commit (jams/groupcommit.py): posts that queue behind a commit share
one transaction; each keeps its own outcome, and nothing is reported before
its transaction committed. Real services, real database."""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import channel_layers, get_channel_layer

from accounts.models import User
from ideas.models import Idea, Post
from jams import live
from jams.errors import NotFound
from jams.groupcommit import MAX_BATCH, GroupCommit
from jams.hub import Hub
from jams.models import Event, Jam, Topic
from jams.phases import Stage
from jams.protocol import PostMessage, message_parse
from tests.factories import TopicFactory, jam_in_stage, member
from tests.jams.test_hub import RecordingSocket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fresh_channel_layer() -> None:
    channel_layers.backends = {}


def post_message(topic: int, title: str, client_id: str | None = None) -> PostMessage:
    parsed = message_parse(
        json.dumps(
            {
                "type": "post",
                "client_id": client_id or str(uuid.uuid4()),
                "topic": topic,
                "title": title,
                "body": f"Body of {title}",
            }
        ),
        max_bytes=65536,
    )
    assert isinstance(parsed, PostMessage)
    return parsed


def build() -> tuple[Jam, Topic, list[User]]:
    jam = jam_in_stage(Stage.DISCUSSION)
    topic = TopicFactory(jam=jam)
    return jam, topic, [member(jam) for _ in range(3)]


def submit(jam: Jam, user: User, message: PostMessage) -> functools.partial[dict[str, Any]]:
    return functools.partial(live.post_submit, jam_id=jam.pk, user_id=user.pk, message=message)


async def around(
    group: GroupCommit, jam: Jam, topic: Topic, people: list[User], write: Any, titles: list[str]
) -> list[Any]:
    """Two posts and ``write`` between them, queued together in ``group``;
    each outcome, exceptions included."""
    return await asyncio.gather(
        group.run(submit(jam, people[0], post_message(topic.pk, titles[0]))),
        group.run(write),
        group.run(submit(jam, people[1], post_message(topic.pk, titles[1]))),
        return_exceptions=True,
    )


def stored() -> list[tuple[str, int]]:
    return list(
        Event.objects.filter(name="post.created").order_by("seq").values_list("data__title", "seq")
    )


async def test_posts_queued_together_share_one_commit_and_keep_their_order() -> None:
    jam, topic, people = await database_sync_to_async(build)()
    group = GroupCommit()
    n = 12
    acks = await asyncio.gather(
        *(
            group.run(submit(jam, people[i % 3], post_message(topic.pk, f"Idea {i}")))
            for i in range(n)
        )
    )
    assert group.batches == 1 and group.largest == n  # one transaction for all twelve
    seqs = [ack["seq"] for ack in acks]
    assert seqs == sorted(seqs) and len(set(seqs)) == n  # in submission order, dense
    assert seqs[-1] - seqs[0] == n - 1
    rows = await database_sync_to_async(stored)()
    assert rows == [(f"Idea {i}", seqs[i]) for i in range(n)]


async def test_a_refused_post_fails_alone() -> None:
    jam, topic, people = await database_sync_to_async(build)()
    foreign = await database_sync_to_async(TopicFactory)()  # another jam's topic
    group = GroupCommit()
    results = await asyncio.gather(
        group.run(submit(jam, people[0], post_message(topic.pk, "First"))),
        group.run(submit(jam, people[1], post_message(foreign.pk, "Elsewhere"))),
        group.run(submit(jam, people[2], post_message(topic.pk, "Third"))),
        return_exceptions=True,
    )
    assert group.batches == 1
    assert isinstance(results[1], NotFound)
    first, third = results[0], results[2]
    assert isinstance(first, dict) and isinstance(third, dict)
    assert third["seq"] == first["seq"] + 1  # the refused one took no seq
    titles = [title for title, _ in await database_sync_to_async(stored)()]
    assert titles == ["First", "Third"]


async def test_a_failing_write_rolls_back_alone_and_the_others_run_again() -> None:
    """Not a refusal: the batch is rolled back and every write runs again
    alone, so the good posts are stored once and the bad one not at all."""
    jam, topic, people = await database_sync_to_async(build)()

    def broken() -> None:
        Idea.objects.create(jam=jam, topic=topic, author=people[0], title="Half written")
        raise RuntimeError("a bug after a write")

    results = await around(GroupCommit(), jam, topic, people, broken, ["Kept A", "Kept B"])
    assert isinstance(results[1], RuntimeError)
    titles = [title for title, _ in await database_sync_to_async(stored)()]
    assert titles == ["Kept A", "Kept B"]
    ideas = await database_sync_to_async(
        lambda: sorted(Idea.objects.values_list("title", flat=True))
    )()
    assert ideas == ["Kept A", "Kept B"]


async def test_a_retry_in_the_same_batch_is_the_same_post() -> None:
    jam, topic, people = await database_sync_to_async(build)()
    group = GroupCommit()
    same = str(uuid.uuid4())
    first, again = await asyncio.gather(
        group.run(submit(jam, people[0], post_message(topic.pk, "Once", same))),
        group.run(submit(jam, people[0], post_message(topic.pk, "Once", same))),
    )
    assert first == again
    assert await database_sync_to_async(Post.objects.filter(client_id=same).count)() == 1


async def test_more_than_a_batch_runs_in_several_transactions() -> None:
    jam, topic, people = await database_sync_to_async(build)()
    group = GroupCommit()
    n = MAX_BATCH + 3
    acks = await asyncio.gather(
        *(
            group.run(submit(jam, people[i % 3], post_message(topic.pk, f"Idea {i}")))
            for i in range(n)
        )
    )
    assert group.batches == 2 and group.largest == MAX_BATCH
    assert [a["seq"] for a in acks] == list(range(acks[0]["seq"], acks[0]["seq"] + n))


async def test_events_of_a_batch_are_broadcast_after_its_commit_in_seq_order() -> None:
    jam, topic, people = await database_sync_to_async(build)()
    hub = Hub(get_channel_layer())

    listener = RecordingSocket(jam.pk, user_id=-1)
    listener.topics = {topic.pk}
    await hub.join(listener)
    try:
        group = GroupCommit()
        acks = await asyncio.gather(
            *(
                group.run(submit(jam, people[i % 3], post_message(topic.pk, f"Idea {i}")))
                for i in range(5)
            )
        )
        for _ in range(60):
            if len(listener.seqs) >= 5:
                break
            await asyncio.sleep(0.05)
        assert listener.seqs == [a["seq"] for a in acks]
    finally:
        await hub.leave(listener)
        await hub.close()


async def test_an_event_rolled_back_in_a_batch_is_never_broadcast() -> None:
    """The batch's events are sent after its commit from the event loop
    (realtime.broadcasts_collected); one recorded by a write that was then
    refused went with its savepoint and reaches nobody."""
    from django.db import transaction

    from jams import realtime
    from jams.errors import Invalid

    jam, topic, people = await database_sync_to_async(build)()
    hub = Hub(get_channel_layer())
    listener = RecordingSocket(jam.pk, user_id=-1)
    listener.topics = {topic.pk}
    await hub.join(listener)

    def recorded_then_refused() -> None:
        with transaction.atomic():
            realtime.event_record(
                jam_id=jam.pk, name="post.created", topic_id=topic.pk, data={"title": "Gone"}
            )
            raise Invalid("refused after its event was recorded")

    try:
        group = GroupCommit()
        before, refused, after = await around(
            group, jam, topic, people, recorded_then_refused, ["Before", "After"]
        )
        assert isinstance(refused, Invalid)
        assert isinstance(before, dict) and isinstance(after, dict)
        assert after["seq"] == before["seq"] + 1  # the refused event's seq went back too
        for _ in range(60):
            if len(listener.seqs) >= 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)  # anything more would have arrived by now
        assert listener.seqs == [before["seq"], after["seq"]]
        assert group.batches <= 2  # the refusal did not split the batch into lone runs
    finally:
        await hub.leave(listener)
        await hub.close()


async def test_a_batcher_runs_up_to_its_batches_in_flight_and_never_strands_an_item() -> None:
    """Votes run two batches at once (``VOTE_IN_FLIGHT``): on real worker
    threads, never more than ``in_flight`` batches overlap, every item gets
    its own result, and an item queued as the last batch ends still runs."""
    import threading
    import time

    from jams.groupcommit import Batcher

    lock = threading.Lock()
    running, overlap, sizes = 0, 0, []

    def run_batch(items: list[int]) -> tuple[list[tuple[bool, Any]], list[Any]]:
        nonlocal running, overlap
        with lock:
            running += 1
            overlap = max(overlap, running)
            sizes.append(len(items))
        time.sleep(0.05)
        with lock:
            running -= 1
        return [(item != 7, item if item != 7 else ValueError(item)) for item in items], []

    batcher: Batcher[int] = Batcher(run_batch, max_batch=4, in_flight=2)
    results = await asyncio.gather(*(batcher.run(i) for i in range(14)), return_exceptions=True)
    assert [r if not isinstance(r, ValueError) else "error" for r in results] == [
        *range(7),
        "error",
        *range(8, 14),
    ]
    assert overlap == 2
    assert sum(sizes) == 14 and max(sizes) <= 4 and len(sizes) < 14
    assert not batcher.tasks
    assert await asyncio.wait_for(batcher.run(99), 5) == 99
