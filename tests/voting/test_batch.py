"""Many voters' ballots at once (``services.votes_cast``, the socket's votes):
the same outcome as casting them one by one, in a fixed number of statements."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jams.errors import Invalid, NotFound, PhaseClosed, TooLarge
from jams.phases import Stage
from tests.factories import UserFactory, idea_in, jam_in_stage, member, round_with_ballot
from voting import services
from voting.methods import MAX_BALLOT_IDEAS
from voting.models import Ballot, BallotEntry, VotingRound

pytestmark = pytest.mark.django_db


def stored(voting_round: VotingRound) -> dict[int, dict[int, int]]:
    """Every voter's stored entries, ``{voter id: {idea id: value}}``."""
    ballots: dict[int, dict[int, int]] = {
        voter: {}
        for voter in Ballot.objects.filter(round=voting_round).values_list("voter_id", flat=True)
    }
    for voter, idea, value in BallotEntry.objects.filter(round=voting_round).values_list(
        "ballot__voter_id", "idea_id", "value"
    ):
        ballots[voter][idea] = value
    return ballots


def by_position(voting_round: VotingRound, ideas: list[Any], values: dict[int, int]) -> dict:
    """A ballot of ``{position on the ballot: value}`` as ``{idea id: value}``."""
    return {ideas[position].pk: value for position, value in values.items()}


def scenario(jam: Any) -> tuple[VotingRound, list[Any], list[tuple[Any, dict]]]:
    """A budget round of five ideas (10 points) where some voters have voted,
    and a batch of new, changed, withdrawn, refused and repeated ballots."""
    ideas = [idea_in(jam) for _ in range(5)]
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})
    stranger_idea = idea_in(jam_in_stage(Stage.VOTING))
    changer, withdrawer, keeper = member(jam), member(jam), member(jam)
    for voter, values in ((changer, {0: 5}), (withdrawer, {1: 3, 2: 3}), (keeper, {3: 1})):
        services.vote_cast(
            actor=voter, round=voting_round, choices=by_position(voting_round, ideas, values)
        )
    new, again = member(jam), member(jam)
    votes = [
        (new, by_position(voting_round, ideas, {0: 4, 1: 6})),
        (changer, by_position(voting_round, ideas, {0: 2, 4: 2})),
        (withdrawer, {}),
        (keeper, by_position(voting_round, ideas, {3: 1})),  # the same ballot again
        (
            member(jam),
            by_position(voting_round, ideas, {0: 11}),
        ),  # more than the budget on one idea
        (member(jam), {stranger_idea.pk: 1}),  # not on this ballot
        (member(jam), {str(i): 1 for i in range(MAX_BALLOT_IDEAS + 1)}),  # too many entries
        (UserFactory(), by_position(voting_round, ideas, {0: 1})),  # not a member
        (again, by_position(voting_round, ideas, {2: 1})),
        (again, by_position(voting_round, ideas, {3: 7})),  # a second ballot, later
        (member(jam), {}),  # withdraws a vote never cast
    ]
    return voting_round, ideas, votes


def one_by_one(voting_round: VotingRound, votes: list[tuple[Any, dict]]) -> list[Any]:
    outcomes: list[Any] = []
    for actor, choices in votes:
        try:
            outcomes.append(services.vote_cast(actor=actor, round=voting_round, choices=choices))
        except (Invalid, NotFound, PhaseClosed, TooLarge) as exc:
            outcomes.append(exc)
    return outcomes


def summary(outcome: Any) -> tuple[str, int | None, bool]:
    """An outcome's kind, the ballot's size and whether it moved the turnout."""
    if isinstance(outcome, services.Cast):
        return "cast", outcome.size, outcome.voters >= 0
    return type(outcome).__name__, None, False


def test_a_batch_stores_what_casting_one_by_one_stores() -> None:
    """The same scenario twice, in two jams: one batch, or vote after vote.
    Each vote gets the same outcome (its ballot's size, whether it moved the
    turnout, or the same refusal), the rounds store the same ballots and
    count the same turnout, which is the number of ballots that count; a
    voter who sent two ballots keeps the later one."""
    batch_round, batch_ideas, batch_votes = scenario(jam_in_stage(Stage.VOTING))
    single_round, single_ideas, single_votes = scenario(jam_in_stage(Stage.VOTING))

    batched = services.votes_cast(round=batch_round, votes=batch_votes)
    single = one_by_one(single_round, single_votes)

    assert [summary(o) for o in batched] == [summary(o) for o in single]
    assert [summary(o) for o in batched] == [
        ("cast", 2, True),
        ("cast", 2, False),
        ("cast", 0, True),
        ("cast", 1, False),
        ("Invalid", None, False),
        ("Invalid", None, False),
        ("TooLarge", None, False),
        ("NotFound", None, False),
        ("cast", 1, True),
        ("cast", 1, False),
        ("cast", 0, False),
    ]

    def positions(voting_round: VotingRound, ideas: list[Any], votes: list) -> list[dict]:
        ballots = stored(voting_round)
        index = {idea.pk: position for position, idea in enumerate(ideas)}
        return [
            {index[idea]: value for idea, value in ballots.get(voter.pk, {}).items()}
            for voter, _choices in votes
        ]

    assert positions(batch_round, batch_ideas, batch_votes) == positions(
        single_round, single_ideas, single_votes
    )
    assert positions(batch_round, batch_ideas, batch_votes)[-2] == {3: 7}
    for voting_round in (batch_round, single_round):
        voting_round.refresh_from_db()
        counting = Ballot.objects.filter(round=voting_round, size__gt=0).count()
        assert voting_round.voters == counting == 4
        sizes = dict(Ballot.objects.filter(round=voting_round).values_list("voter_id", "size"))
        assert sizes == {v: len(e) for v, e in stored(voting_round).items()}


@pytest.mark.postgres
def test_votes_that_move_the_turnout_get_the_batchs_count() -> None:
    """(Elsewhere a batch is cast vote by vote, and each gets the count after
    its own vote, as the test above compares.)"""
    jam = jam_in_stage(Stage.VOTING)
    ideas = [idea_in(jam) for _ in range(3)]
    voting_round = round_with_ballot(jam, ideas, method="approval")
    early = member(jam)
    services.vote_cast(actor=early, round=voting_round, choices={ideas[0].pk: 1})
    voters = [member(jam) for _ in range(3)]
    casts = services.votes_cast(
        round=voting_round,
        votes=[(early, {}), *((v, {ideas[1].pk: 1}) for v in voters)],
    )
    # 1 before, one withdrawn, three new: 3 after, told to each that moved it.
    assert [c.voters for c in casts] == [3, 3, 3, 3]
    voting_round.refresh_from_db()
    assert voting_round.voters == 3


def test_a_batch_outside_the_voting_stage_is_refused_whole() -> None:
    jam = jam_in_stage(Stage.CURATION)
    ideas = [idea_in(jam) for _ in range(2)]
    voting_round = round_with_ballot(jam, ideas, method="approval")
    votes = [(member(jam), {ideas[0].pk: 1}) for _ in range(3)]
    outcomes = services.votes_cast(round=voting_round, votes=votes)
    assert [type(o) for o in outcomes] == [PhaseClosed] * 3
    assert not Ballot.objects.filter(round=voting_round).exists()


@pytest.mark.postgres
def test_a_batch_signals_the_turnout_once(jam, ideas, events) -> None:
    voting_round = round_with_ballot(jam, ideas, method="approval")
    voters = [member(jam) for _ in range(4)]
    with events.committed():
        services.votes_cast(round=voting_round, votes=[(v, {ideas[0].pk: 1}) for v in voters])
    signal = {"type": "hub.turnout", "jam": jam.pk, "round": voting_round.pk}
    assert events.signals() == [signal]
    with events.committed():  # changed ballots only: the turnout stays
        services.votes_cast(round=voting_round, votes=[(v, {ideas[1].pk: 1}) for v in voters])
    assert events.signals() == []


@pytest.mark.postgres
def test_a_batch_takes_the_same_statements_for_few_voters_as_for_many(jam, ideas) -> None:
    """Pre-check (jam, roles); round lock with ballot items; the roles and
    jam again; the ballots upsert; the entries and the counter: the same
    statements for 2 voters as for 40, where one by one takes 5 each."""
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})

    def statements(n: int) -> list[str]:
        votes = [(member(jam), {ideas[i % len(ideas)].pk: 3}) for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            casts = services.votes_cast(round=voting_round, votes=votes)
        assert all(isinstance(c, services.Cast) for c in casts)
        control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
        return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]

    few, many = statements(2), statements(40)
    assert len(few) == len(many) == 7
    voting_round.refresh_from_db()
    assert voting_round.voters == 42


@pytest.mark.postgres
def test_a_batch_failing_in_the_database_is_cast_again_vote_by_vote(jam, ideas) -> None:
    """A database error inside a batch (here a trigger refusing one voter's
    ballot row) rolls the batch back; ``voting.live`` then casts each vote
    alone, so only that voter's vote fails and the others are stored."""
    from django.db import DatabaseError

    from jams.protocol import VoteMessage
    from voting.live import votes_submit

    voting_round = round_with_ballot(jam, ideas, method="approval")
    voters = [member(jam) for _ in range(4)]
    broken = voters[2]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_ballot() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN IF NEW.voter_id = {broken.pk} THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$"
        )
        cursor.execute(
            f"CREATE TRIGGER refuse_ballot BEFORE INSERT ON {Ballot._meta.db_table} "
            "FOR EACH ROW EXECUTE FUNCTION refuse_ballot()"
        )
    messages = [
        VoteMessage(client_id=f"c{i}", round=voting_round.pk, choices={str(ideas[0].pk): 1})
        for i in range(4)
    ]
    outcomes = votes_submit(
        jam_id=jam.pk, votes=[(v.pk, m) for v, m in zip(voters, messages, strict=True)]
    )
    assert [ok for ok, _value in outcomes] == [True, True, False, True]
    assert isinstance(outcomes[2][1], DatabaseError)
    assert [value["entries"] for ok, value in outcomes if ok] == [1, 1, 1]
    assert set(stored(voting_round)) == {voters[i].pk for i in (0, 1, 3)}
    voting_round.refresh_from_db()
    assert voting_round.voters == 3


def test_a_batch_of_socket_votes_over_several_rounds_keeps_each_in_its_round(jam, ideas) -> None:
    """``voting.live.votes_submit`` splits a batch by round: votes for two
    rounds of the jam are stored in theirs, in the order sent, and a round
    of another jam (or none) is not found, for that vote only."""
    from jams.errors import NotFound as RoundNotFound
    from jams.protocol import VoteMessage
    from voting.live import votes_submit

    approval = round_with_ballot(jam, ideas[:2], method="approval")
    budget = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})
    elsewhere = jam_in_stage(Stage.VOTING)
    foreign = round_with_ballot(elsewhere, [idea_in(elsewhere)], method="approval")
    alice, bob = member(jam), member(jam)
    sent = [
        (alice, approval, {str(ideas[0].pk): 1}),
        (alice, budget, {str(ideas[2].pk): 10}),
        (bob, foreign, {}),
        (bob, approval, {str(ideas[1].pk): 1}),
        (bob, budget, {str(ideas[0].pk): 4, str(ideas[1].pk): 6}),
    ]
    outcomes = votes_submit(
        jam_id=jam.pk,
        votes=[
            (voter.pk, VoteMessage(client_id=str(i), round=r.pk, choices=choices))
            for i, (voter, r, choices) in enumerate(sent)
        ],
    )
    assert [ok for ok, _value in outcomes] == [True, True, False, True, True]
    assert isinstance(outcomes[2][1], RoundNotFound)
    acks = [value for ok, value in outcomes if ok]
    assert [(a["client_id"], a["round"], a["entries"]) for a in acks] == [
        ("0", approval.pk, 1),
        ("1", budget.pk, 1),
        ("3", approval.pk, 1),
        ("4", budget.pk, 2),
    ]
    assert stored(approval) == {alice.pk: {ideas[0].pk: 1}, bob.pk: {ideas[1].pk: 1}}
    assert stored(budget) == {alice.pk: {ideas[2].pk: 10}, bob.pk: {ideas[0].pk: 4, ideas[1].pk: 6}}
    assert not Ballot.objects.filter(round=foreign).exists()
