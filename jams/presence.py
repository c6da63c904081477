"""Who is online, across server processes.

Each process reports, every few seconds, the members it holds sockets for,
per jam and per topic, to the jam's group (one message per process and jam).
Every process keeps the latest report of each process, forgets reports that
stop coming (a process that died), and counts distinct people: a member with
three tabs, or with sockets on two processes, counts once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PresenceReport:
    process: str
    users: frozenset[int]
    topics: dict[int, frozenset[int]]
    received: float

    def message(self, jam_id: int) -> dict[str, Any]:
        return {
            "type": "hub.presence",
            "jam": jam_id,
            "process": self.process,
            "users": sorted(self.users),
            "topics": {str(t): sorted(u) for t, u in self.topics.items()},
        }

    @classmethod
    def from_message(cls, message: dict[str, Any], *, received: float) -> PresenceReport:
        return cls(
            process=str(message["process"]),
            users=frozenset(int(u) for u in message["users"]),
            topics={int(t): frozenset(int(u) for u in us) for t, us in message["topics"].items()},
            received=received,
        )


@dataclass
class PresenceBoard:
    """The reports of every process for one jam."""

    max_age: float
    reports: dict[str, PresenceReport] = field(default_factory=dict)

    def record(self, report: PresenceReport) -> None:
        self.reports[report.process] = report

    def counts(self, now: float | None = None) -> dict[str, Any]:
        now = time.monotonic() if now is None else now
        live = [r for r in self.reports.values() if now - r.received <= self.max_age]
        self.reports = {r.process: r for r in live}
        users: set[int] = set()
        topics: dict[int, set[int]] = {}
        for report in live:
            users |= report.users
            for topic, members in report.topics.items():
                topics.setdefault(topic, set()).update(members)
        return {"jam": len(users), "topics": {str(t): len(u) for t, u in sorted(topics.items())}}
