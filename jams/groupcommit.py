"""Group commit: the socket posts (and votes) of one process share transactions.

Every write that records a live event takes the jam's next seq with
``UPDATE jams_jam ... RETURNING`` (jams/realtime.py), and that row lock is
held until the transaction has committed, which on PostgreSQL includes the
WAL flush (7 ms at the median on the benchmark machine, 12 ms at p90). Seq
order = commit order depends on that lock, but it also means a jam took at
most one commit per flush: about 58 posts a second, whatever the CPU.

So posts that arrive while a commit is in progress wait, then run together
in one transaction and one commit, and each post's result (the ack) is
released after that commit. A lone post is not delayed: the first one runs
at once; batching happens only when posts queue behind a running commit.
Broadcasts still follow the commit, in seq order (``transaction.on_commit``
inside a savepoint fires after the outer commit, and not at all if the
savepoint rolled back): the batch's committed events are collected on the
worker thread (``realtime.broadcasts_collected``) and sent from the event
loop before the acks are released, with no thread hop per event.
Failures: see ``_run_batch``.

Lock order: after its first write a batch holds the jam row while later
writes of the batch lock other rows, so only writes that lock no existing
row before the jam row belong here: new ideas (inserts) and replies (their
idea's counter is updated after the seq; ideas/services.py). Reactions lock
the post row first and run alone, as before.

One batch runs at a time per process and jam (the jam row lock would
serialize them anyway); each socket still waits for its own result before it reads its
next message.

Votes queue the same way (``Batcher``, ``vote_batch_for_loop``), for a
different reason: they take no jam row lock, but each vote alone was five
statements, a transaction and a thread hop, about as much server CPU as the
service's own work. A batch of votes is one thread hop and, per round,
``voting.services.votes_cast``: seven statements and one commit however
many voters (voting/live.py). Two vote batches run at once per process
and jam (``VOTE_IN_FLIGHT``): one waits on PostgreSQL while the next is
checked; they share only the ballot rows of voters in both, locked in
voter order.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable
from typing import Any, cast

from channels.db import database_sync_to_async
from django.db import close_old_connections, transaction

from . import realtime
from .errors import DomainError

# Writes per transaction at most: a batch holds the jam row lock while it
# runs, so other processes' writes wait for it.
MAX_BATCH = 32
# Votes per batch at most: a batch holds its voters' ballot rows (and, when
# the turnout moves, the round's counter) until it commits.
VOTE_MAX_BATCH = 64
# Vote batches in flight per process and jam: one waits on PostgreSQL's
# statements and commit while the next is prepared (two batches share no
# lock but the voters they both hold, taken in voter order).
VOTE_IN_FLIGHT = 2

type Outcome = tuple[bool, Any]


def _run_batch(writes: list[Callable[[], Any]]) -> list[Outcome]:
    """Run ``writes`` in one transaction and return (ok, result or exception)
    per write, after the commit.

    A refused write (a ``DomainError``: phase closed, not found, invalid...)
    is raised before it writes anything or from inside its service's own
    ``transaction.atomic()``, which is a savepoint here and rolls back just
    that write, so the others go on. Anything else (a database error, a bug)
    may have left the transaction unusable: the whole batch is rolled back
    and each write runs again alone, in a transaction of its own, as without
    group commit. Nothing is reported before its transaction committed."""
    outcomes: list[Outcome] = []
    try:
        with transaction.atomic():
            for write in writes:
                try:
                    outcomes.append((True, write()))
                except DomainError as exc:
                    outcomes.append((False, exc))
    except Exception as exc:
        if len(writes) == 1:
            return [(False, exc)]
        return [outcome for write in writes for outcome in _run_batch([write])]
    finally:
        close_old_connections()
    return outcomes


def _run_batch_collecting(
    writes: list[Callable[[], Any]],
) -> tuple[list[Outcome], list[realtime.RecordedEvent]]:
    """``_run_batch``, with the events it committed to be sent by the caller."""
    with realtime.broadcasts_collected() as events:
        outcomes = _run_batch(writes)
    return outcomes, events


class Batcher[I]:
    """Items of one process's sockets run in batches by ``run_batch`` on
    worker threads, at most ``in_flight`` batches at a time: an item runs at
    once while fewer are running, items that arrive while they all run wait
    and go together in the next (at most ``max_batch``). ``run_batch``
    returns ``(ok, result or exception)`` per item, in order, and the events
    it committed, which are sent from the event loop before the results are
    released."""

    def __init__(
        self,
        run_batch: Callable[[list[I]], tuple[list[Outcome], list[realtime.RecordedEvent]]],
        max_batch: int,
        in_flight: int = 1,
    ) -> None:
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.in_flight = in_flight
        self.queue: list[tuple[I, asyncio.Future[Any]]] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # for tests and benchmarks: how many batches ran
        self.largest = 0

    async def run(self, item: I) -> Any:
        """Run ``item`` in the next batch and return its result once that
        batch has committed (or raise its exception)."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.append((item, future))
        if len(self.tasks) < self.in_flight:
            self.tasks.add(asyncio.create_task(self._drain()))
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[I, asyncio.Future[Any]]] = []
        try:
            while self.queue:
                batch = self.queue[: self.max_batch]
                self.queue = self.queue[self.max_batch :]
                try:
                    outcomes, events = await database_sync_to_async(
                        self.run_batch, thread_sensitive=False
                    )([item for item, _ in batch])
                except Exception as exc:  # the thread pool itself failed
                    outcomes, events = [(False, exc)] * len(batch), []
                await realtime.broadcast_many(events)
                self.batches += 1
                self.largest = max(self.largest, len(batch))
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue  # its socket went away
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
                batch = []
        finally:
            # Out of the running set before anything else can run, so that an
            # item queued from now on starts a batch of its own.
            self.tasks.discard(cast("asyncio.Task[None]", asyncio.current_task()))
            for _, future in batch:
                future.cancel()  # the loop is shutting down
            if not self.tasks:  # no other batch goes on with the queue
                for _, future in self.queue:
                    future.cancel()
                self.queue = []


class GroupCommit(Batcher[Callable[[], Any]]):
    """Posts: each item a write through a service (``_run_batch``)."""

    def __init__(self) -> None:
        super().__init__(_run_batch_collecting, MAX_BATCH)


def _votes_run(jam_id: int, votes: list[tuple[int, Any]]) -> tuple[list[Outcome], list[Any]]:
    from . import live

    try:
        return live.votes_submit(jam_id=jam_id, votes=votes), []
    finally:
        close_old_connections()


def _vote_batcher(jam_id: int) -> Batcher[tuple[int, Any]]:
    """Votes: each item ``(user id, VoteMessage)``, a batch cast per round by
    ``voting.services.votes_cast`` (voting/live.py). They record no event;
    the turnout is signalled after commit, once per batch and round."""
    return Batcher(functools.partial(_votes_run, jam_id), VOTE_MAX_BATCH, VOTE_IN_FLIGHT)


_batchers: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int], Batcher[Any]]
] = weakref.WeakKeyDictionary()


def _for_loop[B: Batcher[Any]](kind: str, jam_id: int, make: Callable[[], B]) -> B:
    loop = asyncio.get_running_loop()
    jams = _batchers.get(loop)
    if jams is None:
        jams = _batchers[loop] = {}
    batcher = jams.get((kind, jam_id))
    if batcher is None:
        batcher = jams[(kind, jam_id)] = make()
    return batcher  # type: ignore[return-value]


def group_commit_for_loop(jam_id: int) -> GroupCommit:
    """The group commit of a jam in the running event loop (one per server
    process and jam). Per jam, so that a batch locks one jam row: batches of
    two processes that each held several jams' rows could deadlock."""
    return _for_loop("posts", jam_id, GroupCommit)


def vote_batch_for_loop(jam_id: int) -> Batcher[tuple[int, Any]]:
    """The vote batcher of a jam in the running event loop (one per server
    process and jam)."""
    return _for_loop("votes", jam_id, functools.partial(_vote_batcher, jam_id))
