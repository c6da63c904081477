"""The vote's plain statements on PostgreSQL: the entries-and-turnout statement
against the ORM path it replaces, and the prepared cursor they run through."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jams.errors import Invalid, NotFound
from tests.factories import UserFactory, member, round_with_ballot
from voting import services
from voting.models import Ballot, BallotEntry, VotingRound

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# Ballots in turn; the ideas are positions in the ``ideas`` fixture.
STEPS: list[dict[int, int]] = [
    {0: 2, 1: 3},  # first vote: counts in the turnout
    {1: 3, 2: 4},  # a change keeping one entry, changing the others
    {1: 1, 2: 4, 3: 5},
    {},  # withdrawn: stops counting
    {},  # withdrawn again: nothing changes
    {3: 1},  # back
]


def _rows(voting_round: VotingRound, ballot_id: int) -> set[tuple[int, int, int]]:
    return set(
        BallotEntry.objects.filter(ballot_id=ballot_id).values_list("round_id", "idea_id", "value")
    )


def test_entries_statement_writes_what_the_orm_path_writes(jam, ideas) -> None:  # type: ignore[no-untyped-def]
    """Step by step, one round through the statement and one through the ORM:
    the same entries, the same return value (the new turnout or None), the
    same counter. Other voters' counted ballots are left alone."""
    voter, other = member(jam), member(jam)
    by_sql, by_orm = (round_with_ballot(jam, ideas, title=t) for t in ("SQL", "ORM"))
    now = services.timezone.now()
    ballots = {}
    for voting_round in (by_sql, by_orm):
        services.vote_cast(actor=other, round=voting_round, choices={ideas[0].pk: 1})
        ballots[voting_round.pk], _size = services._ballot_locked(voting_round, voter, now)
    for step in STEPS:
        entries = {ideas[i].pk: value for i, value in step.items()}
        sql = services._entries_replace(by_sql, ballots[by_sql.pk], entries)
        orm = services._entries_replace_orm(by_orm, ballots[by_orm.pk], entries)
        assert sql == orm
        expected = {(idea, value) for idea, value in entries.items()}
        for voting_round in (by_sql, by_orm):
            rows = _rows(voting_round, ballots[voting_round.pk])
            assert rows == {(voting_round.pk, idea, value) for idea, value in expected}
    for voting_round in (by_sql, by_orm):
        voting_round.refresh_from_db()
    assert by_sql.voters == by_orm.voters == 2
    assert BallotEntry.objects.filter(ballot__voter=other).count() == 2


def _prepared() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {statement for (statement,) in cursor.fetchall()}


def test_the_vote_statements_are_prepared_and_nothing_else(jam, ideas) -> None:  # type: ignore[no-untyped-def]
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})
    voter = member(jam)
    threshold = connection.connection.prepare_threshold
    for value in (2, 3):
        services.vote_cast(actor=voter, round=voting_round, choices={ideas[0].pk: value})
    prepared = _prepared()
    assert any("FOR KEY SHARE OF r" in s for s in prepared)  # lock and ballot items
    assert any("INSERT INTO voting_ballot " in s for s in prepared)  # ballot upsert
    assert any("WITH gone AS (DELETE FROM voting_ballotentry" in s for s in prepared)
    assert any('LEFT JOIN "jams_membership"' in s for s in prepared)  # vote_context
    assert all(s.startswith(("SELECT", "INSERT", "WITH", "UPDATE")) for s in prepared)
    # The connection's own setting is back: other queries are not prepared.
    assert connection.connection.prepare_threshold == threshold
    Ballot.objects.filter(round=voting_round).count()
    Ballot.objects.filter(round=voting_round).count()
    assert not any("COUNT(*)" in s for s in _prepared())


@pytest.mark.django_db(transaction=True)
def test_votes_after_a_rollback_prepare_their_statements_again(jam, ideas) -> None:  # type: ignore[no-untyped-def]
    """psycopg forgets the prepared statements on a rollback (and deallocates
    them on the server); the next vote prepares them again and counts."""
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})
    first, second = member(jam), member(jam)
    services.vote_cast(actor=first, round=voting_round, choices={ideas[0].pk: 2})
    assert _prepared()
    with pytest.raises(Invalid):  # a refused vote: its transaction rolls back
        services.vote_cast(actor=first, round=voting_round, choices={ideas[0].pk: 11})
    assert not _prepared()
    cast = services.vote_cast(actor=second, round=voting_round, choices={ideas[1].pk: 3})
    assert (cast.size, cast.voters) == (1, 2)
    assert _prepared()
    voting_round.refresh_from_db()
    assert voting_round.voters == 2


@pytest.mark.django_db(transaction=True)
def test_a_refused_vote_is_one_statement_and_keeps_the_prepared_ones(jam, ideas) -> None:  # type: ignore[no-untyped-def]
    """The pre-check runs before the vote's transaction: a vote refused by it
    sends one statement (no BEGIN, no ROLLBACK), so psycopg keeps the
    connection's prepared statements."""
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})
    services.vote_cast(actor=member(jam), round=voting_round, choices={ideas[0].pk: 2})
    prepared = _prepared()
    outsider = UserFactory()
    with CaptureQueriesContext(connection) as captured, pytest.raises(NotFound):
        services.vote_cast(actor=outsider, round=voting_round, choices={ideas[0].pk: 2})
    (precheck,) = (q["sql"] for q in captured.captured_queries)
    assert 'LEFT JOIN "jams_membership"' in precheck
    assert _prepared() == prepared
    assert not Ballot.objects.filter(voter=outsider).exists()
