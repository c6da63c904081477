from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import channel_layers, get_channel_layer
from django.conf import settings

from accounts.models import User
from jams.models import Jam, Role, Topic
from jams.phases import Stage
from jams.realtime import jam_group

from .factories import TopicFactory, jam_in_stage, member


def _available() -> dict[str, bool]:
    return {
        "postgres": settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "redis": bool(os.environ.get("REDIS_URL")),
        "browser": shutil.which("chromium") is not None,
    }


def _required(marker: str) -> bool:
    """Whether a missing service fails the test instead of skipping it.

    .ci/run runs the suite twice: with the embedded defaults, where the
    PostgreSQL and Redis tests skip, and with both services, where it sets
    JAM_REQUIRE_SERVICES so they fail if the service is missing. Chromium is
    installed for both runs, so in CI a browser test never skips.
    """
    if marker == "browser":
        return bool(os.environ.get("CI"))
    return bool(os.environ.get("JAM_REQUIRE_SERVICES"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, present in _available().items():
        if present or item.get_closest_marker(marker) is None:
            continue
        if _required(marker):
            pytest.fail(f"this test needs {marker}, which this run must provide")
        pytest.skip(f"needs {marker}")


@pytest.fixture
def jam(db: None) -> Jam:
    return jam_in_stage(Stage.DISCUSSION)


@pytest.fixture
def topic(jam: Jam) -> Topic:
    return TopicFactory(jam=jam)


@pytest.fixture
def organizer(jam: Jam) -> User:
    return member(jam, Role.ORGANIZER)


@pytest.fixture
def facilitator(jam: Jam) -> User:
    return member(jam, Role.FACILITATOR)


@pytest.fixture
def participant(jam: Jam) -> User:
    return member(jam, Role.PARTICIPANT)


@pytest.fixture
def executive(jam: Jam) -> User:
    return member(jam, Role.EXECUTIVE)


class EventCapture:
    """Listens on a jam's real channel-layer group, as a server process does."""

    def __init__(self, jam_id: int, capture_on_commit: Any) -> None:
        self.capture_on_commit = capture_on_commit
        self.layer = get_channel_layer()
        self.group = jam_group(jam_id)
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(self.group, self.channel)
        self._events: list[dict[str, Any]] = []
        self._signals: list[dict[str, Any]] = []

    def _receive(self) -> None:
        import json

        async def receive_all() -> list[dict[str, Any]]:
            import asyncio

            out = []
            while True:
                try:
                    out.append(await asyncio.wait_for(self.layer.receive(self.channel), 0.05))
                except TimeoutError:
                    return out

        for message in async_to_sync(receive_all)():
            if message["type"] != "hub.event":
                self._signals.append(message)  # hub signals: turnout, rechecks
                continue
            event = json.loads(message["text"])
            event["_topic"], event["_idea"] = message["topic"], message["idea"]
            self._events.append(event)

    def drain(self) -> list[dict[str, Any]]:
        """The events received since the last drain, in order."""
        self._receive()
        events, self._events = self._events, []
        return events

    def signals(self) -> list[dict[str, Any]]:
        """The group's other messages (``hub.turnout``, ``user.recheck``)
        received since the last call, in order."""
        self._receive()
        signals, self._signals = self._signals, []
        return signals

    def committed(self) -> Any:
        """Run on-commit callbacks (the broadcasts) when the block ends, as a
        real commit would; the test's own transaction never commits."""
        return self.capture_on_commit(execute=True)

    def names(self) -> list[str]:
        return [e["event"] for e in self.drain()]


@pytest.fixture
def events(
    jam: Jam, django_capture_on_commit_callbacks: Any, settings: Any
) -> Iterator[EventCapture]:
    """The events services broadcast for ``jam``, received from a real
    in-memory channel layer (the Redis transport has its own tests with real
    server processes). Run the service inside ``events.committed()``."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    channel_layers.backends = {}
    yield EventCapture(jam.pk, django_capture_on_commit_callbacks)
    channel_layers.backends = {}
