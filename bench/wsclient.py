"""A minimal, cheap WebSocket client for the load generator.

A full client library (websockets) costs 15-25 us of CPU per received frame
in Python; at 50,000 deliveries a second that alone would fill the
generator's core and the benchmark would measure the generator. This one is
an ``asyncio.Protocol`` that does the HTTP upgrade and then only splits the
server's (unmasked, unfragmented) frames, hands each text payload to a
callback as ``bytes``, answers pings and masks what it sends. Enough for
loopback benchmarks against daphne and uvicorn; not a general client.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable

OnText = Callable[[bytes, float], None]


class HandshakeFailed(Exception):
    def __init__(self, status: int, head: bytes) -> None:
        super().__init__(f"HTTP {status}: {head[:200]!r}")
        self.status = status


class WSClient(asyncio.Protocol):
    def __init__(self, on_text: OnText | None = None) -> None:
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.frames = 0

    # --- Opening ---------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        on_text: OnText | None = None,
        within: float = 30.0,
    ) -> WSClient:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within):
            _, client = await loop.create_connection(lambda: cls(on_text), host, port)
            key = base64.b64encode(os.urandom(16)).decode()
            lines = [
                f"GET {path} HTTP/1.1",
                f"Host: {host}:{port}",
                "Upgrade: websocket",
                "Connection: Upgrade",
                f"Sec-WebSocket-Key: {key}",
                "Sec-WebSocket-Version: 13",
                *(f"{k}: {v}" for k, v in (headers or {}).items()),
            ]
            assert client.transport is not None
            client.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await client.handshake
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.handshake.done():
            self.handshake.set_exception(ConnectionError(f"closed during handshake: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    # --- Receiving -------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            del buf[: end + 4]
            status = int(head.split(b" ", 2)[1])
            if status != 101:
                self.handshake.set_exception(HandshakeFailed(status, head))
                assert self.transport is not None
                self.transport.close()
                return
            self.upgraded = True
            self.handshake.set_result(None)
        now = time.time()
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if size - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buf, pos + 2)
                head = 10
            end = pos + head + length
            if end > size:
                break
            opcode = b0 & 0x0F
            if opcode == 1:
                self.frames += 1
                if self.on_text is not None:
                    self.on_text(bytes(buf[pos + head : end]), now)
            elif opcode == 9:
                self._send(0xA, bytes(buf[pos + head : end]))
            elif opcode == 8:
                assert self.transport is not None
                self.transport.close()
            pos = end
        if pos:
            del buf[:pos]

    # --- Sending ---------------------------------------------------------------

    def send_text(self, text: str) -> None:
        self._send(0x1, text.encode())

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        mask = os.urandom(4)
        # XOR with the repeated mask as one big-integer operation.
        repeated = (mask * (length // 4 + 1))[:length]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
            length, "big"
        )
        self.transport.write(header + mask + masked)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(0x8, struct.pack("!H", 1000))
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
