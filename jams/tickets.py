"""Socket tickets: a member's signed, short-lived pass for opening the jam
socket without the session.

A WebSocket handshake authenticated by the session cookie loads the session
and then the user from the database before the consumer runs, on Channels'
one thread-sensitive thread: 2 queries and two thread hops per connect,
which is what a storm of thousands of reconnects (a server restart, a
network blip) queued on. A ticket is what Phoenix's socket tokens and
Centrifugo's connection tokens are: the page that opens the socket, or the
socket's previous ``hello``, hands the member a string signed with the
site's key (``django.core.signing``, HMAC-SHA256) that names the user, the
jam and the role, and the handshake checks the signature and its age in
microseconds, without the database.

What a ticket does not do:

- It is not a session: it opens the socket of one jam, nothing else, and
  only within ``JAM_WS_TICKET_SECONDS`` (default 300) of being issued. A
  socket whose ticket is missing, expired, forged or for another jam falls
  back to the session, as before.
- It does not authorize anything on its own: membership is read from the
  database on the socket's first ``resume`` (or when it goes live without
  one), on every subscribe and on every write, exactly as for a session's
  socket, and a socket whose member is gone is closed with 4403. Within the
  ticket's lifetime, a removed member (or one whose password changed) can
  see the ``hello`` (jam title, topics, phase) of a jam they were in.

The ticket travels in the socket URL's query string (``?ticket=...``), as
Phoenix's do; access logs that record query strings should be kept as
private as the tickets (docs/security.md).
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing

from .middleware import ASGIApp, Receive, Scope, Send

_SALT = "jams.socket-ticket"


@dataclass(frozen=True, slots=True)
class SocketTicket:
    user_id: int
    jam_id: int
    role: str


def ticket_issue(*, user_id: int, jam_id: int, role: str) -> str:
    """A signed ticket for this member's socket to this jam."""
    return signing.dumps([user_id, jam_id, role], salt=_SALT)


def ticket_read(text: str, *, max_age: float | None = None) -> SocketTicket | None:
    """The ticket's contents, or None when it is forged, malformed or older
    than ``max_age`` seconds (default ``JAM_WS_TICKET_SECONDS``)."""
    if max_age is None:
        max_age = settings.JAM_WS_TICKET_SECONDS
    try:
        value = signing.loads(text, salt=_SALT, max_age=timedelta(seconds=max_age))
    except signing.BadSignature:  # SignatureExpired included
        return None
    match value:
        case [int(user_id), int(jam_id), str(role)] if role:
            return SocketTicket(user_id=user_id, jam_id=jam_id, role=role)
    return None


def query_value(query_string: bytes, name: bytes) -> str | None:
    """The first value of ``name`` in a query string, decoded; None if absent.
    (``urllib.parse.parse_qs`` decodes every part: a twentieth of a connect
    storm's samples, for the two names a socket URL carries.)"""
    for part in query_string.split(b"&"):
        key, sep, value = part.partition(b"=")
        if sep and key == name:
            text = value.decode("latin-1")
            if "%" in text or "+" in text:
                text = urllib.parse.unquote_plus(text)
            return text
    return None


def ticket_from_query(query_string: bytes) -> SocketTicket | None:
    """The valid ticket in a socket URL's query string, if there is one."""
    text = query_value(query_string, b"ticket")
    return ticket_read(text) if text else None


class TicketOrSessionAuth:
    """ASGI middleware for the socket routes: a handshake with a valid ticket
    goes straight to ``ticketed`` with the ticket in ``scope["jam_ticket"]``
    (no session, no user loaded); any other goes through ``with_session``
    (Channels' session and auth middleware), as before."""

    def __init__(self, *, ticketed: ASGIApp, with_session: ASGIApp) -> None:
        self.ticketed = ticketed
        self.with_session = with_session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ticket = None
        if scope.get("type") == "websocket":
            ticket = ticket_from_query(scope.get("query_string", b""))
        if ticket is None:
            await self.with_session(scope, receive, send)
            return
        await self.ticketed({**scope, "jam_ticket": ticket}, receive, send)
