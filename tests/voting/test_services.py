"""Voting services: rounds, ballots, every method's votes and refusals, the
phase x role matrix, the turnout events and the stored rankings."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from jams.errors import Forbidden, Invalid, NotFound, PhaseClosed, TooLarge
from jams.models import AuditEntry, Event, Membership, Role
from jams.phases import Stage
from jams.selectors import jam_context_for
from tests.factories import UserFactory, idea_in, jam_in_stage, member, round_with_ballot
from voting import ranking, services
from voting.models import (
    Ballot,
    BallotEntry,
    BallotItem,
    PairwiseJudgment,
    RankedIdeaResult,
    RankingResult,
    VotingRound,
)

from .conftest import after_voting

pytestmark = pytest.mark.django_db

ALL_STAGES = list(Stage)
MEMBER_ROLES = [Role.PARTICIPANT, Role.FACILITATOR, Role.ORGANIZER, Role.EXECUTIVE]


def entries_of(voting_round: VotingRound) -> set[tuple[int | None, int, int]]:
    return set(
        BallotEntry.objects.filter(round=voting_round).values_list(
            "ballot__voter_id", "idea_id", "value"
        )
    )


# --- Rounds ---------------------------------------------------------------------


def test_round_create_normalizes_parameters_and_audits() -> None:
    jam = jam_in_stage(Stage.CURATION)
    organizer = member(jam, Role.ORGANIZER)
    voting_round = services.round_create(
        actor=organizer,
        jam=jam,
        title="  Final   vote ",
        method="approval",
        parameters={"max_approvals": 2},
    )
    assert voting_round.title == "Final vote"
    assert voting_round.parameters == {"max_approvals": 2, "confidence": 0.95}
    assert voting_round.results_visibility == "after_close"
    entry = AuditEntry.objects.get(action="voting.round_created")
    assert entry.data == {
        "round": voting_round.pk,
        "method": "approval",
        "parameters": {"max_approvals": 2, "confidence": 0.95},
    }


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("approval", {"max_approvals": 0}),
        ("approval", {"max_approvals": 101}),
        ("approval", {"max_approvals": 2.5}),
        ("approval", {"max_approvals": "3"}),
        ("approval", {"points": 3}),
        ("rating", {"scale_max": 10}),
        ("rating", {"prior_weight": -1}),
        ("rating", {"prior_weight": math.nan}),
        ("budget", {"points": 0}),
        ("budget", {"points": 1001}),
        ("pairwise", {"count_undecided_as_half": "yes"}),
        ("pairwise", {"confidence": 1.0}),
        ("borda", {}),
    ],
)
def test_round_create_refuses_bad_parameters(method: str, parameters: dict) -> None:
    jam = jam_in_stage(Stage.CURATION)
    organizer = member(jam, Role.ORGANIZER)
    with pytest.raises(Invalid):
        services.round_create(
            actor=organizer, jam=jam, title="R", method=method, parameters=parameters
        )
    assert not VotingRound.objects.exists()


@pytest.mark.parametrize("stage", ALL_STAGES)
@pytest.mark.parametrize("role", [*MEMBER_ROLES, None])
def test_ballot_management_matrix(stage: Stage, role: Role | None) -> None:
    """Organizers build ballots before voting opens; nobody changes them after."""
    jam = jam_in_stage(stage)
    actor = member(jam, role) if role else UserFactory()
    idea = idea_in(jam)
    voting_round = round_with_ballot(jam, [])
    allowed = role is Role.ORGANIZER and stage in (Stage.SETUP, Stage.DISCUSSION, Stage.CURATION)
    if allowed:
        services.ballot_item_add(actor=actor, round=voting_round, idea=idea)
        services.round_create(actor=actor, jam=jam, title="Another", method="rating")
        assert BallotItem.objects.filter(round=voting_round, idea=idea).exists()
        return
    expected = (
        NotFound if role is None else Forbidden if role is not Role.ORGANIZER else PhaseClosed
    )
    with pytest.raises(expected):
        services.ballot_item_add(actor=actor, round=voting_round, idea=idea)
    with pytest.raises(expected):
        services.round_create(actor=actor, jam=jam, title="Another", method="rating")
    with pytest.raises(expected):
        services.shortlist_top(actor=actor, round=voting_round, by="discussed", n=3)
    assert not BallotItem.objects.exists()
    assert VotingRound.objects.count() == 1


# --- Ballots and the shortlist ------------------------------------------------------


@pytest.fixture
def curation():  # type: ignore[no-untyped-def]
    jam = jam_in_stage(Stage.CURATION)
    return jam, member(jam, Role.ORGANIZER), round_with_ballot(jam, [])


def test_merged_duplicates_put_their_survivor_on_the_ballot_once(curation) -> None:
    jam, organizer, voting_round = curation
    survivor = idea_in(jam, title="Survivor")
    duplicate = idea_in(jam, title="Duplicate", merged_into=survivor)
    first = services.ballot_item_add(actor=organizer, round=voting_round, idea=duplicate)
    again = services.ballot_item_add(actor=organizer, round=voting_round, idea=survivor)
    assert first.pk == again.pk
    assert list(voting_round.items.values_list("idea_id", "position")) == [(survivor.pk, 1)]


def test_hidden_and_foreign_ideas_never_go_on_a_ballot(curation) -> None:
    jam, organizer, voting_round = curation
    hidden = idea_in(jam, title="Hidden", hidden_at=jam.created_at)
    foreign = idea_in(jam_in_stage(Stage.CURATION), title="Elsewhere")
    with pytest.raises(Invalid):
        services.ballot_item_add(actor=organizer, round=voting_round, idea=hidden)
    with pytest.raises(NotFound):
        services.ballot_item_add(actor=organizer, round=voting_round, idea=foreign)
    assert not BallotItem.objects.exists()


def test_ballot_item_remove(curation) -> None:
    jam, organizer, voting_round = curation
    a, b = idea_in(jam, title="A"), idea_in(jam, title="B")
    for idea in (a, b):
        services.ballot_item_add(actor=organizer, round=voting_round, idea=idea)
    assert services.ballot_item_remove(actor=organizer, round=voting_round, idea=a) is True
    assert services.ballot_item_remove(actor=organizer, round=voting_round, idea=a) is False
    assert list(voting_round.items.values_list("idea_id", flat=True)) == [b.pk]


def test_shortlist_by_discussion_and_by_agreement(curation) -> None:
    jam, organizer, voting_round = curation
    quiet = idea_in(jam, title="Quiet", replies=0, agrees=9)
    busy = idea_in(jam, title="Busy", replies=5, agrees=1)
    middle = idea_in(jam, title="Middle", replies=2, agrees=4)
    # A duplicate's posts and agreements count for the idea it was merged into.
    idea_in(jam, title="Dup of quiet", replies=3, agrees=2, merged_into=quiet)
    idea_in(jam, title="Hidden", replies=50, agrees=50, hidden_at=jam.created_at)

    added = services.shortlist_top(actor=organizer, round=voting_round, by="discussed", n=2)
    # quiet: 1 + (1 + 3) posts = 5, busy: 6, middle: 3
    assert added == [busy.pk, quiet.pk]

    other = round_with_ballot(jam, [], title="By agreement")
    added = services.shortlist_top(actor=organizer, round=other, by="agreed", n=3)
    assert added == [quiet.pk, middle.pk, busy.pk]  # 11, 4, 1 agreements

    # Shortlisting again only adds what is missing, after what is there.
    added = services.shortlist_top(actor=organizer, round=voting_round, by="agreed", n=3)
    assert added == [middle.pk]
    assert list(voting_round.items.values_list("idea_id", "position")) == [
        (busy.pk, 1),
        (quiet.pk, 2),
        (middle.pk, 3),
    ]


@pytest.mark.parametrize(("by", "n"), [("newest", 3), ("discussed", 0), ("agreed", 1001)])
def test_shortlist_refuses_bad_requests(curation, by: str, n: int) -> None:
    _jam, organizer, voting_round = curation
    with pytest.raises(Invalid):
        services.shortlist_top(actor=organizer, round=voting_round, by=by, n=n)


# --- Votes: the phase x role matrix ---------------------------------------------------


@pytest.mark.parametrize("stage", ALL_STAGES)
@pytest.mark.parametrize("role", [*MEMBER_ROLES, None])
def test_vote_matrix(stage: Stage, role: Role | None) -> None:
    """Members vote during voting only; outsiders never learn the jam exists."""
    jam = jam_in_stage(stage)
    actor = member(jam, role) if role else UserFactory()
    a, b = idea_in(jam, title="A"), idea_in(jam, title="B")
    approval = round_with_ballot(jam, [a, b], method="approval")
    pairwise = round_with_ballot(jam, [a, b], method="pairwise")
    if stage is Stage.VOTING and role is not None:
        services.vote_cast(actor=actor, round=approval, choices={a.pk: 1})
        services.pairwise_judge(
            actor=actor, round=pairwise, first=a.pk, second=b.pk, outcome="first"
        )
        assert entries_of(approval) == {(actor.pk, a.pk, 1)}
        assert PairwiseJudgment.objects.count() == 1
        return
    expected = NotFound if role is None else PhaseClosed
    with pytest.raises(expected):
        services.vote_cast(actor=actor, round=approval, choices={a.pk: 1})
    with pytest.raises(expected):
        services.pairwise_judge(
            actor=actor, round=pairwise, first=a.pk, second=b.pk, outcome="first"
        )
    assert not Ballot.objects.exists()
    assert not PairwiseJudgment.objects.exists()


# --- Approval -----------------------------------------------------------------------


@pytest.fixture
def approval(jam, ideas) -> VotingRound:  # type: ignore[no-untyped-def]
    return round_with_ballot(jam, ideas, method="approval", parameters={"max_approvals": 2})


def test_approval_vote_and_change(approval, ideas, participant) -> None:
    a, b, c, _d = ideas
    cast = services.vote_cast(actor=participant, round=approval, choices={a.pk: 1, b.pk: 1})
    assert (cast.size, cast.voters) == (2, 1)
    assert entries_of(approval) == {(participant.pk, a.pk, 1), (participant.pk, b.pk, 1)}
    # Changing the vote replaces the whole ballot; 0 means "not approved".
    cast = services.vote_cast(actor=participant, round=approval, choices={str(c.pk): 1, b.pk: 0})
    assert entries_of(approval) == {(participant.pk, c.pk, 1)}
    assert Ballot.objects.get().size == 1
    # An empty ballot withdraws the vote.
    cast = services.vote_cast(actor=participant, round=approval, choices={})
    assert (cast.size, cast.voters) == (0, 0)
    assert entries_of(approval) == set()


BAD_APPROVALS = [
    pytest.param(lambda a, b, c, x: {a: 1, b: 1, c: 1}, TooLarge, id="over-quota"),
    pytest.param(lambda a, b, c, x: {a: 2}, Invalid, id="two"),
    pytest.param(lambda a, b, c, x: {a: -1}, Invalid, id="negative"),
    pytest.param(lambda a, b, c, x: {a: math.nan}, Invalid, id="nan"),
    pytest.param(lambda a, b, c, x: {a: 1.0}, Invalid, id="float"),
    pytest.param(lambda a, b, c, x: {a: 0.5}, Invalid, id="fraction"),
    pytest.param(lambda a, b, c, x: {a: "1"}, Invalid, id="string"),
    pytest.param(lambda a, b, c, x: {a: True}, Invalid, id="bool"),
    pytest.param(lambda a, b, c, x: {a: None}, Invalid, id="none"),
    pytest.param(lambda a, b, c, x: {x: 1}, Invalid, id="not-on-ballot"),
    pytest.param(lambda a, b, c, x: {"abc": 1}, Invalid, id="idea-not-a-number"),
    pytest.param(lambda a, b, c, x: {-a: 1}, Invalid, id="negative-idea"),
]


@pytest.mark.parametrize(("choices", "error"), BAD_APPROVALS)
def test_bad_approval_ballots_are_refused_and_change_nothing(
    approval, ideas, jam, participant, choices, error
) -> None:
    a, b, c, _d = ideas
    outside = idea_in(jam, title="Not on the ballot")
    services.vote_cast(actor=participant, round=approval, choices={a.pk: 1})
    before = entries_of(approval)
    events = Event.objects.count()
    with pytest.raises(error):
        services.vote_cast(
            actor=participant, round=approval, choices=choices(a.pk, b.pk, c.pk, outside.pk)
        )
    assert entries_of(approval) == before
    assert Ballot.objects.get().size == 1
    assert Event.objects.count() == events


def test_too_many_entries_are_refused_before_anything_else(approval, participant) -> None:
    with pytest.raises(TooLarge):
        services.vote_cast(
            actor=participant, round=approval, choices={i: 1 for i in range(1, 1002)}
        )
    assert not Ballot.objects.exists()


def test_ideas_of_another_round_are_not_on_this_ballot(jam, approval, ideas, participant) -> None:
    extra = idea_in(jam, title="Other round only")
    round_with_ballot(jam, [extra], title="Other")
    with pytest.raises(Invalid):
        services.vote_cast(actor=participant, round=approval, choices={extra.pk: 1})


# --- Rating -----------------------------------------------------------------------------


@pytest.fixture
def rating(jam, ideas) -> VotingRound:  # type: ignore[no-untyped-def]
    return round_with_ballot(jam, ideas, method="rating")


def test_rating_vote(rating, ideas, participant) -> None:
    a, b, _c, _d = ideas
    services.vote_cast(actor=participant, round=rating, choices={a.pk: 1, b.pk: 5})
    assert entries_of(rating) == {(participant.pk, a.pk, 1), (participant.pk, b.pk, 5)}


@pytest.mark.parametrize("value", [0, 6, -3, 2.5, math.nan, math.inf, "4", None])
def test_out_of_range_ratings_are_refused(rating, ideas, participant, value) -> None:
    with pytest.raises(Invalid):
        services.vote_cast(actor=participant, round=rating, choices={ideas[0].pk: value})
    assert not Ballot.objects.exists()


# --- Budget -------------------------------------------------------------------------------


@pytest.fixture
def budget(jam, ideas) -> VotingRound:  # type: ignore[no-untyped-def]
    return round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})


def test_budget_vote_spends_at_most_k_points(budget, ideas, participant) -> None:
    a, b, c, _d = ideas
    services.vote_cast(actor=participant, round=budget, choices={a.pk: 7, b.pk: 3, c.pk: 0})
    assert entries_of(budget) == {(participant.pk, a.pk, 7), (participant.pk, b.pk, 3)}
    with pytest.raises(TooLarge):
        services.vote_cast(actor=participant, round=budget, choices={a.pk: 7, b.pk: 4})
    with pytest.raises(Invalid):
        services.vote_cast(actor=participant, round=budget, choices={a.pk: 11})
    with pytest.raises(Invalid):
        services.vote_cast(actor=participant, round=budget, choices={a.pk: -1, b.pk: 5})
    with pytest.raises(Invalid):
        services.vote_cast(actor=participant, round=budget, choices={a.pk: 2.5})
    assert entries_of(budget) == {(participant.pk, a.pk, 7), (participant.pk, b.pk, 3)}


# --- Pairwise --------------------------------------------------------------------------------


@pytest.fixture
def pairwise(jam, ideas) -> VotingRound:  # type: ignore[no-untyped-def]
    return round_with_ballot(jam, ideas, method="pairwise")


def test_pairwise_judgments_are_stored_lower_id_first_and_changed_not_repeated(
    pairwise, ideas, participant
) -> None:
    a, b, _c, _d = ideas
    assert a.pk < b.pk
    cast = services.pairwise_judge(
        actor=participant, round=pairwise, first=b.pk, second=a.pk, outcome="first"
    )
    assert (cast.size, cast.voters) == (1, 1)
    judgment = PairwiseJudgment.objects.get()
    # b (shown first) won: stored as (a, b) with 0 half-points for a.
    assert (judgment.first_idea_id, judgment.second_idea_id, judgment.outcome) == (a.pk, b.pk, 0)
    # Judging the same pair again changes the judgment; exposure counts once.
    cast = services.pairwise_judge(
        actor=participant, round=pairwise, first=a.pk, second=b.pk, outcome="undecided"
    )
    assert cast.size == 1
    assert list(PairwiseJudgment.objects.values_list("outcome", flat=True)) == [1]
    assert dict(pairwise.items.values_list("idea_id", "comparisons")) == {
        ideas[0].pk: 1,
        ideas[1].pk: 1,
        ideas[2].pk: 0,
        ideas[3].pk: 0,
    }


def test_bad_pairwise_judgments_are_refused(jam, pairwise, approval, ideas, participant) -> None:
    a, b, _c, _d = ideas
    outside = idea_in(jam, title="Outside")
    bad = [
        {"first": a.pk, "second": a.pk, "outcome": "first"},
        {"first": a.pk, "second": outside.pk, "outcome": "first"},
        {"first": a.pk, "second": b.pk, "outcome": "both"},
        {"first": str(a.pk), "second": b.pk, "outcome": "first"},
        {"first": float(a.pk), "second": b.pk, "outcome": "second"},
    ]
    for kwargs in bad:
        with pytest.raises(Invalid):
            services.pairwise_judge(actor=participant, round=pairwise, **kwargs)
    with pytest.raises(Invalid):
        services.pairwise_judge(
            actor=participant, round=approval, first=a.pk, second=b.pk, outcome="first"
        )
    with pytest.raises(Invalid):
        services.vote_cast(actor=participant, round=pairwise, choices={a.pk: 1})
    assert not PairwiseJudgment.objects.exists()
    assert not Ballot.objects.exists()


# --- Turnout events -----------------------------------------------------------------------------


def test_turnout_changes_signal_the_jams_processes_after_commit(
    jam, approval, ideas, events
) -> None:
    """A vote that moves the turnout tells the jam's processes which round
    changed (their hubs read the counter and push it, jams/hub.py); a
    changed ballot that still counts does not. No event is stored: the
    counter is the record."""
    a, b, _c, _d = ideas
    first, second = member(jam), member(jam)
    signal = {"type": "hub.turnout", "jam": jam.pk, "round": approval.pk}
    turnouts = []
    for voter, choices in (
        (first, {a.pk: 1}),
        (first, {b.pk: 1}),  # a change only
        (second, {a.pk: 1}),
        (first, {}),  # withdrawn
    ):
        with events.committed():
            cast = services.vote_cast(actor=voter, round=approval, choices=choices)
        turnouts.append((cast.voters, events.signals()))
    assert turnouts == [(1, [signal]), (-1, []), (2, [signal]), (1, [signal])]
    assert events.drain() == []
    assert not Event.objects.filter(name="turnout.changed").exists()
    approval.refresh_from_db()
    assert approval.voters == 1


def test_a_refused_vote_signals_nothing(jam, approval, ideas, events) -> None:
    with events.committed(), pytest.raises(Invalid):
        services.vote_cast(actor=member(jam), round=approval, choices={ideas[0].pk: 2})
    assert events.signals() == []


# --- Database constraints ------------------------------------------------------------------------


def test_database_refuses_a_second_entry_per_voter_and_idea(approval, ideas, participant) -> None:
    services.vote_cast(actor=participant, round=approval, choices={ideas[0].pk: 1})
    ballot = Ballot.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        BallotEntry.objects.create(ballot=ballot, round=approval, idea=ideas[0], value=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Ballot.objects.create(round=approval, voter=participant)


@pytest.mark.parametrize("value", [0, 1001])
def test_database_refuses_out_of_range_values(approval, ideas, participant, value) -> None:
    ballot = Ballot.objects.create(round=approval, voter=participant)
    with pytest.raises(IntegrityError), transaction.atomic():
        BallotEntry.objects.create(ballot=ballot, round=approval, idea=ideas[0], value=value)


def test_database_refuses_unordered_and_repeated_pairs(pairwise, ideas, participant) -> None:
    a, b, _c, _d = ideas
    ballot = Ballot.objects.create(round=pairwise, voter=participant)
    with pytest.raises(IntegrityError), transaction.atomic():
        PairwiseJudgment.objects.create(
            round=pairwise, ballot=ballot, first_idea=b, second_idea=a, outcome=2
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        PairwiseJudgment.objects.create(
            round=pairwise, ballot=ballot, first_idea=a, second_idea=b, outcome=3
        )
    PairwiseJudgment.objects.create(
        round=pairwise, ballot=ballot, first_idea=a, second_idea=b, outcome=2
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PairwiseJudgment.objects.create(
            round=pairwise, ballot=ballot, first_idea=a, second_idea=b, outcome=0
        )


# --- Rankings ---------------------------------------------------------------------


def vote_all(voting_round: VotingRound, jam, ballots: list[dict[int, int]]) -> list:  # type: ignore[no-untyped-def]
    voters = [member(jam) for _ in ballots]
    for voter, choices in zip(voters, ballots, strict=True):
        services.vote_cast(actor=voter, round=voting_round, choices=choices)
    return voters


def stored(result: RankingResult) -> list[tuple]:
    return list(result.ideas.order_by("rank").values_list("idea_id", "rank", "total", "count", "n"))


def test_ranking_is_refused_before_voting_closes(approval) -> None:
    with pytest.raises(PhaseClosed):
        services.ranking_compute(round=approval)
    assert not RankingResult.objects.exists()


def test_approval_ranking_is_stored_and_idempotent(jam, approval, ideas) -> None:
    a, b, c, d = ideas
    vote_all(approval, jam, [{a.pk: 1, b.pk: 1}, {a.pk: 1}, {a.pk: 1, c.pk: 1}, {b.pk: 1}])
    result = services.ranking_compute(round=approval, now=after_voting())
    assert (result.method, result.ballots, result.entries) == ("approval", 4, 6)
    assert result.parameters == {"max_approvals": 2, "confidence": 0.95}
    assert stored(result) == [
        (a.pk, 1, 3.0, 3, 4),
        (b.pk, 2, 2.0, 2, 4),
        (c.pk, 3, 1.0, 1, 4),
        (d.pk, 4, 0.0, 0, 4),
    ]
    low, high = ranking.wilson_interval(successes=[3, 2, 1, 0], trials=4)
    rows = list(result.ideas.order_by("rank"))
    assert [r.score for r in rows] == pytest.approx(list(low))
    assert [r.low for r in rows] == pytest.approx(list(low))
    assert [r.high for r in rows] == pytest.approx(list(high))
    # The intervals of 3/4 and 2/4 overlap: b is tied with a.
    assert [r.tied_with_previous for r in rows] == [False, True, True, True]

    first = stored(result)
    again = services.ranking_compute(round=approval, now=after_voting())
    assert again.pk == result.pk
    assert RankedIdeaResult.objects.count() == 4
    forced = services.ranking_compute(round=approval, now=after_voting(), force=True)
    assert forced.pk != result.pk
    assert RankingResult.objects.count() == 1
    assert stored(forced) == first


def test_rating_ranking_is_the_bayesian_average(jam, rating, ideas) -> None:
    a, b, c, d = ideas
    vote_all(rating, jam, [{a.pk: 5, b.pk: 2}, {a.pk: 4, b.pk: 3, c.pk: 1}, {a.pk: 5}])
    result = services.ranking_compute(round=rating, now=after_voting())
    # Round mean m = (14 + 5 + 1) / 6 = 10/3; C = 5.
    m = 20 / 6
    expected = {
        a.pk: (14 + 5 * m) / (3 + 5),
        b.pk: (5 + 5 * m) / (2 + 5),
        c.pk: (1 + 5 * m) / (1 + 5),
        d.pk: m,
    }
    rows = {r.idea_id: r for r in result.ideas.all()}
    assert {k: rows[k].score for k in rows} == pytest.approx(expected)
    assert [r.idea_id for r in result.ideas.order_by("rank")] == [a.pk, d.pk, b.pk, c.pk]
    assert (rows[a.pk].total, rows[a.pk].count, rows[a.pk].squares) == (14.0, 3, 66.0)
    assert result.ballots == 3


def test_budget_ranking_totals_and_bootstrap(jam, budget, ideas) -> None:
    a, b, c, d = ideas
    voters = vote_all(budget, jam, [{a.pk: 6, b.pk: 4}, {b.pk: 10}, {a.pk: 5, c.pk: 5}])
    result = services.ranking_compute(round=budget, now=after_voting())
    assert stored(result) == [
        (b.pk, 1, 14.0, 2, 2),
        (a.pk, 2, 11.0, 2, 2),
        (c.pk, 3, 5.0, 1, 1),
        (d.pk, 4, 0.0, 0, 0),
    ]
    expected = ranking.budget_ranking(
        idea_ids=sorted(i.pk for i in ideas),
        voter_index=[0, 0, 1, 2, 2],
        idea_index=[0, 1, 1, 0, 2],
        value=[6, 4, 10, 5, 5],
        random_state=0,
    )
    assert [(r.idea_id, r.low, r.high) for r in result.ideas.order_by("rank")] == [
        (r.idea_id, pytest.approx(r.low), pytest.approx(r.high)) for r in expected
    ]
    assert len(voters) == result.ballots == 3


def test_pairwise_ranking_from_judgments(jam, pairwise, ideas) -> None:
    a, b, c, _d = ideas
    voters = [member(jam) for _ in range(3)]
    for voter in voters:
        services.pairwise_judge(
            actor=voter, round=pairwise, first=a.pk, second=b.pk, outcome="first"
        )
        services.pairwise_judge(
            actor=voter, round=pairwise, first=c.pk, second=a.pk, outcome="second"
        )
    services.pairwise_judge(
        actor=voters[0], round=pairwise, first=b.pk, second=c.pk, outcome="undecided"
    )
    result = services.ranking_compute(round=pairwise, now=after_voting())
    assert (result.ballots, result.entries) == (3, 7)
    rows = list(result.ideas.order_by("rank"))
    assert rows[0].idea_id == a.pk
    assert (rows[0].total, rows[0].count, rows[0].n) == (6.0, 6, 6)
    ids = np.array(sorted(i.pk for i in ideas))
    tally = ranking.comparison_tally(
        idea_ids=ids,
        first_index=[0] * 3 + [0] * 3 + [1],
        second_index=[1] * 3 + [2] * 3 + [2],
        outcome=[1.0] * 6 + [0.5],
    )
    expected = ranking.pairwise_ranking(tally=tally)
    assert [(r.idea_id, r.score) for r in rows] == [
        (e.idea_id, pytest.approx(e.score)) for e in expected
    ]


def test_deleted_accounts_stay_counted_but_unlinked(jam, approval, ideas) -> None:
    a, _b, _c, _d = ideas
    voters = vote_all(approval, jam, [{a.pk: 1}, {a.pk: 1}])
    voters[0].delete()
    assert Ballot.objects.filter(voter__isnull=True).count() == 1
    result = services.ranking_compute(round=approval, now=after_voting())
    assert result.ballots == 2
    assert result.ideas.get(idea=a).total == 2.0


def test_ranking_of_an_empty_round(jam) -> None:
    empty = round_with_ballot(jam, [], method="pairwise")
    result = services.ranking_compute(round=empty, now=after_voting())
    assert (result.ballots, result.entries, result.ideas.count()) == (0, 0, 0)


def test_shortlist_one_representative_per_theme(curation) -> None:
    from analysis.models import AnalysisRun, PostTheme, RunStatus, Theme
    from ideas.models import Post

    jam, organizer, voting_round = curation
    transport = [idea_in(jam, title=f"Transport {n}", replies=n) for n in (1, 4, 2)]
    health = [idea_in(jam, title=f"Health {n}", replies=n) for n in (3, 0)]
    unthemed = idea_in(jam, title="No theme", replies=9)
    run = AnalysisRun.objects.create(jam=jam, status=RunStatus.DONE)
    themes = {
        "transport": Theme.objects.create(run=run, number=0, label="transport", size=7),
        "health": Theme.objects.create(run=run, number=1, label="health", size=3),
    }
    for name, ideas in (("transport", transport), ("health", health)):
        for idea in ideas:
            opening = Post.objects.get(idea=idea, parent__isnull=True)
            PostTheme.objects.create(
                run=run, post=opening, theme=themes[name], computed_number=themes[name].number
            )

    added = services.shortlist_top(actor=organizer, round=voting_round, by="themes", n=5)
    # The most discussed idea of each theme, the larger theme first; an idea
    # in no theme is not a theme's representative.
    assert added == [transport[1].pk, health[0].pk]
    assert unthemed.pk not in added


# --- Statements per vote -----------------------------------------------------------------------


def statements(run: Callable[[], object]) -> list[str]:
    """The SQL a call sends, without transaction control (BEGIN, savepoints)."""
    with CaptureQueriesContext(connection) as captured:
        run()
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    return [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]


def test_a_vote_takes_a_fixed_handful_of_statements(jam, ideas) -> None:
    """Pre-check; lock and ballot items; check; ballot upsert; the entries and
    the turnout counter (one statement on PostgreSQL; delete, insert and, for
    a first vote, the counter elsewhere). The turnout is no event: nothing
    more for a first vote. Pinned so that a change adding a round trip to
    every ballot shows up here."""
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})
    voter = member(jam)
    postgresql = connection.vendor == "postgresql"
    per_vote = 4 + (1 if postgresql else 2)

    def vote(choices: dict[int, int]) -> list[str]:
        return statements(
            lambda: services.vote_cast(actor=voter, round=voting_round, choices=choices)
        )

    first = vote({idea.pk: 2 for idea in ideas})
    changed = vote({ideas[0].pk: 10})
    withdrawn = vote({})

    assert len(changed) == per_vote
    # Elsewhere: + the counter (a withdrawal there has no ballot items to
    # read and no entries to insert).
    assert len(first) == per_vote + (0 if postgresql else 1)
    assert len(withdrawn) == per_vote + (0 if postgresql else -1)
    assert sum("SET voters = voters +" in sql for sql in first) == 1
    assert entries_of(voting_round) == set()
    assert Ballot.objects.get(round=voting_round).size == 0
    voting_round.refresh_from_db()
    assert voting_round.voters == 0


def test_a_context_read_by_the_caller_stands_in_for_the_pre_check(jam, ideas) -> None:
    """The round page passes the jam context it read for the request: the
    vote then takes one statement fewer, and the check after the lock still
    reads its own (a vote against a context from before the close is
    refused once the close is committed)."""
    voting_round = round_with_ballot(jam, ideas, method="budget", parameters={"points": 10})
    voter = member(jam)
    ctx = jam_context_for(jam=jam, user=voter)
    choices = {ideas[0].pk: 3}
    services.vote_cast(actor=voter, round=voting_round, choices={ideas[0].pk: 1})  # counted
    own = statements(lambda: services.vote_cast(actor=voter, round=voting_round, choices=choices))
    given = statements(
        lambda: services.vote_cast(actor=voter, round=voting_round, choices=choices, context=ctx)
    )
    assert len(given) == len(own) - 1  # all but the pre-check
    assert own[1].split()[:4] == given[0].split()[:4]
    with pytest.raises(PhaseClosed):
        services.vote_cast(
            actor=voter, round=voting_round, choices=choices, now=after_voting(), context=ctx
        )


def test_a_context_of_another_voter_or_jam_is_not_taken(jam, ideas) -> None:
    """A context read for someone else, or for another jam, does not vouch
    for the actor: the service reads its own, and refuses the outsider."""
    voting_round = round_with_ballot(jam, ideas)
    insider, outsider = member(jam), UserFactory()
    other = jam_in_stage(Stage.VOTING)  # where the outsider may vote
    Membership.objects.create(jam=other, user=outsider, role=Role.PARTICIPANT)
    for ctx in (
        jam_context_for(jam=jam, user=insider),
        jam_context_for(jam=other, user=outsider),
    ):
        with pytest.raises(NotFound):
            services.vote_cast(
                actor=outsider, round=voting_round, choices={ideas[0].pk: 1}, context=ctx
            )
    assert not BallotEntry.objects.exists()
