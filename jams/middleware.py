"""Middleware: the member's own time zone on every page (Django, HTTP), and a
clean refusal of WebSocket handshakes while the database is down (ASGI).

``DatabaseOutageGuard`` sits between the origin check and Channels' session
and auth middleware, for handshakes without a socket ticket (jamsite/asgi.py;
ticketed ones load nothing before the consumer, which refuses them itself).
Loading the session and the user of a WebSocket handshake reads the
database before any consumer runs, so while PostgreSQL is down, restarting
or out of connections that read raises, and without the guard the server
logs "Exception inside application" with a traceback and answers the
handshake with HTTP 500.

With the guard, a database error raised before the socket is accepted
(``django.db`` or psycopg ``OperationalError`` / ``InterfaceError``, a pool
timeout included) refuses the socket cleanly: it is accepted and closed at
once with code 4503 ("service unavailable, try again later", in the 4xxx
range of our other codes: 4401, 4403, 4429), logged as one warning line
without a traceback. Clients reconnect with jittered backoff and resume
(docs/protocol.md). Not RFC 6455's 1013 "try again later": daphne's
WebSocket library (autobahn) refuses to send any code but 1000 and
3000-4999, and raises.

An inner application's own refusal for the same cause (a close with 4503
or 1013 before accepting) gets the same treatment: servers turn a close
before accept into HTTP 403, which hides the code, so the guard accepts
first and closes with 4503. (JamConsumer accepts and closes with 4503
itself.)

While PostgreSQL is down each session load waits for the connection
pool's timeout on Channels' one thread-sensitive worker thread, so
handshakes queue behind each other; one whose consumer has not started
within SETUP_SECONDS (3 s, under daphne's 5 s handshake timeout, past which
daphne drops the connection without a code) is refused with 4503 too.

The socket is accepted only after the origin check (the guard is inside
``AllowedHostsOriginValidator``) and nothing is sent on it but the close.
Errors after the socket is accepted are the consumer's business (it answers
a message with the retryable ``unavailable`` error) and pass through.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

logger = logging.getLogger(__name__)


class ViewerTimeZoneMiddleware:
    """Activate the member's chosen time zone for the request; without one
    pages show the site's (UTC), and jam pages the jam's
    (jams.responses.jam_render)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = getattr(user, "time_zone", "") if user and user.is_authenticated else ""
        if not chosen:
            return self.get_response(request)
        timezone.activate(zoneinfo.ZoneInfo(chosen))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


# --- ASGI: the WebSocket handshake while the database is down ---------------

# The service is briefly unable to take the socket: reconnect later.
CLOSE_TRY_AGAIN = 4503
# RFC 6455's "Try Again Later", which daphne cannot send (see above): what
# the consumer closes a socket with when the database is down during connect.
RFC_TRY_AGAIN = 1013
# How long the session and user may take to load before the handshake is
# refused with 4503: well under daphne's handshake timeout (5 s).
SETUP_SECONDS = 3.0
DATABASE_DOWN: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)

type Scope = dict[str, Any]
type Message = dict[str, Any]
type Receive = Callable[[], Awaitable[Message]]
type Send = Callable[[Message], Awaitable[None]]
type ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class DatabaseOutageGuard:
    """Refuse a WebSocket handshake with close code 4503 when the database
    cannot be reached while the handshake is set up (see the module doc).

    ``setup_seconds`` bounds the part before the consumer starts (the
    session and user loads): while PostgreSQL is down each load waits for
    the pool's timeout on Channels' one thread-sensitive worker thread, so
    handshakes queue behind each other and behind the hub's heartbeat, and
    past daphne's own handshake timeout (5 s) daphne drops the connection
    without a word. A handshake whose consumer has not started within
    ``setup_seconds`` is refused with 4503 as well (nothing of the consumer
    exists yet, so cancelling the loads leaves nothing behind)."""

    def __init__(self, inner: ASGIApp, *, setup_seconds: float = SETUP_SECONDS) -> None:
        self.inner = inner
        self.setup_seconds = setup_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "websocket":
            await self.inner(scope, receive, send)
            return
        state = {"connect_received": False, "accepted": False, "closed": False}
        reached = asyncio.Event()  # the consumer started (or the app answered)

        async def guarded_receive() -> Message:
            message: Message = await receive()
            if message.get("type") == "websocket.connect":
                state["connect_received"] = True
                reached.set()
            return message

        async def guarded_send(message: Message) -> None:
            if state["accepted"]:
                # Open socket: every live frame passes here, so nothing else.
                if message.get("type") == "websocket.close":
                    state["closed"] = True
                await send(message)
                return
            kind = message.get("type")
            if (
                kind == "websocket.close"
                and not state["accepted"]
                and message.get("code") in (CLOSE_TRY_AGAIN, RFC_TRY_AGAIN)
            ):
                # A close before accept becomes HTTP 403 and the code is lost.
                await send({"type": "websocket.accept"})
                state["accepted"] = True
                message = {**message, "code": CLOSE_TRY_AGAIN}
            if kind == "websocket.accept":
                state["accepted"] = True
            elif kind == "websocket.close":
                state["closed"] = True
            reached.set()
            await send(message)

        async def refuse(reason: str, *args: object) -> None:
            logger.warning("socket refused (close %s), " + reason, CLOSE_TRY_AGAIN, *args)
            if state["closed"]:
                return
            if not state["connect_received"]:
                # The first message of a WebSocket scope is websocket.connect;
                # a client that left already sends websocket.disconnect.
                first = await receive()
                if first.get("type") != "websocket.connect":
                    return
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})

        app = asyncio.ensure_future(self.inner(scope, guarded_receive, guarded_send))
        waiter = asyncio.ensure_future(reached.wait())
        try:
            await asyncio.wait(
                {app, waiter}, timeout=self.setup_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            if not app.done() and not reached.is_set():
                app.cancel()
                with contextlib.suppress(asyncio.CancelledError, *DATABASE_DOWN):
                    await app
                await refuse(
                    "the session was not loaded within %s s (is the database down?)",
                    self.setup_seconds,
                )
                return
            try:
                await app
            except DATABASE_DOWN as exc:
                if state["accepted"]:
                    raise  # the socket was open: not a handshake failure
                first_line = next(iter(str(exc).strip().splitlines()), "")
                await refuse("the database is unavailable: %s: %s", type(exc).__name__, first_line)
        finally:
            waiter.cancel()
            if not app.done():
                app.cancel()  # the server cancelled us: the application goes too
