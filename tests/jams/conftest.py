"""Fixtures shared by the socket tests."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from jams.models import Role
from jams.phases import Stage
from tests.factories import TopicFactory, jam_in_stage, member


@pytest.fixture
async def world() -> dict[str, Any]:
    """A jam in discussion with a topic, two participants, a facilitator and an organizer."""

    def build() -> dict[str, Any]:
        jam = jam_in_stage(Stage.DISCUSSION)
        return {
            "jam": jam,
            "topic": TopicFactory(jam=jam, title="Cities"),
            "alice": member(jam, Role.PARTICIPANT),
            "bob": member(jam, Role.PARTICIPANT),
            "host": member(jam, Role.FACILITATOR),
            "boss": member(jam, Role.ORGANIZER),
        }

    return await database_sync_to_async(build)()
