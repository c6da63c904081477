"""Per-process fan-out of jam events to the sockets this process holds.

The textbook Channels path (a group member per socket, a handler call per
delivery) costs 110-230 us of CPU per delivery. Instead each server process
joins each jam's group once, through one channel of its own, receives every
event of that jam once, and writes the pre-serialized text to each local
socket that wants it.

Each jam's events go out strictly in seq order and without holes
(jams/sequencer.py). Committed seqs are dense per jam (``seq_next`` runs in
the writing transaction), so a missing seq means a lost or late delivery: a
failed publish while Redis was away, a message dropped at capacity, two
processes publishing out of order. An event after a hole waits; if the hole
is still open after GAP_SECONDS, the hub reads the missing events from the
event table, once for the whole process, and sends them in order. The
heartbeat does the same for a loss at the very end (nothing after it to
reveal the hole), and tells sockets the latest seq (``tick``), so a client
that missed something for any other reason resumes.

Presence (jams/presence.py) travels the same group: every few seconds each
process reports who it holds sockets for, and every process sums the
reports. So does the turnout of voting rounds: a vote that moves it sends
``hub.turnout`` after commit (jams/realtime.py ``hub_signal``); the hub
collects the rounds signalled for JAM_HUB_TURNOUT_SECONDS, reads their
counters from the database once, and sends each socket of the jam the
turnout as an unstored event (``seq`` null, like presence). A thousand votes
a second in a jam with a thousand sockets open cost a read and a thousand
small frames a second, not a million deliveries; the counters read are the
committed ones, so signals that arrive out of order or get lost leave the
figure right at the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

from .middleware import DATABASE_DOWN
from .presence import PresenceBoard, PresenceReport
from .realtime import jam_group
from .sequencer import Message, Sequencer

logger = logging.getLogger(__name__)

# How long an event after a hole waits for the missing one (reordering
# between publishing processes takes milliseconds) before it is fetched.
GAP_SECONDS = 0.5
# At most this many events go to a batching socket's queue before the hub
# lets the flush run.
FLUSH_EVERY = 16
# A flush of batching sockets waits until this long after the previous one
# ended, so that under load the events of that time share one frame per
# socket; an event after a quiet spell goes out at once.
FLUSH_GAP_SECONDS = 0.01


def _closed_socket_errors() -> tuple[type[BaseException], ...]:
    """What the ASGI servers raise for a send on a socket that has just
    closed, before its disconnect (which leaves the hub) has run."""
    errors: list[type[BaseException]] = []
    with contextlib.suppress(ImportError):
        from autobahn.exception import Disconnected  # daphne

        errors.append(Disconnected)
    with contextlib.suppress(ImportError):
        from uvicorn.protocols.utils import ClientDisconnected

        errors.append(ClientDisconnected)
    return tuple(errors)


# A send to one socket that fails must cost the other sockets nothing: the
# fan-out loops go on. (It did not: a socket closing during a fan-out ended
# the loop, every socket after it missed that event, and a client that then
# got a newer event never noticed the hole.)
SOCKET_CLOSED = _closed_socket_errors()


def _send_failed(exc: BaseException) -> None:
    if isinstance(exc, SOCKET_CLOSED):
        logger.debug("hub: send to a closing socket skipped: %s", exc)
    else:
        logger.error("hub: send to one socket failed; the others still get it", exc_info=exc)


class Socket(Protocol):
    jam_id: int
    user_id: int
    topics: set[int]

    def wants(self, *, topic: int | None, idea: int | None, recipient: int | None) -> bool: ...

    async def deliver(self, seq: int, text: str) -> None: ...

    async def send_ephemeral(self, text: str) -> None: ...

    async def recheck(self) -> None: ...

    async def tick(self, seq: int) -> None: ...

    async def flush(self) -> None: ...


class Hub:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.jams: dict[int, set[Socket]] = {}
        self.users: dict[int, set[Socket]] = {}
        self.sequencers: dict[int, Sequencer] = {}
        self.presence: dict[int, PresenceBoard] = {}
        self._presence_sent: dict[int, dict[str, Any]] = {}
        self._turnout_rounds: dict[int, set[int]] = {}  # jam -> rounds signalled
        self._turnout_tasks: dict[int, asyncio.Task[None]] = {}
        self._gap_checks: dict[int, asyncio.Task[None]] = {}
        self._unflushed: dict[Socket, None] = {}  # in the order they were queued
        self._flusher: asyncio.Task[None] | None = None
        self._flushed_at = 0.0  # loop time the last flush ended
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Lock()

    async def _start(self) -> str:
        async with self._ready:
            if self.channel is None:
                self.channel = await self.layer.new_channel(prefix="hub")
                self._tasks = [
                    asyncio.create_task(self._listen(self.channel)),
                    asyncio.create_task(self._tick_forever()),
                    asyncio.create_task(self._presence_forever()),
                ]
            return self.channel

    # --- Sockets -------------------------------------------------------------

    async def join(self, socket: Socket) -> None:
        channel = await self._start()
        jam_sockets = self.jams.setdefault(socket.jam_id, set())
        if not jam_sockets:
            await self.layer.group_add(jam_group(socket.jam_id), channel)
            if socket.jam_id not in self.sequencers:
                # Subscribed first, then read: every later event arrives.
                latest = (await _latest_seqs([socket.jam_id])).get(socket.jam_id, 0)
                # A socket of the jam joining meanwhile may have set one up
                # already, and sockets may have joined and read their
                # snapshot against it: keep it (a later baseline would skip
                # events those sockets wait for).
                self.sequencers.setdefault(socket.jam_id, Sequencer(next_seq=latest + 1))
        jam_sockets.add(socket)
        # Messages for one user (their events, a re-check) come through the
        # jam's group too (jams.realtime.user_signal): no group per user.
        self.users.setdefault(socket.user_id, set()).add(socket)

    async def leave(self, socket: Socket) -> None:
        jam_sockets = self.jams.get(socket.jam_id, set())
        jam_sockets.discard(socket)
        user_sockets = self.users.get(socket.user_id, set())
        user_sockets.discard(socket)
        channel = self.channel
        if channel is None:
            return
        if not jam_sockets:
            self.jams.pop(socket.jam_id, None)
            self._forget(socket.jam_id)
            await self.layer.group_discard(jam_group(socket.jam_id), channel)
        if not user_sockets:
            self.users.pop(socket.user_id, None)

    def released_seq(self, jam_id: int) -> int | None:
        """The seq up to which every event of the jam has gone out to this
        process's sockets, none held back behind a hole; None when the hub
        is not following the jam or is waiting for a missing event."""
        sequencer = self.sequencers.get(jam_id)
        if sequencer is None or sequencer.waiting:
            return None
        return sequencer.next_seq - 1

    def _forget(self, jam_id: int) -> None:
        self.sequencers.pop(jam_id, None)
        self.presence.pop(jam_id, None)
        self._presence_sent.pop(jam_id, None)
        check = self._gap_checks.pop(jam_id, None)
        if check is not None:
            check.cancel()

    # --- Receiving -------------------------------------------------------------

    def flush_soon(self, socket: Socket) -> None:
        """The socket queued live events (a batching client): send them once
        the hub has handed out what has arrived."""
        self._unflushed[socket] = None
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        wait = self._flushed_at + FLUSH_GAP_SECONDS - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        while self._unflushed:
            sockets, self._unflushed = list(self._unflushed), {}
            for socket in sockets:
                try:
                    await socket.flush()
                except Exception as exc:
                    _send_failed(exc)
        self._flushed_at = loop.time()

    async def _listen(self, channel: str) -> None:
        handed_out = 0
        while True:
            try:
                message = await self.layer.receive(channel)
                await self.dispatch(message)
                # Events that were waiting in the layer are handed out without
                # a pause (receiving them does not suspend), and the flush of
                # batching sockets runs when the hub pauses: under load several
                # events share each socket's frame. Bounded, so a flood cannot
                # keep the flush waiting.
                handed_out += 1
                if self._unflushed and handed_out >= FLUSH_EVERY:
                    handed_out = 0
                    await asyncio.sleep(0)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub dispatch failed; continuing")
                await asyncio.sleep(0.5)

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "hub.event":
            await self._sequenced(message)
        elif kind == "hub.presence":
            await self._presence_received(message)
        elif kind == "hub.turnout":
            self._turnout_signalled(int(message["jam"]), int(message["round"]))
        elif kind == "user.recheck":
            for socket in list(self.users.get(int(message.get("user", 0)), ())):
                await socket.recheck()

    async def _sequenced(self, message: Message) -> None:
        jam_id = message["jam"]
        sequencer = self.sequencers.get(jam_id)
        if sequencer is None:
            return  # no socket of this jam here (any more)
        for ready in sequencer.accept(message):
            await self._deliver(ready)
        if sequencer.waiting and jam_id not in self._gap_checks:
            self._gap_checks[jam_id] = asyncio.create_task(self._gap_check(jam_id))

    async def _gap_check(self, jam_id: int) -> None:
        async def fill() -> None:
            await asyncio.sleep(GAP_SECONDS)
            await self._fill(jam_id)

        await _jam_job(self._gap_checks, jam_id, fill, "hub gap fill failed",
                       "the next heartbeat retries")  # fmt: skip

    async def _fill(self, jam_id: int, latest: int | None = None) -> None:
        """Send, from the event table, what this process missed of a jam:
        the holes before held events, and with ``latest`` anything up to it."""
        sequencer = self.sequencers.get(jam_id)
        if sequencer is None:
            return

        async def fetch(low: int, high: int) -> list[Message]:
            logger.info("hub: jam %s missed events %s..%s; sending them from the database",
                        jam_id, low, high)  # fmt: skip
            return await _events_between(jam_id, low, high)

        if latest is None:
            ready = await sequencer.fill_gap(fetch)
        else:
            ready = await sequencer.catch_up(latest, fetch)
        for message in ready:
            await self._deliver(message)

    async def _deliver(self, message: Message) -> None:
        recipient = message.get("recipient")
        sockets = (
            self.users.get(recipient, set()) if recipient else self.jams.get(message["jam"], set())
        )
        # Read once per event, not once per socket (the loop runs per socket).
        jam_id, text, seq = message["jam"], message["text"], message["seq"]
        topic, idea = message.get("topic"), message.get("idea")
        for socket in list(sockets):
            if socket.jam_id == jam_id and socket.wants(
                topic=topic, idea=idea, recipient=recipient
            ):
                try:
                    await socket.deliver(seq, text)
                except Exception as exc:
                    _send_failed(exc)

    # --- Heartbeat -------------------------------------------------------------

    async def _tick_forever(self) -> None:
        tick_seconds = float(settings.JAM_HUB_TICK_SECONDS)
        refresh_seconds = float(settings.JAM_HUB_REFRESH_SECONDS)
        since_refresh = 0.0
        while True:
            await asyncio.sleep(tick_seconds)
            since_refresh += tick_seconds
            jam_ids = list(self.jams)
            if not jam_ids:
                continue
            try:
                for jam_id, latest in (await _latest_seqs(jam_ids)).items():
                    await self._fill(jam_id, latest)
                    for socket in list(self.jams.get(jam_id, ())):
                        try:
                            await socket.tick(latest)
                        except Exception as exc:
                            _send_failed(exc)
                if since_refresh >= refresh_seconds:
                    since_refresh = 0.0
                    await self._refresh_groups()
            except asyncio.CancelledError:
                raise
            except DATABASE_DOWN as exc:  # an outage, not a bug: no traceback
                logger.warning("hub tick skipped, the database is unavailable: %s", exc)
            except Exception:
                logger.exception("hub tick failed; continuing")

    async def _refresh_groups(self) -> None:
        """Re-join groups: a no-op while memberships hold, a repair after a
        layer lost them (channels_redis's core layer after a flush)."""
        channel = self.channel
        if channel is None:
            return
        for jam_id in list(self.jams):
            await self.layer.group_add(jam_group(jam_id), channel)

    # --- Presence --------------------------------------------------------------

    async def _presence_forever(self) -> None:
        seconds = float(settings.JAM_HUB_PRESENCE_SECONDS)
        while True:
            await asyncio.sleep(seconds)
            try:
                await self._presence_report()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("presence report failed; continuing")

    async def _presence_report(self) -> None:
        if self.channel is None:
            return
        for jam_id, sockets in list(self.jams.items()):
            topics: dict[int, set[int]] = {}
            for socket in sockets:
                for topic in socket.topics:
                    topics.setdefault(topic, set()).add(socket.user_id)
            report = PresenceReport(
                process=self.channel,
                users=frozenset(s.user_id for s in sockets),
                topics={t: frozenset(u) for t, u in topics.items()},
                received=0.0,
            )
            await self.layer.group_send(jam_group(jam_id), report.message(jam_id))

    async def _presence_received(self, message: dict[str, Any]) -> None:
        jam_id = int(message["jam"])
        if jam_id not in self.jams:
            return
        board = self.presence.setdefault(
            jam_id, PresenceBoard(max_age=3 * float(settings.JAM_HUB_PRESENCE_SECONDS))
        )
        board.record(PresenceReport.from_message(message, received=time.monotonic()))
        counts = board.counts()
        if counts == self._presence_sent.get(jam_id):
            return
        self._presence_sent[jam_id] = counts
        text = _presence_text(counts)
        for socket in list(self.jams.get(jam_id, ())):
            try:
                await socket.send_ephemeral(text)
            except Exception as exc:
                _send_failed(exc)

    # --- Turnout -------------------------------------------------------------

    def _turnout_signalled(self, jam_id: int, round_id: int) -> None:
        if jam_id not in self.jams:
            return  # no socket of this jam here
        self._turnout_rounds.setdefault(jam_id, set()).add(round_id)
        if jam_id not in self._turnout_tasks:
            self._turnout_tasks[jam_id] = asyncio.create_task(self._turnout_push(jam_id))

    async def _turnout_push(self, jam_id: int) -> None:
        """After the window, the signalled rounds' counters to the jam's sockets."""

        async def push() -> None:
            await asyncio.sleep(float(settings.JAM_HUB_TURNOUT_SECONDS))
            rounds = self._turnout_rounds.pop(jam_id, set())
            del self._turnout_tasks[jam_id]  # signals from now on start the next window
            if not rounds:
                return
            turnouts = await _round_turnouts(rounds)
            texts = [_turnout_text(r, voters) for r, voters in sorted(turnouts.items())]
            for socket in list(self.jams.get(jam_id, ())):
                for text in texts:
                    try:
                        await socket.send_ephemeral(text)
                    except Exception as exc:
                        _send_failed(exc)

        await _jam_job(self._turnout_tasks, jam_id, push, "turnout push failed",
                       "the next vote pushes it")  # fmt: skip

    async def close(self) -> None:
        for task in (*self._tasks, *self._gap_checks.values(), *self._turnout_tasks.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _presence_text(counts: dict[str, Any]) -> str:
    import json

    return json.dumps(
        {"type": "event", "seq": None, "event": "presence", "data": counts},
        separators=(",", ":"),
    )


async def _jam_job(
    tasks: dict[int, asyncio.Task[None]],
    jam_id: int,
    job: Callable[[], Awaitable[None]],
    failed: str,
    retry: str,
) -> None:
    """Run a jam's background job (a gap fill, a turnout push), registered in
    ``tasks`` by the caller: an outage is a warning line, a bug a traceback,
    and the job leaves ``tasks`` when it ends (unless a newer one took its
    place)."""
    try:
        await job()
    except asyncio.CancelledError:
        raise
    except DATABASE_DOWN as exc:  # an outage, not a bug: no traceback
        logger.warning("%s, the database is unavailable: %s", failed, exc)
    except Exception:
        logger.exception("%s; %s", failed, retry)
    finally:
        if tasks.get(jam_id) is asyncio.current_task():
            del tasks[jam_id]


def _turnout_text(round_id: int, voters: int) -> str:
    import json

    return json.dumps(
        {
            "type": "event",
            "seq": None,
            "event": "turnout.changed",
            "data": {"round": round_id, "voters": voters},
        },
        separators=(",", ":"),
    )


async def _round_turnouts(round_ids: set[int]) -> dict[int, int]:
    from voting.selectors import round_turnouts

    return await database_sync_to_async(round_turnouts)(round_ids=sorted(round_ids))


async def _latest_seqs(jam_ids: list[int]) -> dict[int, int]:
    from .selectors import latest_seqs

    return await database_sync_to_async(latest_seqs)(jam_ids=jam_ids)


async def _events_between(jam_id: int, low: int, high: int) -> list[Message]:
    from .selectors import events_between

    return await database_sync_to_async(events_between)(jam_id=jam_id, low=low, high=high)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub_for_loop() -> Hub:
    """The hub of the running event loop (one per server process in practice;
    tests run each case in its own loop)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured")
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = Hub(layer)
        _hubs[loop] = hub
    return hub
