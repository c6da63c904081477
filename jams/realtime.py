"""Recording and broadcasting live events: persist first, broadcast after commit.

``event_record`` must run inside the transaction that writes the domain rows.
It takes the next jam-wide ``seq`` with one ``UPDATE ... RETURNING`` on the
jam row, which holds that row's lock until commit, so seq order is commit
order. After commit the event is serialized once and sent to the jam's group;
each server process fans it out to its own sockets (jams/hub.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .models import Event, Jam

logger = logging.getLogger(__name__)


def jam_group(jam_id: int) -> str:
    return f"jam.{jam_id}"


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    jam_id: int
    seq: int
    name: str
    topic_id: int | None
    idea_id: int | None
    recipient_id: int | None
    data: dict[str, Any]

    def client_text(self) -> str:
        """The exact text a client receives, serialized once."""
        return event_text(seq=self.seq, name=self.name, data=self.data)

    def layer_message(self) -> dict[str, Any]:
        return {
            "type": "hub.event",
            "jam": self.jam_id,
            "seq": self.seq,
            "topic": self.topic_id,
            "idea": self.idea_id,
            "recipient": self.recipient_id,
            "text": self.client_text(),
        }


def event_text(*, seq: int, name: str, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": "event", "seq": seq, "event": name, "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


def seq_next(jam_id: int) -> int:
    """Hand out the jam's next seq; the row lock is held until commit."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE jams_jam SET last_seq = last_seq + 1 WHERE id = %s RETURNING last_seq",
            [jam_id],
        )
        row = cursor.fetchone()
    if row is None:
        raise LookupError(f"no jam {jam_id}")
    return int(row[0])


def _seq_and_event_insert(
    *,
    jam_id: int,
    name: str,
    topic_id: int | None,
    idea_id: int | None,
    recipient_id: int | None,
    stored: str,
) -> int:
    """PostgreSQL: take the seq and insert the event row in one statement
    (a data-modifying CTE), one round trip instead of two. The UPDATE takes
    the jam row's lock exactly as ``seq_next`` does. SQLite has no UPDATE in
    a WITH clause; it uses the two statements."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH seq AS (
                UPDATE {Jam._meta.db_table} SET last_seq = last_seq + 1
                WHERE id = %s RETURNING last_seq
            )
            INSERT INTO {Event._meta.db_table}
                (jam_id, seq, name, topic_id, idea_id, recipient_id, data, created_at)
            SELECT %s, seq.last_seq, %s, %s, %s, %s, %s::jsonb, %s FROM seq
            RETURNING seq
            """,  # noqa: S608 - table names from the models, values as parameters
            [jam_id, jam_id, name, topic_id, idea_id, recipient_id, stored, timezone.now()],
        )
        row = cursor.fetchone()
    if row is None:
        raise LookupError(f"no jam {jam_id}")
    return int(row[0])


def event_record(
    *,
    jam_id: int,
    name: str,
    data: dict[str, Any],
    topic_id: int | None = None,
    idea_id: int | None = None,
    recipient_id: int | None = None,
) -> RecordedEvent:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_record must run inside the writing transaction")
    # Round-trip through JSON so the stored and the broadcast data are identical.
    stored = json.dumps(data, cls=DjangoJSONEncoder)
    clean = json.loads(stored)
    if connection.vendor == "postgresql":
        seq = _seq_and_event_insert(
            jam_id=jam_id, name=name, topic_id=topic_id, idea_id=idea_id,
            recipient_id=recipient_id, stored=stored,
        )  # fmt: skip
    else:
        seq = seq_next(jam_id)
        Event.objects.create(
            jam_id=jam_id,
            seq=seq,
            name=name,
            topic_id=topic_id,
            idea_id=idea_id,
            recipient_id=recipient_id,
            data=clean,
            created_at=timezone.now(),
        )
    event = RecordedEvent(
        jam_id=jam_id,
        seq=seq,
        name=name,
        topic_id=topic_id,
        idea_id=idea_id,
        recipient_id=recipient_id,
        data=clean,
    )
    transaction.on_commit(lambda: _committed(event))
    return event


# Set by ``broadcasts_collected``: committed events go into the list instead
# of out to the layer.
_collected: ContextVar[list[RecordedEvent] | None] = ContextVar("jam_broadcasts", default=None)


@contextmanager
def broadcasts_collected() -> Iterator[list[RecordedEvent]]:
    """Within this block (on this thread), events whose transaction commits
    are appended to the list, in commit (= seq) order, instead of being
    sent; the caller sends them with ``broadcast_many`` once it is back on
    the event loop. Group commit (jams/groupcommit.py) does: sending each
    event from the worker thread took a hop to the event loop and back per
    event (``async_to_sync``), one after another, while the batch's acks
    and the next batch waited. Events of writes rolled back never arrive."""
    events: list[RecordedEvent] = []
    token = _collected.set(events)
    try:
        yield events
    finally:
        _collected.reset(token)


def _committed(event: RecordedEvent) -> None:
    events = _collected.get()
    if events is None:
        broadcast(event)
    else:
        events.append(event)


async def broadcast_many(events: Iterable[RecordedEvent]) -> None:
    """``broadcast`` for committed events, from the event loop, in order."""
    layer = get_channel_layer()
    if layer is None:
        return
    for event in events:
        try:
            await layer.group_send(jam_group(event.jam_id), event.layer_message())
        except Exception:
            logger.exception(
                "broadcast of %s#%s failed; clients will resume", event.jam_id, event.seq
            )


def broadcast(event: RecordedEvent) -> None:
    """Send a committed event to the jam's group. A failure here loses nothing:
    the event is in the database and clients recover it with ``resume``."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(jam_group(event.jam_id), event.layer_message())
    except Exception:
        logger.exception("broadcast of %s#%s failed; clients will resume", event.jam_id, event.seq)


def hub_signal(*, jam_id: int, message: dict[str, Any]) -> None:
    """After commit, send ``message`` (a ``hub.*`` or ``user.recheck`` type,
    jams/hub.py) to every process following the jam. Not stored: for what
    the hub reads from the database itself (the turnout, a member's role),
    so a lost signal costs only freshness."""
    layer = get_channel_layer()
    if layer is None:
        return
    group = jam_group(jam_id)

    def send() -> None:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception:
            logger.exception("hub signal %s to jam %s failed", message.get("type"), jam_id)

    transaction.on_commit(send)


def user_signal(*, user_id: int, jam_ids: Iterable[int]) -> None:
    """After commit, tell every open socket of a user in these jams to
    re-check itself (role changed, removed from a jam, account deleted).

    Sent through the jams' groups, which every process holding a socket of
    the jam follows anyway: a group per user would cost each process a
    subscription (and its Redis round trips) per member connected."""
    for jam_id in dict.fromkeys(jam_ids):
        hub_signal(jam_id=jam_id, message={"type": "user.recheck", "user": user_id})
