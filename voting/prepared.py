"""A cursor for the vote's statements that PostgreSQL prepares once per connection.

Django's psycopg backend binds parameters on the client (the values are
quoted into the SQL text) and never prepares (``prepare_threshold=None``).
So every vote had PostgreSQL parse, analyze and plan its five to seven
statements afresh, about half of the backend's CPU per vote
(docs/voting.md). They are the same text on every vote; through this cursor
psycopg binds their parameters on the server and prepares each statement the
first time a connection runs it (one extra round trip, once), then only
executes it.

The switch is local: only statements sent through this cursor are prepared.
The connection's other queries keep Django's client-side binding, which a
project-wide ``OPTIONS["server_side_binding"]`` would change for every query.
psycopg forgets a connection's prepared statements on a rollback (and tells
the server, ``DEALLOCATE ALL``); the next vote prepares them again.

Parameters are typed on the server, so the statements cast them where a type
matters (``%s::bigint[]``). Elsewhere (SQLite) an ordinary cursor.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection


@contextmanager
def prepared_cursor() -> Iterator[Any]:
    """A Django cursor (logged, errors wrapped) whose statements are prepared."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    session = connection.connection
    factory = session.cursor_factory
    session.cursor_factory = ServerBindingCursor
    try:
        cursor = connection.cursor()
    finally:
        session.cursor_factory = factory
    # (Should connection.cursor() have reconnected, the new connection hands
    # out Django's usual cursor: the statements then run unprepared.)
    session = cursor.cursor.connection
    threshold = session.prepare_threshold
    session.prepare_threshold = 0  # prepare on first use, this cursor only
    try:
        with cursor:
            yield cursor
    finally:
        session.prepare_threshold = threshold
