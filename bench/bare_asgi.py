"""The ceiling: a bare ASGI app with no Django and no channel layer.

It accepts every WebSocket into a process-local set; a text frame starting
with ``post:`` is written, as is, to every other socket in the set (one
``send`` per socket, as the jam hub does), and answered with ``ack``. Any
HTTP request gets 200 (the harness's readiness probe).

    uvicorn bench.bare_asgi:app    daphne bench.bare_asgi:app
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

sockets: set[Send] = set()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    elif scope["type"] == "websocket":
        await _websocket(receive, send)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _websocket(receive: Receive, send: Send) -> None:
    try:
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.connect":
                await send({"type": "websocket.accept"})
                sockets.add(send)
            elif kind == "websocket.receive":
                text = message.get("text") or ""
                if text.startswith("post:"):
                    out = {"type": "websocket.send", "text": text}
                    for other in list(sockets):
                        if other is not send:
                            try:
                                await other(out)
                            except Exception:  # noqa: S112 - a socket closing meanwhile
                                continue
                    await send({"type": "websocket.send", "text": "ack"})
            elif kind == "websocket.disconnect":
                return
    finally:
        sockets.discard(send)
