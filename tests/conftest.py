from __future__ import annotations

import os
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need PostgreSQL or Redis skip without them, except in CI,
    where a missing service is a failure."""
    engine = settings.DATABASES["default"]["ENGINE"]
    have = {
        "postgres": engine.endswith("postgresql"),
        "redis": bool(os.environ.get("REDIS_URL")),
    }
    for item in items:
        for marker, present in have.items():
            if not item.get_closest_marker(marker) or present:
                continue
            if os.environ.get("CI"):
                item.add_marker(pytest.mark.usefixtures(f"_require_{marker}_in_ci"))
            else:
                item.add_marker(pytest.mark.skip(reason=f"needs {marker}"))


@pytest.fixture
def _require_postgres_in_ci() -> None:
    pytest.fail("CI must run the PostgreSQL tests: set DATABASE_URL")


@pytest.fixture
def _require_redis_in_ci() -> None:
    pytest.fail("CI must run the Redis tests: set REDIS_URL")


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

    def drain(self) -> list[dict[str, Any]]:
        import json

        async def receive_all() -> list[dict[str, Any]]:
            import asyncio

            out = []
            while True:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), 0.05)
                except TimeoutError:
                    return out
                event = json.loads(message["text"])
                event["_topic"], event["_idea"] = message["topic"], message["idea"]
                out.append(event)

        return async_to_sync(receive_all)()

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
