"""The WebSocket handshake guard (jams/middleware.py DatabaseOutageGuard),
around small ASGI applications that fail the way Channels' session and auth
middleware fail when PostgreSQL is down. The real stack against a stopped
PostgreSQL is tests/e2e/test_faults.py."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
import pytest
from channels.testing import WebsocketCommunicator
from django.db import InterfaceError, OperationalError

from jams.middleware import DatabaseOutageGuard

pytestmark = pytest.mark.asyncio


def failing_before_accept(exc: BaseException, *, after_connect: bool = False) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if after_connect:
            assert (await receive())["type"] == "websocket.connect"
        raise exc

    return app


def closing_before_accept(code: int) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.close", "code": code})

    return app


async def accepting_then_failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    raise OperationalError("the database went away after the handshake")


@pytest.mark.parametrize(
    "exc",
    [
        OperationalError("connection refused"),
        InterfaceError("connection already closed"),
        psycopg.OperationalError("connection failed: Connection refused"),
        psycopg.InterfaceError("the connection is closed"),
    ],
    ids=["django-operational", "django-interface", "psycopg-operational", "psycopg-interface"],
)
@pytest.mark.parametrize("after_connect", [False, True], ids=["in-scope-setup", "in-connect"])
async def test_a_database_error_before_accept_closes_with_try_again(
    exc: BaseException, after_connect: bool, caplog: pytest.LogCaptureFixture
) -> None:
    comm = WebsocketCommunicator(
        DatabaseOutageGuard(failing_before_accept(exc, after_connect=after_connect)), "/ws/x/"
    )
    with caplog.at_level(logging.WARNING, logger="jams.middleware"):
        connected, _ = await comm.connect()
        # Accepted so the code reaches the client (a close before accept is
        # HTTP 403 on the wire), then closed at once with nothing sent.
        assert connected
        assert await comm.receive_output() == {"type": "websocket.close", "code": 4503}
        assert await comm.receive_nothing()
    (record,) = [r for r in caplog.records if r.name == "jams.middleware"]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None  # one line, no traceback
    assert "database is unavailable" in record.getMessage()


@pytest.mark.parametrize("code", [1013, 4503])
async def test_a_try_again_close_before_accept_reaches_the_client(code: int) -> None:
    comm = WebsocketCommunicator(DatabaseOutageGuard(closing_before_accept(code)), "/ws/x/")
    connected, _ = await comm.connect()
    assert connected
    assert await comm.receive_output() == {"type": "websocket.close", "code": 4503}


async def test_other_refusals_before_accept_pass_through() -> None:
    comm = WebsocketCommunicator(DatabaseOutageGuard(closing_before_accept(4403)), "/ws/x/")
    assert await comm.connect() == (False, 4403)


async def test_other_errors_are_not_swallowed() -> None:
    comm = WebsocketCommunicator(
        DatabaseOutageGuard(failing_before_accept(ValueError("a bug"), after_connect=True)),
        "/ws/x/",
    )
    with pytest.raises(ValueError, match="a bug"):
        await comm.connect()


async def test_a_database_error_after_accept_is_not_a_handshake_failure() -> None:
    comm = WebsocketCommunicator(DatabaseOutageGuard(accepting_then_failing), "/ws/x/")
    assert await comm.connect() == (True, None)
    with pytest.raises(OperationalError):
        await comm.receive_output()


async def test_a_session_load_that_hangs_is_refused_in_time_and_cancelled() -> None:
    """The database does not answer (each load waits for the pool's timeout,
    queued behind others): refused with 4503 before daphne's own handshake
    timeout would drop the connection, and the hanging load is cancelled."""
    cancelled = asyncio.Event()

    async def hanging(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await asyncio.sleep(60)  # a session load waiting for a connection
        except asyncio.CancelledError:
            cancelled.set()
            raise

    comm = WebsocketCommunicator(DatabaseOutageGuard(hanging, setup_seconds=0.2), "/ws/x/")
    connected, _ = await comm.connect(timeout=5)
    assert connected
    assert await comm.receive_output() == {"type": "websocket.close", "code": 4503}
    assert cancelled.is_set()


async def test_a_slow_consumer_is_not_cut_off_by_the_setup_deadline() -> None:
    """Once the consumer has started (it took websocket.connect), the guard
    leaves its pace alone."""

    async def slow_consumer(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await asyncio.sleep(0.5)  # its own snapshot, longer than the deadline
        await send({"type": "websocket.accept"})
        await receive()

    comm = WebsocketCommunicator(DatabaseOutageGuard(slow_consumer, setup_seconds=0.1), "/ws/x/")
    assert await comm.connect(timeout=5) == (True, None)
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()
