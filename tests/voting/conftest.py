from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ideas.models import Idea
from jams.models import Jam
from jams.phases import Stage
from tests.factories import idea_in, jam_in_stage

# Where "after voting" is for a jam placed in the voting stage by
# tests.factories.schedule: voting ends 4 hours after its ``now``.
AFTER_VOTING = timedelta(hours=5)


@pytest.fixture
def jam(db: None) -> Jam:
    """The jam every shared fixture (roles, events) uses: open for voting."""
    return jam_in_stage(Stage.VOTING)


@pytest.fixture
def ideas(jam: Jam) -> list[Idea]:
    return [idea_in(jam, title=title) for title in ("Alpha", "Bravo", "Charlie", "Delta")]


def after_voting():  # type: ignore[no-untyped-def]
    return timezone.now() + AFTER_VOTING
