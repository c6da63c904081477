"""Races on PostgreSQL: real threads, each with its own connection.

SQLite serializes writers and ignores ``select_for_update``, so it would hide
every one of these races; they run only against PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from jams.errors import PhaseClosed
from jams.models import Role
from jams.phases import PhaseKind, Stage, Transition
from jams.services import jam_transition
from tests.factories import idea_in, jam_in_stage, member, round_with_ballot
from voting import services
from voting.models import Ballot, BallotEntry

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def in_threads(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(0..n-1)`` in n threads released together; results or exceptions."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_fifty_concurrent_double_submissions_leave_one_valid_ballot() -> None:
    jam = jam_in_stage(Stage.VOTING)
    voter = member(jam)
    ideas = [idea_in(jam, title=f"Idea {i}") for i in range(4)]
    voting_round = round_with_ballot(jam, ideas, parameters={"max_approvals": 2})
    ballots = [{ideas[i % 4].pk: 1, ideas[(i + 1) % 4].pk: 1} for i in range(4)]

    def double_submit(i: int) -> None:
        for k in (i, i + 1):
            services.vote_cast(actor=voter, round=voting_round, choices=ballots[k % 4])

    results = in_threads(50, double_submit)

    assert results == [None] * 50
    assert Ballot.objects.filter(round=voting_round).count() == 1
    ballot = Ballot.objects.get(round=voting_round)
    entries = dict(BallotEntry.objects.filter(ballot=ballot).values_list("idea_id", "value"))
    assert entries in ballots
    assert ballot.size == len(entries) == 2
    # The turnout moved once, from 0 to 1.
    voting_round.refresh_from_db()
    assert voting_round.voters == 1


def test_budget_quota_holds_under_concurrent_submissions() -> None:
    jam = jam_in_stage(Stage.VOTING)
    voter = member(jam)
    ideas = [idea_in(jam, title=f"Idea {i}") for i in range(10)]
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})

    def spend_everything_on_one(i: int) -> None:
        services.vote_cast(actor=voter, round=voting_round, choices={ideas[i % 10].pk: 10})

    results = in_threads(50, spend_everything_on_one)

    assert results == [None] * 50
    values = list(BallotEntry.objects.filter(round=voting_round).values_list("value", flat=True))
    assert values == [10]


def test_concurrent_first_votes_count_every_voter_exactly_once() -> None:
    jam = jam_in_stage(Stage.VOTING)
    voters = [member(jam) for _ in range(30)]
    ideas = [idea_in(jam, title=f"Idea {i}") for i in range(3)]
    voting_round = round_with_ballot(jam, ideas, method="rating")

    results = in_threads(
        30,
        lambda i: services.vote_cast(
            actor=voters[i], round=voting_round, choices={ideas[i % 3].pk: 1 + i % 5}
        ),
    )

    # Each vote saw the counter move by one: no two votes got the same turnout.
    assert sorted(cast.voters for cast in results) == list(range(1, 31))
    voting_round.refresh_from_db()
    assert voting_round.voters == 30


def test_votes_racing_the_close_are_counted_before_it_or_refused() -> None:
    jam = jam_in_stage(Stage.VOTING)
    organizer = member(jam, Role.ORGANIZER)
    voters = [member(jam) for _ in range(20)]
    ideas = [idea_in(jam, title=f"Idea {i}") for i in range(5)]
    voting_round = round_with_ballot(jam, ideas, parameters={"max_approvals": 1})
    voting = jam.phases.get(kind=PhaseKind.VOTING)
    last_counted: dict[int, int | None] = {}

    def work(i: int) -> str:
        if i == len(voters):
            time.sleep(0.5)
            jam_transition(
                actor=organizer, jam=jam, transition=Transition.CLOSE_NOW, phase_id=voting.pk
            )
            return "closed"
        voter = voters[i]
        for k in range(10_000):
            idea = ideas[(i + k) % 5].pk
            try:
                services.vote_cast(actor=voter, round=voting_round, choices={idea: 1})
            except PhaseClosed:
                return "refused"
            finally:
                # Hand the connection back after each vote, as a request does:
                # with the connection pool (DATABASE_POOL_MAX, default 10) the
                # organizer's thread would otherwise wait for one of the 20
                # voters' connections until its pool timeout, and never close.
                connections["default"].close()
            last_counted[voter.pk] = idea
        return "never closed"

    results = in_threads(len(voters) + 1, work)

    assert results == ["refused"] * len(voters) + ["closed"]
    # Every vote the service accepted is in the database as its last word;
    # every refused vote changed nothing.
    stored = dict(
        BallotEntry.objects.filter(round=voting_round).values_list("ballot__voter_id", "idea_id")
    )
    assert stored == {pk: idea for pk, idea in last_counted.items() if idea is not None}
    result = services.ranking_compute(round=voting_round)
    assert result.ballots == len(last_counted)
    totals = {row.idea_id: row.total for row in result.ideas.all()}
    for idea in ideas:
        assert totals[idea.pk] == sum(1 for v in stored.values() if v == idea.pk)


def test_batches_sharing_voters_in_any_order_neither_deadlock_nor_miscount() -> None:
    """Six threads each cast batches of the same twenty voters, in their own
    shuffled order, with single votes of the same voters in between (as the
    round page's form would send them) and withdrawals: the batches lock
    ballots in voter order, so none deadlocks; each ballot ends as one of
    the ballots sent, and the turnout counter equals the ballots that count."""
    import random

    jam = jam_in_stage(Stage.VOTING)
    ideas = [idea_in(jam, title=f"Idea {i}") for i in range(6)]
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})
    voters = [member(jam) for _ in range(20)]
    sent = [{ideas[i].pk: 1 + i} for i in range(6)] + [{}]

    def cast_batches(i: int) -> int:
        rng = random.Random(i)
        refused = 0
        for _ in range(8):
            order = rng.sample(voters, len(voters))
            votes = [(voter, rng.choice(sent)) for voter in order]
            outcomes = services.votes_cast(round=voting_round, votes=votes)
            refused += sum(not isinstance(o, services.Cast) for o in outcomes)
            services.vote_cast(actor=rng.choice(voters), round=voting_round, choices=sent[i])
        return refused

    results = in_threads(6, cast_batches)

    assert results == [0] * 6  # no errors, nothing refused
    ballots = {
        ballot.voter_id: dict(ballot.entries.values_list("idea_id", "value"))
        for ballot in Ballot.objects.filter(round=voting_round)
    }
    assert set(ballots) == {v.pk for v in voters}
    assert all(entries in sent for entries in ballots.values())
    voting_round.refresh_from_db()
    assert voting_round.voters == sum(bool(entries) for entries in ballots.values())
