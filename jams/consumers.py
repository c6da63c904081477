"""The jam socket: a transport adapter. It authenticates, parses, calls a
service or selector through database_sync_to_async, and answers with an ack,
an event or a typed error. No business rules and no ORM here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import aclose_old_connections, database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.sessions import InstanceSessionWrapper
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections
from django.utils.translation import gettext as _

from . import live, middleware
from .errors import DomainError, Forbidden, RateLimited
from .groupcommit import group_commit_for_loop, vote_batch_for_loop
from .hub import Hub, hub_for_loop
from .protocol import (
    AlertMessage,
    ClientMessage,
    Ping,
    PostMessage,
    ProtocolError,
    ReactMessage,
    Resume,
    Subscribe,
    Unsubscribe,
    VoteMessage,
    message_parse,
)
from .ratelimit import TokenBucket
from .selectors import SocketJamState
from .tickets import SocketTicket, query_value, ticket_issue

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_ABUSE = 4429
# The database cannot be reached (down, restarting, out of connections), or
# too many connects at once: "try again later" (4503, jams/middleware.py) on
# connect, a retryable ``unavailable`` error for a message. Not a bug of
# ours, so no traceback in the log.
CLOSE_TRY_AGAIN = middleware.CLOSE_TRY_AGAIN
DATABASE_DOWN = (OperationalError, InterfaceError)
# Rate-limited messages tolerated in a row before the socket is closed.
ABUSE_STRIKES = 50
# How long live events wait for the client's first resume after connect.
HOLD_SECONDS = 2.0
# How long a ticketed socket's membership read waits for others to share it.
ROLE_READ_DELAY = 0.05


def _db[T](function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    """``database_sync_to_async`` on the shared thread pool, not the single
    thread-sensitive thread: with one thread every socket's database work
    (connects, posts) queued behind every other's and a busy jam's posts
    waited seconds for their ack. Seq order comes from the jam row's lock,
    and one socket's messages are still handled one at a time.

    Each call hands its connection back when it ends (to the psycopg pool on
    PostgreSQL, jamsite/settings/base.py). ``database_sync_to_async`` does
    that too, but Channels' test communicator replaces its
    close_old_connections with a no-op, and a pooled connection left on a
    worker thread is never returned: the pool ran dry after nine consumer
    tests. Closing here, on the worker thread that used the connection, is
    right everywhere (these calls never share the caller's connection)."""

    def run(*args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        finally:
            close_old_connections()

    return database_sync_to_async(run, thread_sensitive=False)


def per_loop[T](make: Callable[[], T]) -> Callable[[], T]:
    """One ``make()`` per event loop (per server process; each test has its
    own loop), created on first use and gone with its loop."""
    made: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get() -> T:
        loop = asyncio.get_running_loop()
        value = made.get(loop)
        if value is None:
            value = made[loop] = make()
        return value

    return get


class ConnectGate:
    """Admission control for connects, per process (event loop).

    A connect costs milliseconds of CPU (session and user in the auth
    middleware, then the snapshot); with thousands in flight at once every
    one of them progressed a little and none finished before its handshake
    timed out (5,000 connects: none accepted). Here at most ``limit``
    sockets do their connect work at a time, in arrival order; a socket that
    waited ``wait`` seconds for its turn is refused at once (the handshake is
    declined; jam.js retries with jittered backoff), so the process keeps
    accepting at full speed while the storm spreads out over the retries.
    A ticketed connect (jams/tickets.py) takes the gate only for its
    snapshot read, which the snapshot cache usually spares it."""

    def __init__(self, *, limit: int, wait: float) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.wait = wait
        self.refused = 0

    async def enter(self) -> bool:
        try:
            async with asyncio.timeout(self.wait):
                await self.slots.acquire()
        except TimeoutError:
            self.refused += 1
            return False
        return True

    def leave(self) -> None:
        self.slots.release()


connect_gate = per_loop(
    lambda: ConnectGate(
        limit=settings.JAM_WS_CONNECTS_IN_FLIGHT, wait=settings.JAM_WS_CONNECT_WAIT_SECONDS
    )
)


class SnapshotCache:
    """The jam-wide part of the connect snapshot, per process (event loop).

    Every member's ``hello`` has the same jam, schedule and topics; only the
    role differs, and a ticket carries it (jams/tickets.py). A ticketed
    connect takes the jam-wide part from here instead of the database when
    it is provably current: this process's hub has released every event of
    the jam up to exactly the cached state's seq and holds none back, so no
    event the new socket could miss lies between the state and the socket's
    joining the hub (which happens before the look-up, with no await in
    between). Changes that are not events (a title edit) show up within
    ``ttl`` seconds. A storm of reconnects to one jam then costs the
    database one snapshot read per ``ttl`` instead of one per socket."""

    def __init__(self, *, ttl: float) -> None:
        self.ttl = ttl
        self.entries: dict[int, tuple[float, SocketJamState]] = {}

    def get(self, jam_id: int, hub: Hub) -> SocketJamState | None:
        entry = self.entries.get(jam_id)
        if entry is None:
            return None
        taken, state = entry
        if time.monotonic() - taken > self.ttl or hub.released_seq(jam_id) != state.seq:
            return None
        return state

    def put(self, state: SocketJamState) -> None:
        self.entries[state.jam.pk] = (time.monotonic(), state)


snapshot_cache = per_loop(lambda: SnapshotCache(ttl=settings.JAM_WS_SNAPSHOT_SECONDS))


class RoleReads:
    """Membership reads of ticketed sockets going live without a resume,
    batched per process (event loop): the sockets that ask within ``delay``
    seconds share one query per jam. A storm of ticketed connects would
    otherwise make one read per socket two seconds after its hello, each
    with its thread hop and pooled-connection checkout."""

    def __init__(self, *, delay: float) -> None:
        self.delay = delay
        self.waiting: dict[int, dict[int, list[asyncio.Future[str | None]]]] = {}
        self.batch: asyncio.Task[None] | None = None

    async def role(self, *, jam_id: int, user_id: int) -> str | None:
        """The member's role now, or None when they are no member."""
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(jam_id, {}).setdefault(user_id, []).append(future)
        if self.batch is None:
            self.batch = asyncio.ensure_future(self._read())
        return await future

    async def _read(self) -> None:
        await asyncio.sleep(self.delay)
        waiting, self.waiting, self.batch = self.waiting, {}, None
        for jam_id, users in waiting.items():
            try:
                roles = await _db(live.socket_roles)(jam_id=jam_id, user_ids=list(users))
            except Exception as exc:  # each socket decides (an outage: try again later)
                for futures in users.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for user_id, futures in users.items():
                for future in futures:
                    if not future.done():
                        future.set_result(roles.get(user_id))


role_reads = per_loop(lambda: RoleReads(delay=ROLE_READ_DELAY))


# Jam ids by slug, per process (a slug names one jam at a time; a stale entry
# is noticed by the snapshot and corrected).
_jam_ids: dict[str, int] = {}


class JamConsumer(AsyncWebsocketConsumer):
    # No channel of its own per socket: events reach sockets through the
    # process's hub (jams/hub.py), never through a per-socket channel. An
    # alias that names no layer makes Channels skip ``new_channel`` and the
    # receive loop on it, which cost every socket a queue (memory layer), a
    # subscription (pub/sub layer) or a blocking Redis read (core layer:
    # with 1,000 sockets those reads timed out and starved the hub).
    channel_layer_alias = "jam-socket-without-channel"
    jam_id: int
    user_id: int
    role: str
    hub: Hub | None = None
    hold_timer: asyncio.TimerHandle | None = None
    accepted = False
    verified = True
    """False for a ticketed socket until its membership was read."""
    batching = False
    closing = False
    """Set once this side closed the socket: frames still arriving are ignored."""
    outbox: list[str] = []  # never appended: _start gives each socket its own

    async def connect(self) -> None:
        ticket: SocketTicket | None = self.scope.get("jam_ticket")
        user = self.scope.get("user")
        if ticket is None and (user is None or not user.is_authenticated):
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        try:
            if ticket is not None:
                # No outage guard in front of a ticketed handshake
                # (jamsite/asgi.py): its one database read, if any, waits
                # at most the gate's wait and the pool's timeout.
                await self._connect_ticketed(ticket)  # takes the gate for a read only
            else:
                gate = connect_gate()
                if not await gate.enter():
                    await self._try_later()  # too many connects at once
                    return
                try:
                    await self._connect(user)
                finally:
                    gate.leave()
        except DATABASE_DOWN as exc:
            logger.warning("socket refused, the database is unavailable: %s", exc)
            await self._try_later()

    def _start(self, user_id: int) -> None:
        self.user_id = user_id
        # ?batch=1: the client takes several messages in one frame, separated
        # by newlines (docs/protocol.md); live events are then queued and
        # flushed together.
        self.batching = query_value(self.scope.get("query_string", b""), b"batch") == "1"
        self.outbox: list[str] = []
        self.topics: set[int] = set()
        self.ideas: set[int] = set()
        # Events go out on each socket in strictly increasing seq: clients
        # keep the last seq they applied and drop anything at or below it.
        # ``floor`` is the snapshot's seq: live events up to it are covered by
        # the snapshot or by the client's resume; ``sent`` the last seq sent.
        self.floor = 0
        self.sent = 0
        # Live events are held from connect until the client's first resume
        # has replayed what it missed (or HOLD_SECONDS pass without one), and
        # during every replay, so no live event overtakes an older replayed one.
        self.held: list[tuple[int, str]] | None = []
        self.hold_timer: asyncio.TimerHandle | None = None
        self.replaying = False
        self.strikes = 0
        self.bucket = TokenBucket(
            rate=settings.JAM_WS_MESSAGES_PER_SECOND, burst=settings.JAM_WS_MESSAGE_BURST
        )

    async def _connect_ticketed(self, ticket: SocketTicket) -> None:
        """A connect on a ticket: no session, no user, and with a current
        snapshot in the process's cache no database call at all. Membership
        is read on the first resume or when the socket goes live without
        one (``verified``)."""
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self._start(ticket.user_id)
        self.verified = False
        if _jam_ids.get(slug, ticket.jam_id) != ticket.jam_id:
            # A ticket for another jam (or this slug's previous jam): the
            # client drops its ticket when refused before the hello and
            # comes back on its session.
            await self._try_later()
            return
        self.jam_id, self.role = ticket.jam_id, ticket.role
        self.hub = hub_for_loop()
        await self.hub.join(self)
        cache = snapshot_cache()
        state = cache.get(self.jam_id, self.hub)
        if state is None:
            gate = connect_gate()
            if not await gate.enter():
                await self._try_later()  # too many reads at once
                return
            try:
                # Another socket may have read it while this one waited.
                state = cache.get(self.jam_id, self.hub)
                if state is None:
                    state = await _db(live.socket_jam_state)(jam_id=self.jam_id)
                    if state is not None:
                        cache.put(state)
            finally:
                gate.leave()
        if state is None or state.jam.slug != slug:
            await self._try_later()
            return
        _jam_ids[slug] = self.jam_id
        try:
            snapshot = live.socket_hello_for_ticket(state, ticket)
        except DomainError:
            await self._refuse()
            return
        await self._go(snapshot)

    async def _connect(self, user: Any) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        self._start(user.pk)
        self.verified = True  # the snapshot read the membership
        # Subscribe first, then take the snapshot, so no event falls between.
        # Joining needs the jam's id; the slug's id is remembered per process,
        # so a connect costs one database call (the snapshot, which checks
        # access) instead of two (a connect storm is bound by these calls).
        # The joined socket is not accepted and sends nothing until the
        # snapshot allowed it; a refused one leaves the hub at once.
        jam_id = _jam_ids.get(slug)
        if jam_id is None:
            try:
                access = await _db(live.socket_access)(slug=slug, user=user)
            except DomainError:
                await self.close(code=CLOSE_FORBIDDEN)
                return
            jam_id = _jam_ids[slug] = access.jam_id
        self.jam_id, self.role = jam_id, ""
        self.hub = hub_for_loop()
        await self.hub.join(self)
        try:
            snapshot = await _db(live.socket_snapshot)(slug=slug, user=user)
        except DomainError:
            await self._refuse()
            return
        if snapshot.jam_id != self.jam_id:
            # The slug now names another jam (deleted and created again).
            await self.hub.leave(self)
            self.held = []  # anything held was the other jam's
            self.jam_id = _jam_ids[slug] = snapshot.jam_id
            await self.hub.join(self)
            try:
                snapshot = await _db(live.socket_snapshot)(slug=slug, user=user)
            except DomainError:
                await self._refuse()
                return
        await self._go(snapshot)

    async def _go(self, snapshot: live.SocketSnapshot) -> None:
        """Accept and send the hello, with a fresh ticket for the next connect."""
        self.role = snapshot.role
        self.floor = snapshot.seq
        await self.accept()
        self.accepted = True
        ticket = ticket_issue(user_id=self.user_id, jam_id=self.jam_id, role=self.role)
        await self.send_json({**snapshot.hello, "ticket": ticket})
        self.hold_timer = asyncio.get_running_loop().call_later(
            HOLD_SECONDS, lambda: asyncio.ensure_future(self.hold_expired())
        )

    async def _refuse(self) -> None:
        if self.hub is not None:
            await self.hub.leave(self)
            self.hub = None
        await self.close(code=CLOSE_FORBIDDEN)

    async def _try_later(self) -> None:
        """Refuse the socket for now with 4503, "try again later": accepted
        first, then closed, because servers turn a close before accept into
        HTTP 403 and the code is lost. (For session handshakes the outage
        guard would do the same; ticketed ones pass no guard.)"""
        if self.hub is not None:
            await self.hub.leave(self)
            self.hub = None
        if not self.accepted:
            await self.accept()
        await self.close(code=CLOSE_TRY_AGAIN)

    async def disconnect(self, code: int) -> None:
        if self.hold_timer is not None:
            self.hold_timer.cancel()
        if self.hub is not None:
            await self.hub.leave(self)
            self.hub = None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch, without its ``aclose_old_connections()`` for a
        connect: that is a hop to the thread-sensitive thread (a sixth of the
        server's samples in a connect storm), and this consumer holds no
        connection between calls (``_db`` closes each on its worker thread).

        A socket that sends fast (its rate-limit bucket under half full)
        keeps the hop for its messages, on purpose: waiting for the one
        shared thread paces it, so that a flood of frames cannot take the
        event loop from everybody else's posts (without any hop,
        tests/e2e/test_faults.py's flooded acks took 4-7x as long as quiet
        ones, 3 runs in 5). Sockets within their rate skip it: with the hop
        on every message, all sockets' posts queued on that one thread (200
        posts/s: ack p99 1.2 s against 0.4 s without)."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        if message["type"] == "websocket.receive":
            bucket = getattr(self, "bucket", None)
            if bucket is None or bucket.tokens < bucket.burst / 2:
                await aclose_old_connections()
        await handler(message)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        self.closing = True
        await super().close(code=code, reason=reason)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        """Channels' handler without its ``aclose_old_connections()`` (the same
        thread hop as in ``dispatch``) and its loop over ``groups`` (none)."""
        await self.disconnect(message.get("code", 1000))
        raise StopConsumer

    # --- Hub callbacks -------------------------------------------------------

    def wants(self, *, topic: int | None, idea: int | None, recipient: int | None) -> bool:
        if recipient is not None:
            return recipient == self.user_id
        if topic is None and idea is None:
            return True
        return (topic is not None and topic in self.topics) or (
            idea is not None and idea in self.ideas
        )

    async def deliver(self, seq: int, text: str) -> None:
        if seq <= max(self.floor, self.sent):
            return  # covered by the snapshot, or sent already (by a replay)
        if self.held is not None:
            self.held.append((seq, text))
            return
        self.sent = seq
        if self.batching:
            # Queued: the hub flushes every socket's queue when it has handed
            # out what it had (jams/hub.py), so events that arrive together
            # leave together, one frame per socket.
            if not self.outbox and self.hub is not None:
                self.hub.flush_soon(self)
            self.outbox.append(text)
            return
        # Straight to the ASGI send: the hot path of the fan-out.
        await self.frame_send({"type": "websocket.send", "text": text})

    async def flush(self) -> None:
        """Send the queued live events in one frame, one message a line."""
        if not self.outbox:
            return
        outbox, self.outbox = self.outbox, []
        text = outbox[0] if len(outbox) == 1 else "\n".join(outbox)
        await self.frame_send({"type": "websocket.send", "text": text})

    async def send(
        self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False
    ) -> None:
        # Anything sent directly (a replay, an ack, an error) goes after the
        # queued live events, so seqs stay increasing on the wire.
        if self.outbox:
            await self.flush()
        await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    @functools.cached_property
    def frame_send(self) -> Callable[[dict[str, Any]], Awaitable[None]]:
        """The send for ``websocket.send`` frames, past Channels' session
        wrapper: that wrapper acts only on ``http.response.start`` (saving
        the session, setting its cookie) and passes everything else on, but
        it first reads the lazy session's ``modified`` and ``is_empty()``,
        a fifth of the hub's deliver samples in a py-spy profile. Anything it
        does not know stays on ``base_send``."""
        send = self.base_send
        wrapper = getattr(send, "__self__", None)
        if (
            isinstance(wrapper, InstanceSessionWrapper)
            and getattr(send, "__func__", None) is InstanceSessionWrapper.send
            and "websocket.send" not in wrapper.save_message_types
            and "websocket.send" not in wrapper.cookie_response_message_types
        ):
            return wrapper.real_send
        return send

    async def release_held(self) -> None:
        if self.hold_timer is not None:
            self.hold_timer.cancel()
            self.hold_timer = None
        held, self.held = self.held or [], None
        for seq, text in sorted(held):
            await self.deliver(seq, text)
        await self.flush()

    async def hold_expired(self) -> None:
        """No resume came: go live from the snapshot (a ticketed socket once
        its membership is read, in a batch with other sockets')."""
        self.hold_timer = None
        if not self.verified:
            try:
                role = await role_reads().role(jam_id=self.jam_id, user_id=self.user_id)
            except DATABASE_DOWN as exc:
                logger.warning("ticketed socket closed, the database is unavailable: %s", exc)
                await self.close(code=CLOSE_TRY_AGAIN)
                return
            if not await self._apply_role(role):
                return
            self.verified = True
        if not self.replaying:
            await self.release_held()

    async def send_ephemeral(self, text: str) -> None:
        """An event that is not stored and has no seq (presence)."""
        if self.accepted:
            await self.send(text_data=text)

    async def tick(self, seq: int) -> None:
        if self.accepted:
            await self.send_json({"type": "tick", "seq": seq})

    async def recheck(self) -> bool:
        """Read the member's role again: a changed role is sent, a lost
        membership closes the socket (False)."""
        role = await _db(live.socket_role)(jam_id=self.jam_id, user_id=self.user_id)
        return await self._apply_role(role)

    async def _apply_role(self, role: str | None) -> bool:
        if role is None:
            await self._revoked()
            return False
        if role != self.role:
            self.role = role
            await self.send_json({"type": "role", "role": role})
        return True

    async def _revoked(self) -> None:
        self.held = []  # nothing more goes out but the error
        await self.send_error(None, Forbidden(_("You are no longer a member of this jam.")))
        await self._refuse()

    # --- Client messages -----------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return  # frames still queued after our close: a flood's tail costs nothing
        client_id = None
        try:
            if not self.bucket.take():
                self.strikes += 1
                if self.strikes >= ABUSE_STRIKES:
                    await self.close(code=CLOSE_ABUSE)
                    return
                raise RateLimited
            self.strikes = 0
            message = message_parse(text_data, max_bytes=settings.JAM_WS_MAX_MESSAGE_BYTES)
            client_id = getattr(message, "client_id", None)
            await self.handle(message)
        except ProtocolError as exc:
            await self.send_error(exc.client_id, exc)
        except DomainError as exc:
            await self.send_error(client_id, exc)
        except DATABASE_DOWN as exc:
            logger.warning("socket message refused, the database is unavailable: %s", exc)
            await self.send_json(
                {
                    "type": "error",
                    "client_id": client_id,
                    "code": "unavailable",
                    "message": _("The service is briefly unavailable; please retry."),
                }
            )
        except Exception:
            logger.exception("socket message failed")
            await self.send_json(
                {
                    "type": "error",
                    "client_id": client_id,
                    "code": "server_error",
                    "message": _("Something went wrong; please retry."),
                }
            )

    async def handle(self, message: ClientMessage) -> None:
        handler = self.handlers.get(type(message))
        if handler is None:  # pragma: no cover - every parsed type has a handler
            raise DomainError
        await handler(self, message)

    async def on_subscribe(self, message: Subscribe) -> None:
        await _db(live.subscription_check)(
            jam_id=self.jam_id, user_id=self.user_id, topic=message.topic, idea=message.idea
        )
        if message.topic is not None:
            self.topics.add(message.topic)
        if message.idea is not None:
            self.ideas.add(message.idea)
        await self.send_json({"type": "subscribed", "topic": message.topic, "idea": message.idea})

    async def on_unsubscribe(self, message: Unsubscribe) -> None:
        self.topics.discard(message.topic or 0)
        self.ideas.discard(message.idea or 0)
        await self.send_json({"type": "unsubscribed", "topic": message.topic, "idea": message.idea})

    async def on_resume(self, message: Resume) -> None:
        """Replay stored events after ``after`` for this socket's
        subscriptions, then go live. Events already sent on this socket are
        not sent again, so seqs stay strictly increasing."""
        if self.held is None:
            self.held = []
        self.replaying = True
        try:
            after = message.after
            while True:
                try:
                    page = await _db(live.replay)(
                        jam_id=self.jam_id,
                        user_id=self.user_id,
                        after=after,
                        topics=frozenset(self.topics),
                        ideas=frozenset(self.ideas),
                    )
                except Forbidden:
                    if self.verified:
                        raise
                    await self._revoked()  # a ticket of a member who has left
                    return
                self.verified = True
                for seq, text in page.events:
                    after = seq
                    if seq > self.sent:
                        self.sent = seq
                        await self.send(text_data=text)
                if page.complete:
                    break
            latest = max(after, page.seq, self.sent)
            self.floor = max(self.floor, latest)
            await self.send_json({"type": "resumed", "seq": latest})
        finally:
            self.replaying = False
            await self.release_held()

    async def on_ping(self, message: Ping) -> None:
        await self.send_json({"type": "pong"})

    async def on_post(self, message: PostMessage) -> None:
        # Posts of all sockets share transactions when they queue behind a
        # commit (jams/groupcommit.py): one WAL flush for many posts.
        ack = await group_commit_for_loop(self.jam_id).run(
            functools.partial(
                live.post_submit, jam_id=self.jam_id, user_id=self.user_id, message=message
            )
        )
        await self.send_json({"type": "ack", **ack})

    async def on_react(self, message: ReactMessage) -> None:
        ack = await _db(live.react_submit)(
            jam_id=self.jam_id, user_id=self.user_id, message=message
        )
        await self.send_json({"type": "ack", **ack})

    async def on_alert(self, message: AlertMessage) -> None:
        ack = await _db(live.alert_submit)(
            jam_id=self.jam_id, user_id=self.user_id, message=message
        )
        await self.send_json({"type": "ack", **ack})

    async def on_vote(self, message: VoteMessage) -> None:
        # The votes of all sockets share transactions and statements when
        # they queue behind a batch (voting/live.py, jams/groupcommit.py).
        ack = await vote_batch_for_loop(self.jam_id).run((self.user_id, message))
        await self.send_json({"type": "ack", **ack})

    handlers: dict[type, Callable[[Any, Any], Awaitable[None]]] = {
        Subscribe: on_subscribe,
        Unsubscribe: on_unsubscribe,
        Resume: on_resume,
        Ping: on_ping,
        PostMessage: on_post,
        ReactMessage: on_react,
        AlertMessage: on_alert,
        VoteMessage: on_vote,
    }

    # --- Sending ------------------------------------------------------------

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    async def send_error(self, client_id: str | None, error: DomainError) -> None:
        await self.send_json(
            {"type": "error", "client_id": client_id, "code": error.code, "message": error.message}
        )
