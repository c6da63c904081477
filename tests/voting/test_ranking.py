"""Tests for voting.ranking: known values, statistical behaviour and invariants."""

import itertools
import math
from collections.abc import Sequence
from typing import TypedDict

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from voting.ranking import (
    BallotTally,
    ComparisonTally,
    RankedIdea,
    approval_ranking,
    ballot_tally,
    budget_ranking,
    comparison_tally,
    dense_index,
    pairwise_ranking,
    rank_ideas,
    rating_ranking,
    wilson_interval,
)

Z95 = 1.959963984540054


class BudgetEntries(TypedDict):
    voter_index: npt.NDArray[np.int64]
    idea_index: npt.NDArray[np.int64]
    value: npt.NDArray[np.int64]


def int_array(values: Sequence[int]) -> npt.NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


def approval_tally(*, idea_ids: list[int], approvals: list[int], n_ballots: int) -> BallotTally:
    """A tally as a service would build it from SQL aggregates."""
    return BallotTally(
        idea_ids=int_array(idea_ids),
        totals=np.array(approvals, dtype=np.float64),
        counts=int_array(approvals),
        squares=np.array(approvals, dtype=np.float64),
        n_ballots=n_ballots,
    )


def by_id(ranking: list[RankedIdea]) -> dict[int, RankedIdea]:
    return {idea.idea_id: idea for idea in ranking}


def ranked_ids(ranking: list[RankedIdea]) -> list[int]:
    return [idea.idea_id for idea in ranking]


def rating_tally(ratings_per_idea: dict[int, list[int]]) -> BallotTally:
    """A tally where every rating comes from a different voter."""
    idea_ids = list(ratings_per_idea)
    ideas = [i for i, ratings in enumerate(ratings_per_idea.values()) for _ in ratings]
    values = [r for ratings in ratings_per_idea.values() for r in ratings]
    return ballot_tally(
        idea_ids=idea_ids, voter_index=np.arange(len(values)), idea_index=ideas, value=values
    )


def simulated_comparisons(
    strengths: npt.NDArray[np.float64], n_comparisons: int, seed: int
) -> ComparisonTally:
    rng = np.random.default_rng(seed)
    n_ideas = strengths.size
    first = rng.integers(0, n_ideas, n_comparisons)
    second = (first + rng.integers(1, n_ideas, n_comparisons)) % n_ideas
    first_wins = rng.random(n_comparisons) < special.expit(strengths[first] - strengths[second])
    return comparison_tally(
        idea_ids=np.arange(n_ideas),
        first_index=first,
        second_index=second,
        outcome=first_wins.astype(float),
    )


def assert_well_formed(ranking: list[RankedIdea]) -> None:
    assert [idea.rank for idea in ranking] == list(range(1, len(ranking) + 1))
    assert len({idea.idea_id for idea in ranking}) == len(ranking)
    keys = [(-i.score, -i.low, -i.total, i.idea_id) for i in ranking]
    rounded = [tuple(round(k, 9) for k in key) for key in keys]
    assert rounded == sorted(rounded)
    if ranking:
        assert ranking[0].tie_group == 1
        assert not ranking[0].tied_with_previous
    for before, after in itertools.pairwise(ranking):
        assert after.tie_group - before.tie_group in (0, 1)


# --- input encoding ------------------------------------------------------------


def test_dense_index_maps_ids_to_their_position_in_the_universe() -> None:
    positions = dense_index(ids=[30, 10, 30, 20], universe=[10, 30, 20])
    assert positions.tolist() == [1, 0, 1, 2]


def test_dense_index_rejects_ids_outside_the_universe() -> None:
    with pytest.raises(ValueError, match="not in the universe"):
        dense_index(ids=[10, 99], universe=[10, 20])


def test_dense_index_without_universe_numbers_distinct_ids_in_order() -> None:
    assert dense_index(ids=[500, 7, 500, 42]).tolist() == [2, 0, 2, 1]


# --- tallies -------------------------------------------------------------------


def test_ballot_tally_sums_values_per_idea_and_counts_ballots() -> None:
    tally = ballot_tally(
        idea_ids=[10, 20, 30],
        voter_index=[0, 0, 1, 3],
        idea_index=[0, 1, 1, 1],
        value=[2.0, 1.0, 3.0, 4.0],
    )
    assert tally.totals.tolist() == [2.0, 8.0, 0.0]
    assert tally.counts.tolist() == [1, 3, 0]
    assert tally.squares.tolist() == [4.0, 26.0, 0.0]
    assert tally.n_ballots == 3
    assert tally.rows()[1] == {"idea_id": 20, "total": 8.0, "count": 3, "squares": 26.0}


def test_ballot_tally_accepts_an_explicit_number_of_ballots() -> None:
    tally = ballot_tally(idea_ids=[1], voter_index=[0], idea_index=[0], value=[1.0], n_ballots=5)
    assert tally.n_ballots == 5


def test_ballot_tally_is_read_only() -> None:
    tally = ballot_tally(idea_ids=[1], voter_index=[0], idea_index=[0], value=[1.0])
    with pytest.raises(ValueError, match="read-only"):
        tally.totals[0] = 9.0


def test_ballot_tally_rejects_entries_for_unknown_ideas() -> None:
    with pytest.raises(ValueError, match="outside idea_ids"):
        ballot_tally(idea_ids=[1, 2], voter_index=[0], idea_index=[2], value=[1.0])


def test_duplicate_idea_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        ballot_tally(idea_ids=[1, 1], voter_index=[], idea_index=[], value=[])


def test_comparison_tally_orients_pairs_and_counts_outcomes() -> None:
    tally = comparison_tally(
        idea_ids=[7, 8, 9],
        first_index=[0, 2, 2, 0, 1],
        second_index=[2, 0, 0, 2, 0],
        outcome=[1.0, 1.0, 0.0, 0.5, 1.0],
    )
    assert tally.rows() == [
        {"first_id": 7, "second_id": 8, "first_wins": 0, "second_wins": 1, "undecided": 0},
        {"first_id": 7, "second_id": 9, "first_wins": 2, "second_wins": 1, "undecided": 1},
    ]


@pytest.mark.parametrize(
    ("first", "second", "outcome", "message"),
    [
        ([0], [0], [1.0], "itself"),
        ([0], [3], [1.0], "outside"),
        ([0], [1], [0.7], "0, 0.5 or 1"),
    ],
)
def test_comparison_tally_rejects_malformed_comparisons(
    first: list[int], second: list[int], outcome: list[float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        comparison_tally(
            idea_ids=[1, 2, 3], first_index=first, second_index=second, outcome=outcome
        )


# --- Wilson / approval -----------------------------------------------------------


def test_wilson_interval_matches_hand_computed_values() -> None:
    low, high = wilson_interval(successes=[5, 0, 1], trials=[10, 10, 1])
    # 5 of 10: centred on 0.5, half width z/(1+z²/10)·sqrt(0.025 + z²/400) = 0.26341.
    assert low[0] == pytest.approx(0.236593, abs=1e-6)
    assert high[0] == pytest.approx(0.763407, abs=1e-6)
    # 0 of n: low 0, high z²/(n + z²).
    assert low[1] == 0.0
    assert high[1] == pytest.approx(Z95**2 / (10 + Z95**2), abs=1e-12)
    assert high[1] == pytest.approx(0.277533, abs=1e-6)
    # 1 of 1: low 1/(1 + z²), high 1.
    assert low[2] == pytest.approx(1 / (1 + Z95**2), abs=1e-12)
    assert high[2] == 1.0


def test_wilson_interval_with_no_trials_is_the_whole_unit_interval() -> None:
    low, high = wilson_interval(successes=[0], trials=[0])
    assert (low[0], high[0]) == (0.0, 1.0)


def test_wilson_interval_narrows_at_lower_confidence() -> None:
    low95, high95 = wilson_interval(successes=[30], trials=[100], confidence=0.95)
    low80, high80 = wilson_interval(successes=[30], trials=[100], confidence=0.80)
    assert low95[0] < low80[0] < 0.3 < high80[0] < high95[0]


def test_wilson_interval_rejects_more_successes_than_trials() -> None:
    with pytest.raises(ValueError, match="between 0 and trials"):
        wilson_interval(successes=[3], trials=[2])


def test_approval_ranks_by_wilson_lower_bound_over_all_ballots() -> None:
    # 10 ballots; idea 1 approved 5 times, idea 2 once, idea 3 never.
    voters = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    ideas = [0, 0, 0, 0, 0, 1, 2, 2, 2, 2]
    tally = ballot_tally(
        idea_ids=[1, 2, 3, 4], voter_index=voters, idea_index=ideas, value=[1.0] * 10
    )
    ranking = approval_ranking(tally=tally)
    assert ranked_ids(ranking) == [1, 3, 2, 4]
    top = ranking[0]
    assert (top.score, top.low) == pytest.approx((0.236593, 0.236593), abs=1e-6)
    assert top.high == pytest.approx(0.763407, abs=1e-6)
    assert (top.total, top.n) == (5.0, 10)
    assert by_id(ranking)[4].score == 0.0


def test_approval_marks_overlapping_neighbours_as_tied() -> None:
    tally = approval_tally(idea_ids=[1, 2, 3], approvals=[500, 480, 100], n_ballots=1000)
    ranking = approval_ranking(tally=tally)
    assert [(i.idea_id, i.tied_with_previous, i.tie_group) for i in ranking] == [
        (1, False, 1),
        (2, True, 1),
        (3, False, 2),
    ]


def test_approval_with_equal_counts_breaks_ties_by_idea_id() -> None:
    tally = approval_tally(idea_ids=[30, 10, 20], approvals=[4, 4, 4], n_ballots=9)
    assert ranked_ids(approval_ranking(tally=tally)) == [10, 20, 30]


def test_approval_with_no_ballots_ranks_every_idea_at_zero() -> None:
    tally = ballot_tally(idea_ids=[2, 1], voter_index=[], idea_index=[], value=[])
    ranking = approval_ranking(tally=tally)
    assert ranked_ids(ranking) == [1, 2]
    assert all((i.score, i.low, i.high, i.n) == (0.0, 0.0, 1.0, 0) for i in ranking)


# --- rating ----------------------------------------------------------------------


def test_bayesian_average_matches_hand_computation() -> None:
    # Round mean (5 + 1 + 1 + 1) / 4 = 2; prior of 5 pseudo-ratings at 2.
    ranking = by_id(rating_ranking(tally=rating_tally({1: [5], 2: [1, 1, 1]})))
    assert ranking[1].score == pytest.approx((5 + 5 * 2) / (1 + 5))
    assert ranking[2].score == pytest.approx((3 + 5 * 2) / (3 + 5))


def test_bayesian_average_pulls_few_ratings_toward_the_round_mean() -> None:
    tally = rating_tally({1: [5], 2: [5, 4] * 25, 3: [3] * 50, 4: [1]})
    ranking = rating_ranking(tally=tally)
    scores = by_id(ranking)
    assert ranked_ids(ranking)[0] == 2  # 50 ratings averaging 4.5 beat a single 5
    assert scores[1].score < 4.5
    assert scores[4].score > 1.5  # a single 1 is pulled up just as much


def test_unrated_idea_gets_the_round_mean_and_the_widest_interval() -> None:
    tally = rating_tally({1: [4, 5, 4, 5], 2: [2, 3], 3: []})
    ranking = by_id(rating_ranking(tally=tally))
    assert ranking[3].score == pytest.approx(23 / 6)
    assert ranking[3].n == 0
    widths = {i: r.high - r.low for i, r in ranking.items()}
    assert widths[3] > widths[2] > widths[1]


def test_rating_interval_narrows_with_more_ratings() -> None:
    few = by_id(rating_ranking(tally=rating_tally({1: [4, 2] * 3, 2: [3] * 10})))[1]
    many = by_id(rating_ranking(tally=rating_tally({1: [4, 2] * 300, 2: [3] * 10})))[1]
    assert many.high - many.low < (few.high - few.low) / 3


def test_rating_with_no_ratings_sits_at_the_scale_centre() -> None:
    tally = ballot_tally(idea_ids=[1, 2], voter_index=[], idea_index=[], value=[])
    ranking = rating_ranking(tally=tally)
    assert [i.score for i in ranking] == [3.0, 3.0]
    assert all(1.0 <= i.low < 3.0 < i.high <= 5.0 for i in ranking)


def test_rating_rejects_values_outside_the_scale() -> None:
    with pytest.raises(ValueError, match="outside the scale"):
        rating_ranking(tally=rating_tally({1: [6, 6]}))


# --- budget ----------------------------------------------------------------------


def budget_round(n_voters: int, seed: int) -> BudgetEntries:
    """Each voter spreads 10 points over up to 4 of 6 ideas, favouring low ids."""
    rng = np.random.default_rng(seed)
    voters, ideas, points = [], [], []
    for voter in range(n_voters):
        chosen = rng.choice(
            6, size=rng.integers(1, 5), replace=False, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05]
        )
        split = rng.multinomial(10, np.ones(chosen.size) / chosen.size)
        voters += [voter] * chosen.size
        ideas += chosen.tolist()
        points += split.tolist()
    return BudgetEntries(
        voter_index=int_array(voters), idea_index=int_array(ideas), value=int_array(points)
    )


def test_budget_ranks_by_total_points_with_an_interval_around_it() -> None:
    entries = budget_round(400, seed=1)
    ranking = budget_ranking(idea_ids=np.arange(6), **entries, random_state=3)
    totals = np.bincount(entries["idea_index"], weights=entries["value"], minlength=6)
    assert [i.score for i in ranking] == sorted(totals.tolist(), reverse=True)
    for idea in ranking:
        assert idea.total == idea.score == totals[idea.idea_id]
        assert idea.low < idea.total < idea.high
    assert_well_formed(ranking)


def test_budget_interval_narrows_relative_to_the_total_with_more_voters() -> None:
    def relative_width(n_voters: int) -> float:
        ranking = budget_ranking(
            idea_ids=np.arange(6), **budget_round(n_voters, seed=2), random_state=4
        )
        return float(np.mean([(i.high - i.low) / i.total for i in ranking]))

    # Width grows like sqrt(voters) and the total like voters: 16x voters -> about 1/4.
    assert relative_width(1600) < 0.35 * relative_width(100)


def test_budget_bootstrap_matches_an_explicit_per_voter_bootstrap() -> None:
    entries = budget_round(300, seed=5)
    n_replicates = 4000
    ranking = by_id(
        budget_ranking(idea_ids=np.arange(6), **entries, n_replicates=n_replicates, random_state=6)
    )
    rng = np.random.default_rng(7)
    weights = rng.poisson(1.0, size=(n_replicates, 300))
    replicate_totals = np.stack(
        [
            np.bincount(
                entries["idea_index"],
                weights=entries["value"] * w[entries["voter_index"]],
                minlength=6,
            )
            for w in weights
        ]
    )
    low, high = np.percentile(replicate_totals, [2.5, 97.5], axis=0)
    for idea in range(6):
        total = ranking[idea].total
        assert ranking[idea].low == pytest.approx(low[idea], abs=0.02 * total)
        assert ranking[idea].high == pytest.approx(high[idea], abs=0.02 * total)


def test_budget_sums_repeated_entries_of_one_voter_for_one_idea() -> None:
    one_row = budget_ranking(
        idea_ids=[1, 2], voter_index=[0, 1], idea_index=[0, 1], value=[3, 1], random_state=0
    )
    split_rows = budget_ranking(
        idea_ids=[1, 2],
        voter_index=[0, 0, 0, 1],
        idea_index=[0, 0, 0, 1],
        value=[1, 1, 1, 1],
        random_state=0,
    )
    assert one_row == split_rows


def test_budget_idea_without_points_has_a_zero_interval() -> None:
    ranking = by_id(budget_ranking(idea_ids=[1, 2], voter_index=[0], idea_index=[0], value=[5]))
    assert (ranking[2].score, ranking[2].low, ranking[2].high, ranking[2].n) == (0, 0, 0, 0)


def test_budget_is_deterministic_for_a_seed() -> None:
    entries = budget_round(200, seed=8)
    first = budget_ranking(idea_ids=np.arange(6), **entries, random_state=11)
    again = budget_ranking(idea_ids=np.arange(6), **entries, random_state=11)
    other = budget_ranking(idea_ids=np.arange(6), **entries, random_state=12)
    assert first == again
    assert [i.total for i in first] == [i.total for i in other]
    assert [(i.low, i.high) for i in first] != [(i.low, i.high) for i in other]


def test_budget_equal_totals_prefer_the_higher_interval_low() -> None:
    # Idea 1: 10 points from one voter; idea 2: 1 point from each of 10 voters.
    ranking = budget_ranking(
        idea_ids=[1, 2],
        voter_index=[0, *range(1, 11)],
        idea_index=[0] + [1] * 10,
        value=[10] + [1] * 10,
        random_state=0,
    )
    assert ranked_ids(ranking) == [2, 1]
    assert ranking[0].score == ranking[1].score


def test_budget_rejects_fractional_points() -> None:
    with pytest.raises(ValueError, match="whole numbers"):
        budget_ranking(idea_ids=[1], voter_index=[0], idea_index=[0], value=[0.5])


# --- pairwise --------------------------------------------------------------------


def test_bradley_terry_recovers_planted_order() -> None:
    strengths = np.linspace(-2.0, 2.0, 30)
    ranking = pairwise_ranking(tally=simulated_comparisons(strengths, 20_000, seed=1))
    scores = [by_id(ranking)[i].score for i in range(30)]
    tau = stats.kendalltau(scores, strengths).statistic
    assert tau > 0.9
    assert all(0.0 < s < 1.0 for s in scores)


def test_bradley_terry_matches_an_independent_mm_fit() -> None:
    # Hunter's (2004) MM iteration with the same virtual opponent (strength 1,
    # one pseudo win and one pseudo loss per idea), run to convergence.
    tally = simulated_comparisons(np.array([0.0, 0.5, 1.0, -1.0, 2.0]), 300, seed=2)
    wins = np.zeros((5, 5))
    wins[tally.first, tally.second] = tally.first_wins
    wins[tally.second, tally.first] = tally.second_wins
    games = wins + wins.T
    gamma = np.ones(5)
    for _ in range(5000):
        denominator = (games / (gamma[:, None] + gamma[None, :])).sum(axis=1) + 2 / (gamma + 1)
        gamma = (wins.sum(axis=1) + 1) / denominator
    beat = gamma[:, None] / (gamma[:, None] + gamma[None, :])
    expected = (beat.sum(axis=1) - 0.5) / 4
    ranking = by_id(pairwise_ranking(tally=tally, prior_comparisons=2.0))
    assert [ranking[i].score for i in range(5)] == pytest.approx(expected, abs=1e-8)


def test_symmetric_comparisons_give_equal_scores_and_id_order() -> None:
    pairs = [(a, b) for a in range(4) for b in range(4) if a != b]
    tally = comparison_tally(
        idea_ids=[40, 10, 30, 20],
        first_index=[a for a, _ in pairs],
        second_index=[b for _, b in pairs],
        outcome=[1.0] * len(pairs),
    )
    ranking = pairwise_ranking(tally=tally)
    assert [i.score for i in ranking] == pytest.approx([0.5] * 4, abs=1e-12)
    assert ranked_ids(ranking) == [10, 20, 30, 40]
    assert all(i.tie_group == 1 for i in ranking)


def test_unbeaten_idea_stays_finite_and_below_one() -> None:
    first = [0] * 30
    second = [1, 2, 3] * 10
    tally = comparison_tally(
        idea_ids=[1, 2, 3, 4], first_index=first, second_index=second, outcome=[1.0] * 30
    )
    top = pairwise_ranking(tally=tally)[0]
    assert top.idea_id == 1
    assert 0.5 < top.score < 1.0
    assert math.isfinite(top.low)
    assert top.high <= 1.0


@pytest.mark.parametrize("prior_comparisons", [1e-4, 0.01, 50.0])
def test_fit_converges_for_lopsided_pairs_under_any_prior(prior_comparisons: float) -> None:
    # A tiny prior leaves the overall level nearly unconstrained: the fit
    # must stop at floating-point resolution instead of chasing noise.
    for first_wins, second_wins in [(675, 2), (4000, 0), (3, 3)]:
        tally = ComparisonTally(
            idea_ids=int_array([1, 2]),
            first=int_array([0]),
            second=int_array([1]),
            first_wins=int_array([first_wins]),
            second_wins=int_array([second_wins]),
            undecided=int_array([0]),
        )
        top = pairwise_ranking(tally=tally, prior_comparisons=prior_comparisons)[0]
        assert 0.5 <= top.score < 1.0


def test_idea_without_comparisons_sits_mid_table_with_the_widest_interval() -> None:
    strengths = np.array([-1.0, -0.5, 0.5, 1.0, 0.0])
    base = simulated_comparisons(strengths[:4], 2000, seed=3)
    tally = ComparisonTally(
        idea_ids=np.arange(5),
        first=base.first,
        second=base.second,
        first_wins=base.first_wins,
        second_wins=base.second_wins,
        undecided=base.undecided,
    )
    ranking = by_id(pairwise_ranking(tally=tally))
    unseen = ranking[4]
    assert unseen.n == 0
    assert ranking[0].score < unseen.score < ranking[3].score
    assert unseen.high - unseen.low == max(r.high - r.low for r in ranking.values())


def test_undecided_is_ignored_by_default_and_pulls_together_when_counted() -> None:
    decided = comparison_tally(
        idea_ids=[1, 2], first_index=[0] * 10, second_index=[1] * 10, outcome=[1.0] * 10
    )
    with_undecided = comparison_tally(
        idea_ids=[1, 2],
        first_index=[0] * 20,
        second_index=[1] * 20,
        outcome=[1.0] * 10 + [0.5] * 10,
    )
    plain = pairwise_ranking(tally=decided)
    excluded = pairwise_ranking(tally=with_undecided)
    halved = pairwise_ranking(tally=with_undecided, count_undecided_as_half=True)
    assert excluded == plain
    assert 0.5 < halved[0].score < plain[0].score
    assert (halved[0].total, halved[0].n) == (15.0, 20)


def test_pairwise_ranking_is_re_derived_from_its_published_rows() -> None:
    tally = simulated_comparisons(np.array([0.3, -0.2, 0.9, 0.0]), 500, seed=4)
    rows = tally.rows()
    position = {int(idea_id): i for i, idea_id in enumerate(tally.idea_ids)}
    republished = ComparisonTally(
        idea_ids=tally.idea_ids,
        first=int_array([position[r["first_id"]] for r in rows]),
        second=int_array([position[r["second_id"]] for r in rows]),
        first_wins=int_array([r["first_wins"] for r in rows]),
        second_wins=int_array([r["second_wins"] for r in rows]),
        undecided=int_array([r["undecided"] for r in rows]),
    )
    assert pairwise_ranking(tally=republished) == pairwise_ranking(tally=tally)


def test_pairwise_interval_narrows_with_more_comparisons() -> None:
    strengths = np.array([0.0, 0.4, 0.8])
    few = pairwise_ranking(tally=simulated_comparisons(strengths, 300, seed=5))
    many = pairwise_ranking(tally=simulated_comparisons(strengths, 30_000, seed=5))
    assert max(i.high - i.low for i in many) < min(i.high - i.low for i in few) / 5


def test_pairwise_interval_matches_the_binomial_interval_for_two_ideas() -> None:
    # With two ideas the score is the chance that one beats the other; with
    # 10,000 comparisons its interval must be close to the plain binomial
    # one, z * sqrt(p (1 - p) / n), the prior adding only 2 pseudo-comparisons.
    tally = ComparisonTally(
        idea_ids=int_array([1, 2]),
        first=int_array([0]),
        second=int_array([1]),
        first_wins=int_array([7000]),
        second_wins=int_array([3000]),
        undecided=int_array([0]),
    )
    top = pairwise_ranking(tally=tally)[0]
    assert top.score == pytest.approx(0.7, abs=1e-3)
    half_width = Z95 * math.sqrt(0.7 * 0.3 / 10_000)
    assert (top.high - top.low) / 2 == pytest.approx(half_width, rel=0.02)


@pytest.mark.parametrize("idea_ids", [[], [7]])
def test_pairwise_with_fewer_than_two_ideas(idea_ids: list[int]) -> None:
    tally = comparison_tally(idea_ids=idea_ids, first_index=[], second_index=[], outcome=[])
    ranking = pairwise_ranking(tally=tally)
    assert [(i.idea_id, i.score, i.low, i.high) for i in ranking] == [
        (i, 0.5, 0.0, 1.0) for i in idea_ids
    ]


def test_pairwise_with_no_comparisons_ties_everything_in_id_order() -> None:
    tally = comparison_tally(idea_ids=[3, 1, 2], first_index=[], second_index=[], outcome=[])
    ranking = pairwise_ranking(tally=tally)
    assert ranked_ids(ranking) == [1, 2, 3]
    assert [i.score for i in ranking] == pytest.approx([0.5] * 3)
    assert [i.tied_with_previous for i in ranking] == [False, True, True]


# --- ordering and ties -------------------------------------------------------------


def test_tie_break_order_is_score_then_low_then_total_then_id() -> None:
    ranking = rank_ideas(
        idea_ids=[5, 4, 3, 2, 1],
        score=[1.0, 1.0, 1.0, 1.0, 2.0],
        low=[0.5, 0.9, 0.5, 0.5, 0.0],
        high=[3.0, 3.0, 3.0, 3.0, 3.0],
        total=[10.0, 1.0, 20.0, 10.0, 0.0],
        n=[1, 1, 1, 1, 1],
    )
    assert ranked_ids(ranking) == [1, 4, 3, 2, 5]


def test_float_noise_in_scores_does_not_decide_the_order() -> None:
    ranking = rank_ideas(
        idea_ids=[2, 1], score=[0.3, 0.1 + 0.2], low=[0, 0], high=[1, 1], total=[0, 0], n=[0, 0]
    )
    assert ranked_ids(ranking) == [1, 2]


def test_tie_groups_are_anchored_on_the_group_leader() -> None:
    # B overlaps A, C overlaps B but not A: C is tied with its neighbour yet
    # starts a new group; D overlaps nobody.
    ranking = rank_ideas(
        idea_ids=[1, 2, 3, 4],
        score=[9.0, 8.0, 7.0, 2.0],
        low=[8.0, 7.0, 6.0, 1.0],
        high=[10.0, 9.0, 7.5, 3.0],
        total=[0, 0, 0, 0],
        n=[0, 0, 0, 0],
    )
    assert [(i.tied_with_previous, i.tie_group) for i in ranking] == [
        (False, 1),
        (True, 1),
        (True, 2),
        (False, 3),
    ]


def test_rank_ideas_rejects_columns_of_different_lengths() -> None:
    with pytest.raises(ValueError, match="length"):
        rank_ideas(idea_ids=[1, 2], score=[1.0], low=[1.0], high=[1.0], total=[1.0], n=[1])


# --- invariants ----------------------------------------------------------------------

entries_strategy = st.integers(min_value=1, max_value=6).flatmap(
    lambda n_ideas: st.tuples(
        st.just(n_ideas),
        st.lists(
            st.tuples(st.integers(0, 15), st.integers(0, n_ideas - 1), st.integers(1, 5)),
            max_size=40,
            unique_by=lambda entry: (entry[0], entry[1]),
        ),
    )
)


@settings(max_examples=60, deadline=None)
@given(entries_strategy)
def test_ballot_rankings_are_well_formed(case: tuple[int, list[tuple[int, int, int]]]) -> None:
    n_ideas, entries = case
    voters = [e[0] for e in entries]
    ideas = [e[1] for e in entries]
    values = [e[2] for e in entries]
    idea_ids = [100 - 3 * i for i in range(n_ideas)]
    tally = ballot_tally(idea_ids=idea_ids, voter_index=voters, idea_index=ideas, value=values)
    assert tally.totals.sum() == sum(values)
    approvals = ballot_tally(
        idea_ids=idea_ids, voter_index=voters, idea_index=ideas, value=[1] * len(entries)
    )
    budget = budget_ranking(
        idea_ids=idea_ids, voter_index=voters, idea_index=ideas, value=values, n_replicates=200
    )
    for ranking in (approval_ranking(tally=approvals), rating_ranking(tally=tally), budget):
        assert_well_formed(ranking)
        assert sorted(ranked_ids(ranking)) == sorted(idea_ids)
        assert all(i.low <= i.score <= i.high for i in ranking)


comparisons_strategy = st.integers(min_value=2, max_value=6).flatmap(
    lambda n_ideas: st.tuples(
        st.just(n_ideas),
        st.lists(
            st.tuples(
                st.integers(0, n_ideas - 1),
                st.integers(1, n_ideas - 1),
                st.sampled_from([0.0, 0.5, 1.0]),
            ),
            max_size=60,
        ),
    )
)


@settings(max_examples=60, deadline=None)
@given(comparisons_strategy, st.booleans())
def test_pairwise_rankings_are_well_formed(
    case: tuple[int, list[tuple[int, int, float]]], undecided_as_half: bool
) -> None:
    n_ideas, comparisons = case
    first = [a for a, _, _ in comparisons]
    second = [(a + offset) % n_ideas for a, offset, _ in comparisons]
    tally = comparison_tally(
        idea_ids=list(range(n_ideas)),
        first_index=first,
        second_index=second,
        outcome=[o for _, _, o in comparisons],
    )
    ranking = pairwise_ranking(tally=tally, count_undecided_as_half=undecided_as_half)
    assert_well_formed(ranking)
    assert all(0.0 <= i.low <= i.score <= i.high <= 1.0 for i in ranking)
    assert all(0.0 < i.score < 1.0 for i in ranking)
    # p_ij + p_ji = 1, so the mean chances over all ideas sum to n / 2.
    assert sum(i.score for i in ranking) == pytest.approx(n_ideas / 2)
