from __future__ import annotations

from jams.presence import PresenceBoard, PresenceReport


def report(process: str, users: set[int], topics: dict[int, set[int]], at: float) -> PresenceReport:
    return PresenceReport(
        process=process,
        users=frozenset(users),
        topics={t: frozenset(u) for t, u in topics.items()},
        received=at,
    )


def test_people_are_counted_once_across_processes_and_tabs() -> None:
    board = PresenceBoard(max_age=15)
    board.record(report("a", {1, 2, 3}, {10: {1, 2}}, at=100))
    board.record(report("b", {3, 4}, {10: {3}, 11: {4}}, at=101))
    assert board.counts(now=102) == {"jam": 4, "topics": {"10": 3, "11": 1}}


def test_a_silent_process_is_forgotten() -> None:
    board = PresenceBoard(max_age=15)
    board.record(report("a", {1}, {}, at=100))
    board.record(report("b", {2}, {}, at=110))
    assert board.counts(now=120)["jam"] == 1
    assert set(board.reports) == {"b"}


def test_a_newer_report_replaces_the_older_one() -> None:
    board = PresenceBoard(max_age=15)
    board.record(report("a", {1, 2}, {}, at=100))
    board.record(report("a", {2}, {}, at=105))
    assert board.counts(now=106)["jam"] == 1


def test_reports_survive_the_trip_through_the_channel_layer() -> None:
    original = report("a", {5, 6}, {3: {5}}, at=1)
    message = original.message(jam_id=9)
    assert message["type"] == "hub.presence"
    assert PresenceReport.from_message(message, received=1) == original
