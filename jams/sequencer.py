"""Puts one jam's live events back in seq order and fills gaps from the database.

A server process receives every event of the jams its sockets are in (one
group membership per process and jam), so at the hub the seqs of a jam must
be contiguous. Messages from several writer processes can arrive out of
order, and the channel layer may drop one (at capacity, on expiry, during a
Redis restart). The sequencer releases events strictly in seq order; when a
seq is missing for longer than a short wait, the hub fetches the missing
range from the event table, which always holds it: seq N+1 is only handed
out after the transaction holding seq N has committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
Fetch = Callable[[int, int], Awaitable[list[Message]]]


class Sequencer:
    def __init__(self, *, next_seq: int) -> None:
        self.next_seq = next_seq
        self.pending: dict[int, Message] = {}

    @property
    def waiting(self) -> bool:
        """A later event is held while an earlier one is missing."""
        return bool(self.pending)

    def accept(self, message: Message) -> list[Message]:
        """Take one live message; return the messages now ready, in order."""
        seq = int(message["seq"])
        if seq < self.next_seq:
            return []  # already released (fetched from the database, or a duplicate)
        self.pending.setdefault(seq, message)
        return self._release()

    async def fill_gap(self, fetch: Fetch) -> list[Message]:
        """Fetch every missing seq before the latest held one, then release."""
        released: list[Message] = []
        while self.pending:
            low, high = self.next_seq, min(self.pending) - 1
            for message in await fetch(low, high):
                if low <= int(message["seq"]) <= high:
                    self.pending.setdefault(int(message["seq"]), message)
            if self.next_seq not in self.pending:
                # The database has no such seq (it cannot happen while seqs
                # are handed out under the jam row's lock); never stall on it.
                self.next_seq = min(self.pending)
            released += self._release()
        return released

    async def catch_up(self, latest: int, fetch: Fetch) -> list[Message]:
        """Release everything up to ``latest``, a committed seq (from the
        heartbeat): also a loss at the very end, which no later event reveals."""
        if latest >= self.next_seq:
            low = self.next_seq
            high = min(latest, min(self.pending) - 1) if self.pending else latest
            if high >= low:
                for message in await fetch(low, high):
                    if low <= int(message["seq"]) <= high:
                        self.pending.setdefault(int(message["seq"]), message)
        released = self._release()
        return released + await self.fill_gap(fetch)

    def _release(self) -> list[Message]:
        released = []
        while self.next_seq in self.pending:
            released.append(self.pending.pop(self.next_seq))
            self.next_seq += 1
        return released
