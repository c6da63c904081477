"""The stage derived from the clock, at both edges of every window, and the
organizer transitions (pure code, no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jams.phases import (
    PhaseKind,
    PhaseWindow,
    Stage,
    Transition,
    TransitionRefused,
    WindowChange,
    jam_state,
    transition_plan,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
US = timedelta(microseconds=1)

# discussion [0h, 10h), gap, voting [12h, 15h), results [15h, 40h)
DISCUSSION = PhaseWindow(1, PhaseKind.DISCUSSION, T0, T0 + 10 * H)
VOTING = PhaseWindow(2, PhaseKind.VOTING, T0 + 12 * H, T0 + 15 * H)
RESULTS = PhaseWindow(3, PhaseKind.RESULTS, T0 + 15 * H, T0 + 40 * H)
SCHEDULE = [VOTING, RESULTS, DISCUSSION]  # order of the input does not matter


@pytest.mark.parametrize(
    ("at", "stage", "phase"),
    [
        (T0 - US, Stage.SETUP, None),
        (T0, Stage.DISCUSSION, DISCUSSION),  # start is inclusive
        (T0 + 10 * H - US, Stage.DISCUSSION, DISCUSSION),
        (T0 + 10 * H, Stage.CURATION, None),  # end is exclusive; gap before voting
        (T0 + 12 * H - US, Stage.CURATION, None),
        (T0 + 12 * H, Stage.VOTING, VOTING),
        (T0 + 15 * H - US, Stage.VOTING, VOTING),
        (T0 + 15 * H, Stage.CLOSED, RESULTS),  # back-to-back windows hand over exactly
        (T0 + 40 * H - US, Stage.CLOSED, RESULTS),
        (T0 + 40 * H, Stage.CLOSED, None),
    ],
)
def test_stage_at_window_edges(at: datetime, stage: Stage, phase: PhaseWindow | None) -> None:
    state = jam_state(SCHEDULE, published_at=None, now=at)
    assert state.stage is stage
    assert state.phase == phase


def test_no_schedule_is_setup() -> None:
    state = jam_state([], published_at=None, now=T0)
    assert state.stage is Stage.SETUP
    assert state.deadline is None


def test_deadline_is_current_end_or_next_start() -> None:
    assert jam_state(SCHEDULE, published_at=None, now=T0 + H).deadline == T0 + 10 * H
    assert jam_state(SCHEDULE, published_at=None, now=T0 + 11 * H).deadline == T0 + 12 * H
    assert jam_state(SCHEDULE, published_at=None, now=T0 - H).deadline == T0


def test_published_from_the_moment_of_publication() -> None:
    published = T0 + 20 * H
    assert jam_state(SCHEDULE, published_at=published, now=published - US).stage is Stage.CLOSED
    assert jam_state(SCHEDULE, published_at=published, now=published).stage is Stage.PUBLISHED


def test_gap_after_voting_is_closed_even_with_later_phases() -> None:
    later = PhaseWindow(4, PhaseKind.DISCUSSION, T0 + 50 * H, T0 + 60 * H)
    state = jam_state([DISCUSSION, VOTING, later], published_at=None, now=T0 + 20 * H)
    assert state.stage is Stage.CLOSED


def plan(transition: Transition, at: datetime, **kwargs: object) -> tuple[WindowChange, ...]:
    return transition_plan(
        SCHEDULE, published_at=None, transition=transition, now=at, **kwargs
    ).changes


def test_open_now_starts_next_phase_and_closes_current() -> None:
    at = T0 + 5 * H
    changes = plan(Transition.OPEN_NOW, at, phase_id=VOTING.id)
    assert changes == (
        WindowChange(DISCUSSION.id, DISCUSSION.starts_at, at),
        WindowChange(VOTING.id, at, VOTING.ends_at),
    )


def test_open_now_in_a_gap_only_moves_the_start() -> None:
    at = T0 + 11 * H
    assert plan(Transition.OPEN_NOW, at, phase_id=VOTING.id) == (
        WindowChange(VOTING.id, at, VOTING.ends_at),
    )


def test_open_now_refuses_a_phase_that_is_not_next() -> None:
    with pytest.raises(TransitionRefused):
        plan(Transition.OPEN_NOW, T0 + 5 * H, phase_id=RESULTS.id)
    with pytest.raises(TransitionRefused):
        plan(Transition.OPEN_NOW, T0 + 5 * H, phase_id=DISCUSSION.id)  # already running


def test_close_now_only_the_current_phase() -> None:
    at = T0 + 5 * H
    assert plan(Transition.CLOSE_NOW, at, phase_id=DISCUSSION.id) == (
        WindowChange(DISCUSSION.id, DISCUSSION.starts_at, at),
    )
    with pytest.raises(TransitionRefused):
        plan(Transition.CLOSE_NOW, at, phase_id=VOTING.id)
    with pytest.raises(TransitionRefused):
        plan(Transition.CLOSE_NOW, T0 - H, phase_id=DISCUSSION.id)  # setup: nothing runs


def test_extend_within_the_gap_moves_nothing_else() -> None:
    changes = plan(Transition.EXTEND, T0 + H, phase_id=DISCUSSION.id, minutes=90)
    assert changes == (
        WindowChange(DISCUSSION.id, DISCUSSION.starts_at, DISCUSSION.ends_at + 90 * (H / 60)),
    )


def test_extend_past_the_next_phase_shifts_all_later_phases() -> None:
    changes = plan(Transition.EXTEND, T0 + H, phase_id=DISCUSSION.id, minutes=3 * 60)
    shift = H  # the new end overlaps voting by one hour
    assert changes == (
        WindowChange(DISCUSSION.id, DISCUSSION.starts_at, DISCUSSION.ends_at + 3 * H),
        WindowChange(VOTING.id, VOTING.starts_at + shift, VOTING.ends_at + shift),
        WindowChange(RESULTS.id, RESULTS.starts_at + shift, RESULTS.ends_at + shift),
    )


@pytest.mark.parametrize("minutes", [None, 0, -5, 7 * 24 * 60 + 1])
def test_extend_refuses_bad_amounts(minutes: int | None) -> None:
    with pytest.raises(TransitionRefused):
        plan(Transition.EXTEND, T0 + H, phase_id=DISCUSSION.id, minutes=minutes)


def test_extend_refuses_an_ended_phase() -> None:
    with pytest.raises(TransitionRefused):
        plan(Transition.EXTEND, T0 + 11 * H, phase_id=DISCUSSION.id, minutes=10)


def test_publish_only_once_voting_is_over() -> None:
    for at in (T0 - H, T0 + H, T0 + 11 * H, T0 + 13 * H):
        with pytest.raises(TransitionRefused):
            plan(Transition.PUBLISH, at)
    result = transition_plan(
        SCHEDULE, published_at=None, transition=Transition.PUBLISH, now=T0 + 16 * H
    )
    assert result.publish is True
    assert result.changes == ()


def test_nothing_but_unpublish_after_publication() -> None:
    published = T0 + 16 * H
    for transition in (Transition.OPEN_NOW, Transition.EXTEND, Transition.PUBLISH):
        with pytest.raises(TransitionRefused):
            transition_plan(
                SCHEDULE,
                published_at=published,
                transition=transition,
                now=published + H,
                phase_id=RESULTS.id,
                minutes=10,
            )
    result = transition_plan(
        SCHEDULE, published_at=published, transition=Transition.UNPUBLISH, now=published + H
    )
    assert result.publish is False
