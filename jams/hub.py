"""Per-process fan-out of jam events to the sockets this process holds.

The textbook Channels path (a group member per socket, a handler call per
delivery) costs 110-230 us of CPU per delivery. Instead each server process
joins each jam's group once, through one channel of its own, receives every
event of that jam once, and writes the pre-serialized text to each local
socket that wants it. Nothing here is the record: a delivery that is lost is
recovered from the database by ``resume`` (clients compare the ``tick``
heartbeat's seq with the last seq they saw).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import Any, Protocol

from channels.layers import BaseChannelLayer, get_channel_layer

from .realtime import jam_group, user_group

logger = logging.getLogger(__name__)

TICK_SECONDS = 20.0
# Group membership is refreshed well within channels_redis's group expiry, and
# re-established after a layer that lost it (a Redis flush or restart).
REFRESH_SECONDS = 30.0


class Socket(Protocol):
    jam_id: int
    user_id: int

    def wants(self, *, topic: int | None, idea: int | None, recipient: int | None) -> bool: ...

    async def deliver(self, seq: int, text: str) -> None: ...

    async def recheck(self) -> None: ...

    async def tick(self, seq: int) -> None: ...


class Hub:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.jams: dict[int, set[Socket]] = {}
        self.users: dict[int, set[Socket]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._ready = asyncio.Lock()

    async def _start(self) -> str:
        async with self._ready:
            if self.channel is None:
                self.channel = await self.layer.new_channel(prefix="hub")
                self._listener = asyncio.create_task(self._listen())
                self._ticker = asyncio.create_task(self._tick_forever())
            return self.channel

    async def join(self, socket: Socket) -> None:
        channel = await self._start()
        jam_sockets = self.jams.setdefault(socket.jam_id, set())
        if not jam_sockets:
            await self.layer.group_add(jam_group(socket.jam_id), channel)
        jam_sockets.add(socket)
        user_sockets = self.users.setdefault(socket.user_id, set())
        if not user_sockets:
            await self.layer.group_add(user_group(socket.user_id), channel)
        user_sockets.add(socket)

    async def leave(self, socket: Socket) -> None:
        channel = self.channel
        jam_sockets = self.jams.get(socket.jam_id, set())
        jam_sockets.discard(socket)
        user_sockets = self.users.get(socket.user_id, set())
        user_sockets.discard(socket)
        if channel is None:
            return
        if not jam_sockets:
            self.jams.pop(socket.jam_id, None)
            await self.layer.group_discard(jam_group(socket.jam_id), channel)
        if not user_sockets:
            self.users.pop(socket.user_id, None)
            await self.layer.group_discard(user_group(socket.user_id), channel)

    async def _listen(self) -> None:
        channel = await self._start()
        while True:
            try:
                message = await self.layer.receive(channel)
                await self.dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub dispatch failed; continuing")
                await asyncio.sleep(0.5)

    async def dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "hub.event":
            await self._fan_out(message)
        elif kind == "user.recheck":
            for socket in list(self.users.get(int(message.get("user", 0)), ())):
                await socket.recheck()

    async def _fan_out(self, message: dict[str, Any]) -> None:
        recipient = message.get("recipient")
        sockets = (
            self.users.get(recipient, set()) if recipient else self.jams.get(message["jam"], set())
        )
        text, seq = message["text"], message["seq"]
        for socket in list(sockets):
            if socket.jam_id != message["jam"]:
                continue
            if socket.wants(
                topic=message.get("topic"), idea=message.get("idea"), recipient=recipient
            ):
                await socket.deliver(seq, text)

    async def _tick_forever(self) -> None:
        from channels.db import database_sync_to_async

        from .selectors import latest_seqs

        elapsed = 0.0
        while True:
            await asyncio.sleep(TICK_SECONDS)
            elapsed += TICK_SECONDS
            jam_ids = list(self.jams)
            if not jam_ids:
                continue
            try:
                seqs = await database_sync_to_async(latest_seqs)(jam_ids=jam_ids)
                for jam_id, seq in seqs.items():
                    for socket in list(self.jams.get(jam_id, ())):
                        await socket.tick(seq)
                if elapsed >= REFRESH_SECONDS:
                    elapsed = 0.0
                    await self._refresh_groups()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub tick failed; continuing")

    async def _refresh_groups(self) -> None:
        channel = self.channel
        if channel is None:
            return
        for jam_id in list(self.jams):
            await self.layer.group_add(jam_group(jam_id), channel)
        for user_id in list(self.users):
            await self.layer.group_add(user_group(user_id), channel)

    async def close(self) -> None:
        for task in (self._listener, self._ticker):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


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
