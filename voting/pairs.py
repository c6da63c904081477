"""Adaptive pair selection for pairwise voting: pure NumPy, no Django.

The next pair always contains one of the least-compared ideas, so ideas that
joined late or were unlucky catch up; its partner is drawn with probability
inversely proportional to (comparisons + 1), which favours other
under-exposed ideas without making the partner predictable. A voter is never
shown a pair they already judged while an unseen pair exists.
"""

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

RandomState = int | np.random.Generator


def next_pair(
    *,
    idea_ids: npt.ArrayLike,
    comparison_counts: npt.ArrayLike,
    seen_pairs: Iterable[tuple[int, int]] = (),
    random_state: RandomState = 0,
) -> tuple[int, int] | None:
    """The next (left, right) pair of idea ids to show a voter, or None.

    ``comparison_counts[i]`` is how often ``idea_ids[i]`` has been compared so
    far (by anyone); ``seen_pairs`` holds the id pairs this voter already
    judged, in either order. Ids in ``seen_pairs`` that are not in the round
    are ignored. Returns None when the round has fewer than two ideas. The
    left/right order is random, so neither side is favoured by position.
    """
    ids = np.asarray(idea_ids, dtype=np.int64)
    counts = np.asarray(comparison_counts, dtype=np.float64)
    if ids.ndim != 1 or counts.shape != ids.shape:
        raise ValueError("idea_ids and comparison_counts must be 1-d and equally long")
    if np.any(counts < 0):
        raise ValueError("comparison_counts must be non-negative")
    if ids.size < 2:
        return None
    rng = np.random.default_rng(random_state)
    seen = _seen_partners(ids, seen_pairs)
    anchor = _least_compared(counts, _with_unseen_partner(seen, ids.size), rng)
    partner = _inverse_count_partner(counts, anchor, seen.get(anchor, set()), rng)
    left, right = (anchor, partner) if rng.random() < 0.5 else (partner, anchor)
    return int(ids[left]), int(ids[right])


def _seen_partners(
    ids: npt.NDArray[np.int64], seen_pairs: Iterable[tuple[int, int]]
) -> dict[int, set[int]]:
    """For each idea index, the indices this voter already saw it paired with."""
    position = {int(idea_id): index for index, idea_id in enumerate(ids)}
    partners: dict[int, set[int]] = {}
    for first_id, second_id in seen_pairs:
        first, second = position.get(int(first_id)), position.get(int(second_id))
        if first is None or second is None or first == second:
            continue
        partners.setdefault(first, set()).add(second)
        partners.setdefault(second, set()).add(first)
    return partners


def _with_unseen_partner(seen: dict[int, set[int]], n_ideas: int) -> npt.NDArray[np.bool_]:
    """Ideas that still have a partner the voter has not judged them against.

    If the voter has judged every pair, every idea qualifies again: a repeat
    is then unavoidable.
    """
    eligible = np.ones(n_ideas, dtype=bool)
    for idea, partners in seen.items():
        eligible[idea] = len(partners) < n_ideas - 1
    return eligible if eligible.any() else np.ones(n_ideas, dtype=bool)


def _least_compared(
    counts: npt.NDArray[np.float64], eligible: npt.NDArray[np.bool_], rng: np.random.Generator
) -> int:
    """A uniformly random choice among the eligible ideas with the fewest comparisons."""
    fewest = counts[eligible].min()
    (candidates,) = np.nonzero(eligible & (counts == fewest))
    return int(rng.choice(candidates))


def _inverse_count_partner(
    counts: npt.NDArray[np.float64],
    anchor: int,
    already_seen_with_anchor: set[int],
    rng: np.random.Generator,
) -> int:
    """A partner for ``anchor``, drawn with weight 1 / (comparisons + 1)."""
    allowed = np.ones(counts.size, dtype=bool)
    allowed[anchor] = False
    unseen = allowed.copy()
    unseen[list(already_seen_with_anchor)] = False
    (candidates,) = np.nonzero(unseen if unseen.any() else allowed)
    weights = 1.0 / (counts[candidates] + 1.0)
    return int(rng.choice(candidates, p=weights / weights.sum()))
