"""Tests for voting.pairs: adaptive pair selection."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voting.pairs import next_pair


def simulate_exposure(
    *, n_ideas: int, n_voters: int, pairs_per_voter: int, adaptive: bool, seed: int
) -> np.ndarray:
    """How often each idea was shown after every voter judged some pairs."""
    rng = np.random.default_rng(seed)
    ids = np.arange(100, 100 + n_ideas)
    counts = np.zeros(n_ideas, dtype=np.int64)
    for _ in range(n_voters):
        seen: list[tuple[int, int]] = []
        for _ in range(pairs_per_voter):
            if adaptive:
                pair = next_pair(
                    idea_ids=ids, comparison_counts=counts, seen_pairs=seen, random_state=rng
                )
                assert pair is not None
            else:
                first, second = rng.choice(ids, size=2, replace=False)
                pair = (int(first), int(second))
            seen.append(pair)
            counts[[pair[0] - 100, pair[1] - 100]] += 1
    return counts


def test_adaptive_selection_evens_out_exposure() -> None:
    adaptive = simulate_exposure(
        n_ideas=60, n_voters=300, pairs_per_voter=10, adaptive=True, seed=1
    )
    uniform = simulate_exposure(
        n_ideas=60, n_voters=300, pairs_per_voter=10, adaptive=False, seed=1
    )
    assert adaptive.sum() == uniform.sum() == 6000
    assert adaptive.max() - adaptive.min() <= 5  # mean exposure is 100
    assert adaptive.max() - adaptive.min() < (uniform.max() - uniform.min()) / 4


def test_late_ideas_catch_up_first() -> None:
    ids = np.arange(10)
    counts = np.array([50] * 8 + [0, 0])
    rng = np.random.default_rng(2)
    for _ in range(20):
        pair = next_pair(idea_ids=ids, comparison_counts=counts, random_state=rng)
        assert pair is not None
        assert {8, 9} & set(pair)
        counts[list(pair)] += 1


def test_partner_is_drawn_inversely_to_its_comparisons() -> None:
    ids = np.arange(4)
    counts = np.array([0, 9, 9, 0.5])  # idea 0 is always the least compared
    rng = np.random.default_rng(3)
    partners = []
    for _ in range(3000):
        pair = next_pair(idea_ids=ids, comparison_counts=counts, random_state=rng)
        assert pair is not None
        partners.append(pair[0] + pair[1])  # the partner, since idea 0 is in every pair
    share_of_idea_3 = np.mean(np.array(partners) == 3)
    # weights 1/10, 1/10, 1/1.5 -> idea 3 is chosen with probability 0.769
    assert share_of_idea_3 == pytest.approx((1 / 1.5) / (0.2 + 1 / 1.5), abs=0.03)


def test_never_repeats_a_judged_pair_while_another_is_left() -> None:
    ids = [1, 2, 3, 4]
    all_pairs = list(itertools.combinations(ids, 2))
    seen = [pair for pair in all_pairs if pair != (2, 4)]
    for seed in range(25):
        pair = next_pair(
            idea_ids=ids, comparison_counts=[0, 0, 0, 0], seen_pairs=seen, random_state=seed
        )
        assert pair is not None
        assert set(pair) == {2, 4}


def test_repeats_a_pair_once_every_pair_was_judged() -> None:
    ids = [1, 2, 3]
    seen = [(2, 1), (1, 3), (3, 2)]
    pair = next_pair(idea_ids=ids, comparison_counts=[1, 1, 1], seen_pairs=seen)
    assert pair is not None
    assert len(set(pair)) == 2


def test_seen_pairs_with_unknown_ids_are_ignored() -> None:
    pair = next_pair(idea_ids=[1, 2], comparison_counts=[0, 0], seen_pairs=[(1, 99)])
    assert pair is not None
    assert set(pair) == {1, 2}


@pytest.mark.parametrize("idea_ids", [[], [5]])
def test_no_pair_with_fewer_than_two_ideas(idea_ids: list[int]) -> None:
    assert next_pair(idea_ids=idea_ids, comparison_counts=[0] * len(idea_ids)) is None


def test_both_display_orders_occur() -> None:
    orders = {
        next_pair(idea_ids=[1, 2], comparison_counts=[0, 0], random_state=seed)
        for seed in range(20)
    }
    assert orders == {(1, 2), (2, 1)}


def test_rejects_counts_that_do_not_match_the_ideas() -> None:
    with pytest.raises(ValueError, match="equally long"):
        next_pair(idea_ids=[1, 2, 3], comparison_counts=[0, 0])


@settings(max_examples=50, deadline=None)
@given(
    counts=st.lists(st.integers(0, 20), min_size=2, max_size=8),
    seed=st.integers(0, 2**32 - 1),
)
def test_pair_is_two_distinct_ideas_including_a_least_compared_one(
    counts: list[int], seed: int
) -> None:
    ids = [10 * i + 1 for i in range(len(counts))]
    pair = next_pair(idea_ids=ids, comparison_counts=counts, random_state=seed)
    again = next_pair(idea_ids=ids, comparison_counts=counts, random_state=seed)
    assert pair == again
    assert pair is not None
    assert pair[0] != pair[1]
    assert set(pair) <= set(ids)
    fewest = min(counts)
    assert any(counts[ids.index(idea)] == fewest for idea in pair)
