"""Ranking math for the voting phase: pure NumPy/SciPy, no Django.

A service loads a round's ballot entries as arrays (voter index, idea index,
value), builds a tally and calls one of the ranking functions below. Every
ranking function returns one ``RankedIdea`` per idea, best first. Methods and
their justification are described in ``docs/voting.md``.

Indices, not database ids, go into the math: ``idea_index`` points into the
round's ``idea_ids`` array and ``voter_index`` is a dense voter number
(``dense_index`` turns database ids into both).
"""

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import linalg, special, stats
from threadpoolctl import threadpool_limits

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
RandomState = int | np.random.Generator

# Sort keys are rounded to this many decimals so that scores equal up to
# floating-point noise fall through to the documented tie-break.
SORT_KEY_DECIMALS: Final = 9
NEWTON_TOLERANCE: Final = 1e-9
MAX_NEWTON_STEPS: Final = 100
MAX_STEP_HALVINGS: Final = 40


@dataclass(frozen=True, slots=True)
class RankedIdea:
    """One idea's place in a ranking.

    ``score`` is what the ranking sorts by; ``low``/``high`` bound its
    uncertainty interval. ``total`` is the raw tally (approvals, stars,
    points or wins) and ``n`` the number of ballots, ratings, givers or
    comparisons behind the score. Ideas whose interval overlaps the previous
    idea's interval are ``tied_with_previous``; a chain of such overlaps forms
    one ``tie_group`` (numbered from 1, in rank order).
    """

    idea_id: int
    rank: int
    score: float
    low: float
    high: float
    total: float
    n: int
    tie_group: int
    tied_with_previous: bool


@dataclass(frozen=True, slots=True, eq=False)
class BallotTally:
    """Per-idea aggregates of a round's ballot entries: the published tally.

    ``totals`` is the sum of values per idea, ``counts`` the number of entries,
    ``squares`` the sum of squared values (rating intervals need it) and
    ``n_ballots`` the number of voters who cast at least one entry. The arrays
    are copied and made read-only, so a tally cannot change after it is built.
    """

    idea_ids: IntArray
    totals: FloatArray
    counts: IntArray
    squares: FloatArray
    n_ballots: int

    def __post_init__(self) -> None:
        _freeze(self, "idea_ids", np.int64)
        _freeze(self, "totals", np.float64)
        _freeze(self, "counts", np.int64)
        _freeze(self, "squares", np.float64)
        _check_unique_ids(self.idea_ids)
        shape = self.idea_ids.shape
        if not self.totals.shape == self.counts.shape == self.squares.shape == shape:
            raise ValueError("idea_ids, totals, counts and squares must have the same length")
        if self.n_ballots < 0 or np.any(self.counts < 0):
            raise ValueError("counts and n_ballots must be non-negative")

    def rows(self) -> list[dict[str, int | float]]:
        """The tally as plain rows, ready to publish as JSON."""
        return [
            {
                "idea_id": int(idea_id),
                "total": float(total),
                "count": int(count),
                "squares": float(sq),
            }
            for idea_id, total, count, sq in zip(
                self.idea_ids, self.totals, self.counts, self.squares, strict=True
            )
        ]


@dataclass(frozen=True, slots=True, eq=False)
class ComparisonTally:
    """Pairwise outcomes aggregated per unordered pair of ideas.

    Each row is a pair ``first < second`` (indices into ``idea_ids``) that was
    shown at least once, with how often each side won and how often the voter
    could not decide. A Bradley-Terry fit depends on nothing else, so the
    published tally re-derives the ranking exactly.
    """

    idea_ids: IntArray
    first: IntArray
    second: IntArray
    first_wins: IntArray
    second_wins: IntArray
    undecided: IntArray

    def __post_init__(self) -> None:
        for name in ("idea_ids", "first", "second", "first_wins", "second_wins", "undecided"):
            _freeze(self, name, np.int64)
        _check_unique_ids(self.idea_ids)
        shape = self.first.shape
        columns = (self.second, self.first_wins, self.second_wins, self.undecided)
        if any(column.shape != shape for column in columns):
            raise ValueError("pair columns must have the same length")
        if np.any(self.first >= self.second) or np.any(self.first < 0):
            raise ValueError("pairs must satisfy 0 <= first < second")
        if np.any(self.second >= self.idea_ids.size):
            raise ValueError("pair index outside idea_ids")
        if min((column.min(initial=0) for column in columns[1:]), default=0) < 0:
            raise ValueError("win and undecided counts must be non-negative")

    def rows(self) -> list[dict[str, int]]:
        """The tally as plain rows keyed by idea id, ready to publish as JSON."""
        ids = self.idea_ids
        return [
            {
                "first_id": int(ids[a]),
                "second_id": int(ids[b]),
                "first_wins": int(wa),
                "second_wins": int(wb),
                "undecided": int(u),
            }
            for a, b, wa, wb, u in zip(
                self.first,
                self.second,
                self.first_wins,
                self.second_wins,
                self.undecided,
                strict=True,
            )
        ]


# --- input encoding ---------------------------------------------------------


def dense_index(*, ids: npt.ArrayLike, universe: npt.ArrayLike | None = None) -> IntArray:
    """Position of each id in ``universe`` (or in the sorted distinct ``ids``).

    With a universe (the round's idea ids) an id missing from it is an error.
    Without one, ids are numbered 0..k-1 in ascending order, which turns voter
    ids into the dense voter indices the ranking functions expect.
    """
    values = np.asarray(ids, dtype=np.int64)
    if universe is None:
        _, inverse = np.unique(values, return_inverse=True)
        return inverse.astype(np.int64, copy=False)
    known = np.asarray(universe, dtype=np.int64)
    order = np.argsort(known, kind="stable")
    sorted_known = known[order]
    slots = np.minimum(np.searchsorted(sorted_known, values), max(known.size - 1, 0))
    if values.size and (known.size == 0 or np.any(sorted_known[slots] != values)):
        raise ValueError("some ids are not in the universe")
    return order[slots].astype(np.int64, copy=False)


def ballot_tally(
    *,
    idea_ids: npt.ArrayLike,
    voter_index: npt.ArrayLike,
    idea_index: npt.ArrayLike,
    value: npt.ArrayLike,
    n_ballots: int | None = None,
) -> BallotTally:
    """Totals, counts and squared totals per idea, plus the number of ballots.

    ``n_ballots`` defaults to the number of distinct voters among the entries;
    pass it when ballots can be cast without entries (an empty approval).
    """
    ids = np.asarray(idea_ids, dtype=np.int64)
    voters, ideas, values = _entries(ids.size, voter_index, idea_index, value)
    return BallotTally(
        idea_ids=ids,
        totals=np.bincount(ideas, weights=values, minlength=ids.size),
        counts=np.bincount(ideas, minlength=ids.size),
        squares=np.bincount(ideas, weights=values * values, minlength=ids.size),
        n_ballots=_count_distinct(voters) if n_ballots is None else n_ballots,
    )


def comparison_tally(
    *,
    idea_ids: npt.ArrayLike,
    first_index: npt.ArrayLike,
    second_index: npt.ArrayLike,
    outcome: npt.ArrayLike,
) -> ComparisonTally:
    """Aggregate pairwise judgements per unordered pair.

    ``outcome`` is 1 when the first idea was preferred, 0 when the second was
    and 0.5 when the voter could not decide.
    """
    ids = np.asarray(idea_ids, dtype=np.int64)
    first = np.asarray(first_index, dtype=np.int64)
    second = np.asarray(second_index, dtype=np.int64)
    result = np.asarray(outcome, dtype=np.float64)
    _check_comparisons(ids.size, first, second, result)
    low, high = np.minimum(first, second), np.maximum(first, second)
    low_won = np.where(first < second, result == 1.0, result == 0.0)
    decided = result != 0.5
    key = low * ids.size + high
    cells = ids.size * ids.size
    low_wins = np.bincount(key, weights=low_won, minlength=cells)
    high_wins = np.bincount(key, weights=decided & ~low_won, minlength=cells)
    undecided = np.bincount(key, weights=~decided, minlength=cells)
    (shown,) = np.nonzero(low_wins + high_wins + undecided)
    return ComparisonTally(
        idea_ids=ids,
        first=shown // max(ids.size, 1),
        second=shown % max(ids.size, 1),
        first_wins=low_wins[shown].astype(np.int64),
        second_wins=high_wins[shown].astype(np.int64),
        undecided=undecided[shown].astype(np.int64),
    )


# --- approval ---------------------------------------------------------------


def wilson_interval(
    *, successes: npt.ArrayLike, trials: npt.ArrayLike, confidence: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Wilson score interval for a binomial proportion; [0, 1] when trials == 0."""
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    if np.any(k < 0) or np.any(k > n):
        raise ValueError("successes must lie between 0 and trials")
    z = _z_value(confidence)
    safe_n = np.where(n > 0, n, 1.0)
    share = k / safe_n
    denominator = 1.0 + z * z / safe_n
    centre = (share + z * z / (2.0 * safe_n)) / denominator
    half_width = (
        z / denominator * np.sqrt(share * (1.0 - share) / safe_n + z * z / (4.0 * safe_n**2))
    )
    low = np.where(n > 0, np.clip(centre - half_width, 0.0, 1.0), 0.0)
    high = np.where(n > 0, np.clip(centre + half_width, 0.0, 1.0), 1.0)
    return low, high


def approval_ranking(*, tally: BallotTally, confidence: float = 0.95) -> list[RankedIdea]:
    """Rank by the Wilson lower bound of the share of ballots approving each idea.

    ``tally.totals`` are approval counts and ``tally.n_ballots`` the number of
    ballots; the score equals the interval's lower end.
    """
    low, high = wilson_interval(
        successes=tally.totals, trials=tally.n_ballots, confidence=confidence
    )
    n = np.full(tally.idea_ids.size, tally.n_ballots, dtype=np.int64)
    return rank_ideas(
        idea_ids=tally.idea_ids, score=low, low=low, high=high, total=tally.totals, n=n
    )


# --- rating -----------------------------------------------------------------


def rating_ranking(
    *,
    tally: BallotTally,
    prior_weight: float = 5.0,
    scale_min: float = 1.0,
    scale_max: float = 5.0,
    confidence: float = 0.95,
) -> list[RankedIdea]:
    """Rank by the Bayesian average of star ratings.

    Each idea starts with ``prior_weight`` pseudo-ratings at the round's mean
    rating, so ideas with few ratings are pulled toward that mean. The
    interval is a normal interval for the posterior mean, using the idea's
    spread of ratings shrunk toward the round's spread with the same weight.
    """
    if prior_weight <= 0:
        raise ValueError("prior_weight must be positive")
    counts = tally.counts.astype(np.float64)
    _check_rating_scale(tally, counts, scale_min, scale_max)
    round_mean, round_variance = _round_mean_and_variance(tally, scale_min, scale_max)
    weight = counts + prior_weight
    posterior_mean = (tally.totals + prior_weight * round_mean) / weight
    safe_counts = np.where(counts > 0, counts, 1.0)
    within_spread = np.maximum(tally.squares - tally.totals**2 / safe_counts, 0.0)
    variance = (within_spread + prior_weight * round_variance) / weight
    half_width = _z_value(confidence) * np.sqrt(variance / weight)
    low = np.clip(posterior_mean - half_width, scale_min, scale_max)
    high = np.clip(posterior_mean + half_width, scale_min, scale_max)
    return rank_ideas(
        idea_ids=tally.idea_ids,
        score=posterior_mean,
        low=low,
        high=high,
        total=tally.totals,
        n=tally.counts,
    )


def _round_mean_and_variance(
    tally: BallotTally, scale_min: float, scale_max: float
) -> tuple[float, float]:
    """Mean and variance of all ratings; the scale's centre and spread without any."""
    n_ratings = float(tally.counts.sum())
    if n_ratings == 0:
        return (scale_min + scale_max) / 2.0, (scale_max - scale_min) ** 2 / 12.0
    mean = float(tally.totals.sum()) / n_ratings
    variance = max(float(tally.squares.sum()) / n_ratings - mean * mean, 0.0)
    if variance == 0.0:
        variance = (scale_max - scale_min) ** 2 / 12.0
    return mean, variance


def _check_rating_scale(
    tally: BallotTally, counts: FloatArray, scale_min: float, scale_max: float
) -> None:
    if scale_min >= scale_max:
        raise ValueError("scale_min must be below scale_max")
    rated = counts > 0
    means = tally.totals[rated] / counts[rated]
    if np.any(means < scale_min - 1e-9) or np.any(means > scale_max + 1e-9):
        raise ValueError("ratings outside the scale")


# --- budget (dots) ----------------------------------------------------------


def budget_ranking(
    *,
    idea_ids: npt.ArrayLike,
    voter_index: npt.ArrayLike,
    idea_index: npt.ArrayLike,
    value: npt.ArrayLike,
    n_replicates: int = 500,
    confidence: float = 0.95,
    random_state: RandomState = 0,
) -> list[RankedIdea]:
    """Rank by total points, with a percentile interval from a voter bootstrap.

    The bootstrap gives every voter a Poisson(1) weight per replicate. Within
    one idea, the voters who gave it k points then contribute k times a sum of
    Poisson(1) weights, which is a single Poisson(count) draw; so each
    replicate needs one draw per (idea, distinct point value), not one per
    voter, and yields exactly the per-idea distribution of the voter bootstrap.
    Entries repeating a (voter, idea) pair are summed first.
    """
    if n_replicates < 1:
        raise ValueError("n_replicates must be at least 1")
    ids = np.asarray(idea_ids, dtype=np.int64)
    _check_unique_ids(ids)
    voters, ideas, values = _entries(ids.size, voter_index, idea_index, value)
    if np.any(values < 0) or np.any(values != np.round(values)):
        raise ValueError("budget points must be non-negative whole numbers")
    ideas, values = _merge_repeated_entries(voters, ideas, values, ids.size)
    totals = np.bincount(ideas, weights=values, minlength=ids.size)
    givers = np.bincount(ideas[values > 0], minlength=ids.size)
    rng = np.random.default_rng(random_state)
    replicates = _poisson_bootstrap_totals(ideas, values, ids.size, n_replicates, rng)
    tail = (1.0 - _checked_confidence(confidence)) / 2.0 * 100.0
    low, high = np.percentile(replicates, [tail, 100.0 - tail], axis=1)
    return rank_ideas(idea_ids=ids, score=totals, low=low, high=high, total=totals, n=givers)


def _merge_repeated_entries(
    voters: IntArray, ideas: IntArray, values: FloatArray, n_ideas: int
) -> tuple[IntArray, FloatArray]:
    """Sum entries sharing a (voter, idea) pair; they share one bootstrap weight."""
    if ideas.size == 0:
        return ideas, values
    key = voters * n_ideas + ideas
    sorted_key = np.sort(key)
    if np.all(sorted_key[1:] != sorted_key[:-1]):
        return ideas, values
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    merged_values = np.add.reduceat(values[order], starts)
    return (sorted_key[starts] % n_ideas).astype(np.int64), merged_values


def _poisson_bootstrap_totals(
    ideas: IntArray,
    values: FloatArray,
    n_ideas: int,
    n_replicates: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Replicate totals per idea, shape (n_ideas, n_replicates)."""
    positive = values > 0
    ideas, points = ideas[positive], values[positive].astype(np.int64)
    replicates = np.zeros((n_ideas, n_replicates))
    if ideas.size == 0:
        return replicates
    cell_idea, cell_points, cell_count = _count_cells(ideas, points, n_ideas)
    draws = rng.poisson(cell_count[:, None], size=(cell_count.size, n_replicates))
    np.multiply(draws, cell_points[:, None], out=draws)
    starts = np.flatnonzero(np.r_[True, cell_idea[1:] != cell_idea[:-1]])
    replicates[cell_idea[starts]] = np.add.reduceat(draws, starts, axis=0)
    return replicates


def _count_cells(
    ideas: IntArray, points: IntArray, n_ideas: int
) -> tuple[IntArray, IntArray, IntArray]:
    """How many entries gave each idea each point value, sorted by idea."""
    span = int(points.max()) + 1
    if n_ideas * span <= 4 * ideas.size + 1_000_000:
        counts = np.bincount(ideas * span + points, minlength=n_ideas * span)
        (cells,) = np.nonzero(counts)
        return cells // span, cells % span, counts[cells]
    key = np.sort(ideas * span + points)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    cell_count = np.diff(np.r_[starts, key.size])
    return key[starts] // span, key[starts] % span, cell_count


# --- pairwise (Bradley-Terry) -----------------------------------------------


def pairwise_ranking(
    *,
    tally: ComparisonTally,
    prior_comparisons: float = 2.0,
    count_undecided_as_half: bool = False,
    confidence: float = 0.95,
) -> list[RankedIdea]:
    """Rank by a Bradley-Terry fit: the chance of beating a random other idea.

    Each idea also plays ``prior_comparisons`` virtual comparisons (half won,
    half lost) against a fixed idea of average strength, which keeps ideas
    with only wins, only losses or no comparisons finite and pins the scale.
    The fit is Newton's method on the log posterior; the interval is a normal
    interval from the inverse Fisher information, carried to the score by the
    delta method.
    """
    if prior_comparisons <= 0:
        raise ValueError("prior_comparisons must be positive")
    ids = tally.idea_ids
    if ids.size < 2:
        return _single_idea_ranking(ids)
    wins = _win_matrix(tally, count_undecided_as_half)
    # The matrices are about n_ideas x n_ideas: one BLAS thread is as fast as
    # two on an idle machine and several times faster on a busy one (see
    # docs/voting.md), so the fit does not fight the server for cores.
    with threadpool_limits(limits=1, user_api="blas"):
        strength, information = _fit_bradley_terry(wins, prior_comparisons / 2.0)
        beat = special.expit(strength[:, None] - strength[None, :])
        np.fill_diagonal(beat, 0.0)
        variance = _score_variance(beat, information)
    score = beat.sum(axis=1) / (ids.size - 1)
    half_width = _z_value(confidence) * np.sqrt(variance)
    return rank_ideas(
        idea_ids=ids,
        score=score,
        low=np.clip(score - half_width, 0.0, 1.0),
        high=np.clip(score + half_width, 0.0, 1.0),
        total=wins.sum(axis=1),
        n=np.rint((wins + wins.T).sum(axis=1)).astype(np.int64),
    )


def _single_idea_ranking(ids: IntArray) -> list[RankedIdea]:
    """With fewer than two ideas there is nothing to beat: a coin flip, fully uncertain."""
    none = np.zeros(ids.size)
    return rank_ideas(idea_ids=ids, score=none + 0.5, low=none, high=none + 1.0, total=none, n=none)


def _win_matrix(tally: ComparisonTally, count_undecided_as_half: bool) -> FloatArray:
    """wins[i, j] = how often idea i was preferred to idea j."""
    n_ideas = tally.idea_ids.size
    half = 0.5 * tally.undecided if count_undecided_as_half else 0.0
    wins = np.zeros((n_ideas, n_ideas))
    wins[tally.first, tally.second] = tally.first_wins + half
    wins[tally.second, tally.first] = tally.second_wins + half
    return wins


def _fit_bradley_terry(
    wins: FloatArray, half_prior: float
) -> tuple[FloatArray, tuple[FloatArray, bool]]:
    """Log-strengths maximising the posterior, and the Cholesky factor of the information."""
    comparisons = wins + wins.T
    won = wins.sum(axis=1)
    lost = wins.sum(axis=0)
    strength = np.log((won + half_prior) / (lost + half_prior))
    value = _log_posterior(strength, wins, half_prior)
    for _ in range(MAX_NEWTON_STEPS):
        gradient, information = _posterior_slope_and_information(
            strength, won, comparisons, half_prior
        )
        factor = linalg.cho_factor(information, check_finite=False)
        step = linalg.cho_solve(factor, gradient, check_finite=False)
        if np.max(np.abs(step)) < NEWTON_TOLERANCE:
            return strength, factor
        candidate, candidate_value = _damped_step(strength, value, step, gradient, wins, half_prior)
        if candidate_value <= value:
            # No gain left at floating-point resolution: an ill-conditioned
            # direction (a tiny prior) leaves only rounding noise in the step.
            return strength, factor
        strength, value = candidate, candidate_value
    raise ArithmeticError("Bradley-Terry fit did not converge")


def _posterior_slope_and_information(
    strength: FloatArray, won: FloatArray, comparisons: FloatArray, half_prior: float
) -> tuple[FloatArray, FloatArray]:
    beat = special.expit(strength[:, None] - strength[None, :])
    against_average = special.expit(strength)
    gradient = won - (comparisons * beat).sum(axis=1) + half_prior * (1 - 2 * against_average)
    weights = comparisons * beat * beat.T
    information = -weights
    information[np.diag_indices_from(information)] = (
        weights.sum(axis=1)
        - np.diag(weights)
        + 2 * half_prior * against_average * (1 - against_average)
    )
    return gradient, information


def _log_posterior(strength: FloatArray, wins: FloatArray, half_prior: float) -> float:
    pairwise = float((wins * special.log_expit(strength[:, None] - strength[None, :])).sum())
    prior = half_prior * float((special.log_expit(strength) + special.log_expit(-strength)).sum())
    return pairwise + prior


def _damped_step(
    strength: FloatArray,
    value: float,
    step: FloatArray,
    gradient: FloatArray,
    wins: FloatArray,
    half_prior: float,
) -> tuple[FloatArray, float]:
    """Halve the Newton step until the log posterior rises enough (Armijo rule).

    ``value`` is the log posterior at ``strength``; the new point and its
    value are returned. Rounding slack keeps tiny final steps from being
    rejected when the rise is below floating-point resolution.
    """
    slope = float(gradient @ step)
    slack = 1e-12 * max(1.0, abs(value))
    size = 1.0
    for _ in range(MAX_STEP_HALVINGS):
        candidate = strength + size * step
        candidate_value = _log_posterior(candidate, wins, half_prior)
        if candidate_value >= value + 1e-4 * size * slope - slack:
            break
        size /= 2.0
    return candidate, candidate_value


def _score_variance(beat: FloatArray, information: tuple[FloatArray, bool]) -> FloatArray:
    """Delta-method variance of each idea's mean chance of beating the others."""
    n_ideas = beat.shape[0]
    slope = beat * beat.T / (n_ideas - 1)
    np.fill_diagonal(slope, 0.0)
    gradient = -slope
    gradient[np.diag_indices_from(gradient)] = slope.sum(axis=1)
    solved = linalg.cho_solve(information, gradient.T, check_finite=False)
    variance: FloatArray = np.einsum("ik,ki->i", gradient, solved)
    return np.maximum(variance, 0.0)


# --- shared -----------------------------------------------------------------


def rank_ideas(
    *,
    idea_ids: npt.ArrayLike,
    score: npt.ArrayLike,
    low: npt.ArrayLike,
    high: npt.ArrayLike,
    total: npt.ArrayLike,
    n: npt.ArrayLike,
) -> list[RankedIdea]:
    """Order ideas and mark statistical ties; every ranking function ends here.

    Order: score descending, then interval low descending, then total
    descending, then idea id ascending (values are compared after rounding to
    ``SORT_KEY_DECIMALS`` decimals so floating-point noise does not decide).
    An idea is ``tied_with_previous`` when its interval overlaps the interval
    of the idea ranked just above it.
    """
    ids = np.asarray(idea_ids, dtype=np.int64)
    scores, lows, highs, totals = (
        np.asarray(column, dtype=np.float64) for column in (score, low, high, total)
    )
    sizes = np.asarray(n, dtype=np.int64)
    if any(column.shape != ids.shape for column in (scores, lows, highs, totals, sizes)):
        raise ValueError("all columns must have the length of idea_ids")
    order = np.lexsort(
        (
            ids,
            -np.round(totals, SORT_KEY_DECIMALS),
            -np.round(lows, SORT_KEY_DECIMALS),
            -np.round(scores, SORT_KEY_DECIMALS),
        )
    )
    low_sorted, high_sorted = lows[order], highs[order]
    tied = np.zeros(order.size, dtype=bool)
    tied[1:] = _overlaps(low_sorted[1:], high_sorted[1:], low_sorted[:-1], high_sorted[:-1])
    tie_group = _tie_groups(low_sorted, high_sorted)
    return [
        RankedIdea(
            idea_id=int(ids[i]),
            rank=position + 1,
            score=float(scores[i]),
            low=float(lows[i]),
            high=float(highs[i]),
            total=float(totals[i]),
            n=int(sizes[i]),
            tie_group=tie_group[position],
            tied_with_previous=bool(tied[position]),
        )
        for position, i in enumerate(order)
    ]


def _overlaps(
    low: FloatArray, high: FloatArray, other_low: FloatArray, other_high: FloatArray
) -> npt.NDArray[np.bool_]:
    return (low <= other_high) & (other_low <= high)


def _tie_groups(low: FloatArray, high: FloatArray) -> list[int]:
    """Group numbers in rank order: an idea joins the current group while its
    interval overlaps the interval of the group's first (best) idea.

    Anchoring on the group's first idea, rather than chaining neighbours,
    keeps a long run of slightly different ideas from collapsing into one
    group.
    """
    groups: list[int] = []
    group = 0
    leader = 0
    for position in range(low.size):
        tied_to_leader = low[position] <= high[leader] and low[leader] <= high[position]
        if position == 0 or not tied_to_leader:
            group += 1
            leader = position
        groups.append(group)
    return groups


def _entries(
    n_ideas: int,
    voter_index: npt.ArrayLike,
    idea_index: npt.ArrayLike,
    value: npt.ArrayLike,
) -> tuple[IntArray, IntArray, FloatArray]:
    voters = np.asarray(voter_index, dtype=np.int64)
    ideas = np.asarray(idea_index, dtype=np.int64)
    values = np.asarray(value, dtype=np.float64)
    if not voters.shape == ideas.shape == values.shape or voters.ndim != 1:
        raise ValueError("voter_index, idea_index and value must be 1-d and equally long")
    if ideas.size and (ideas.min() < 0 or ideas.max() >= n_ideas):
        raise ValueError("idea_index outside idea_ids")
    if voters.size and voters.min() < 0:
        raise ValueError("voter_index must be non-negative")
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite")
    return voters, ideas, values


def _check_comparisons(
    n_ideas: int, first: IntArray, second: IntArray, outcome: FloatArray
) -> None:
    if not first.shape == second.shape == outcome.shape or first.ndim != 1:
        raise ValueError("first_index, second_index and outcome must be 1-d and equally long")
    if first.size == 0:
        return
    if min(first.min(), second.min()) < 0 or max(first.max(), second.max()) >= n_ideas:
        raise ValueError("comparison index outside idea_ids")
    if np.any(first == second):
        raise ValueError("an idea cannot be compared with itself")
    if not np.all((outcome == 0.0) | (outcome == 0.5) | (outcome == 1.0)):
        raise ValueError("outcome must be 0, 0.5 or 1")


def _check_unique_ids(ids: IntArray) -> None:
    if ids.ndim != 1:
        raise ValueError("idea_ids must be 1-d")
    sorted_ids = np.sort(ids)
    if np.any(sorted_ids[1:] == sorted_ids[:-1]):
        raise ValueError("idea_ids must be unique")


def _count_distinct(voters: IntArray) -> int:
    if voters.size == 0:
        return 0
    if int(voters.max()) <= 4 * voters.size + 1_000_000:
        return int(np.count_nonzero(np.bincount(voters)))
    sorted_voters = np.sort(voters)
    return int(1 + np.count_nonzero(sorted_voters[1:] != sorted_voters[:-1]))


def _checked_confidence(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    return confidence


def _z_value(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + _checked_confidence(confidence) / 2.0))


def _freeze(instance: object, name: str, dtype: type[np.generic]) -> None:
    array = np.array(getattr(instance, name), dtype=dtype)
    array.setflags(write=False)
    object.__setattr__(instance, name, array)
