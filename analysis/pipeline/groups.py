"""Opinion groups from agree / disagree / pass votes, the way Pol.is finds them.

1. Missing votes are imputed with the statement's mean vote.
2. PCA to two components, fitted on participants with enough votes.
3. Each projection is scaled by ``sqrt(n_statements / n_voted)``: a sparse
   voter's position is otherwise pulled towards the centre by the imputed means.
4. Participants with fewer than ``min(min_votes, n_statements)`` votes get no group.
5. k-means into up to 100 "base clusters", then weighted k-means of their
   centres into k = 2..5 groups, k chosen by silhouette.

Votes come as (participant, statement, vote) triples, so the matrix stays
sparse: only seen statements are stored, centred on the statement's mean,
and the unseen ones are exactly the mean-imputed zeros.
"""

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import sparse
from scipy.stats import norm
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

AGREE, DISAGREE, PASS = 1, -1, 0
_BASE_CLUSTERS = 100
_Z_90 = float(norm.ppf(0.90))


@dataclass(frozen=True, slots=True)
class Votes:
    """Votes as parallel arrays, one entry per (participant, statement): the latest vote."""

    participants: np.ndarray
    statements: np.ndarray
    values: np.ndarray
    n_participants: int
    n_statements: int

    @classmethod
    def from_matrix(cls, matrix: np.ndarray) -> "Votes":
        """From a dense participants x statements array with NaN for unseen statements."""
        rows, cols = np.nonzero(~np.isnan(matrix))
        return cls(rows, cols, matrix[rows, cols], matrix.shape[0], matrix.shape[1])


@dataclass(frozen=True, slots=True)
class StatementStance:
    statement: int
    direction: Literal["agree", "disagree"]
    group_rate: float
    """Share of the group's votes on the statement in ``direction`` (Laplace-smoothed)."""
    other_rate: float
    """The same share among everyone outside the group."""
    z_score: float


@dataclass(frozen=True, slots=True)
class OpinionGroup:
    id: int
    members: tuple[int, ...]
    representative: tuple[StatementStance, ...]


@dataclass(frozen=True, slots=True)
class OpinionGroupsResult:
    assignments: tuple[int | None, ...]
    """Group per participant; ``None`` for those with too few votes."""
    groups: tuple[OpinionGroup, ...]
    consensus: tuple[int, ...]
    """Statements that every group agrees with, strongest first."""
    divisive: tuple[int, ...]
    """Statements whose agree rate differs most between groups, most divisive first."""
    projection: np.ndarray = field(repr=False)
    """Scaled 2-D position per participant; NaN for those without a group."""
    k_scores: dict[int, float] = field(default_factory=dict)


def find_opinion_groups(
    votes: Votes,
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 5),
    min_votes: int = 7,
    n_representative: int = 5,
    n_consensus: int = 5,
    n_divisive: int = 5,
    random_state: int = 0,
) -> OpinionGroupsResult:
    """Group participants by how they vote; deterministic for a fixed ``random_state``."""
    centred, voted = _centred_matrix(votes)
    eligible = voted >= min(min_votes, votes.n_statements)
    projection = np.full((votes.n_participants, 2), np.nan)
    if eligible.sum() < 3:
        return _empty_result(votes, projection)
    projection[eligible] = _scaled_projection(
        centred, voted, eligible, votes.n_statements, random_state
    )
    labels, k_scores = _cluster(projection[eligible], k, k_range, random_state)
    group_of = np.full(votes.n_participants, -1)
    group_of[eligible] = labels
    counts = _vote_counts(votes, group_of, int(labels.max()) + 1)
    groups = tuple(
        OpinionGroup(
            id=group,
            members=tuple(int(i) for i in np.flatnonzero(group_of == group)),
            representative=_representative(counts, group, n_representative),
        )
        for group in range(int(labels.max()) + 1)
    )
    return OpinionGroupsResult(
        assignments=tuple(None if g < 0 else int(g) for g in group_of),
        groups=groups,
        consensus=_consensus(counts, n_consensus),
        divisive=_divisive(counts, n_divisive),
        projection=projection,
        k_scores=k_scores,
    )


def _empty_result(votes: Votes, projection: np.ndarray) -> OpinionGroupsResult:
    return OpinionGroupsResult((None,) * votes.n_participants, (), (), (), projection)


def _centred_matrix(votes: Votes) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Votes minus the statement's mean vote (unseen: 0, the imputed mean); votes per person."""
    shape = (votes.n_participants, votes.n_statements)
    per_statement = np.bincount(votes.statements, minlength=votes.n_statements)
    sums = np.bincount(votes.statements, weights=votes.values, minlength=votes.n_statements)
    means = sums / np.maximum(per_statement, 1)
    centred = sparse.csr_matrix(
        (votes.values - means[votes.statements], (votes.participants, votes.statements)),
        shape=shape,
    )
    voted = np.bincount(votes.participants, minlength=votes.n_participants)
    return centred, voted


def _scaled_projection(
    centred: sparse.csr_matrix,
    voted: np.ndarray,
    eligible: np.ndarray,
    n_statements: int,
    random_state: int,
) -> np.ndarray:
    if min(centred.shape) < 3:  # arpack needs more than two dimensions
        dense = centred[eligible].toarray()
        pca = PCA(n_components=min(2, *dense.shape), random_state=random_state).fit(dense)
        positions = pca.transform(dense)
        positions = np.pad(positions, ((0, 0), (0, 2 - positions.shape[1])))
    else:
        pca = PCA(n_components=2, svd_solver="arpack", random_state=random_state)
        positions = pca.fit(centred[eligible]).transform(centred[eligible])
    scale = np.sqrt(n_statements / np.maximum(voted[eligible], 1))
    return positions * scale[:, None]


def _cluster(
    positions: np.ndarray, k: int | None, k_range: tuple[int, int], random_state: int
) -> tuple[np.ndarray, dict[int, float]]:
    """Base clusters, then groups of base clusters; returns a group per position."""
    n_distinct = len(np.unique(positions.round(9), axis=0))
    n_base = min(_BASE_CLUSTERS, n_distinct)
    base = KMeans(n_clusters=n_base, n_init=1, random_state=random_state).fit(positions)
    centres = base.cluster_centers_
    weights = np.bincount(base.labels_, minlength=n_base)
    candidates = [k] if k is not None else list(range(k_range[0], k_range[1] + 1))
    candidates = [c for c in candidates if 2 <= c < n_base] or [1]
    best: tuple[float, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for candidate in candidates:
        fitted = KMeans(n_clusters=candidate, n_init=10, random_state=random_state)
        labels = fitted.fit(centres, sample_weight=weights).labels_
        distinct = len(np.unique(labels))
        scores[candidate] = (
            float(silhouette_score(centres, labels)) if 1 < distinct < n_base else -1.0
        )
        if best is None or scores[candidate] > best[0]:
            best = (scores[candidate], labels)
    assert best is not None  # noqa: S101 - candidates is never empty
    return _ordered_by_size(best[1][base.labels_]), (scores if k is None else {})


def _ordered_by_size(labels: np.ndarray) -> np.ndarray:
    """Group 0 is the largest; ties keep the order of first appearance."""
    sizes = np.bincount(labels)
    order = sorted(range(len(sizes)), key=lambda g: (-sizes[g], int(np.argmax(labels == g))))
    lookup = np.empty(len(sizes), dtype=np.int64)
    lookup[order] = np.arange(len(sizes))
    return lookup[labels]


@dataclass(frozen=True, slots=True)
class _VoteCounts:
    """Per group (rows) and statement (columns): agrees, disagrees, all votes seen."""

    agree: np.ndarray
    disagree: np.ndarray
    seen: np.ndarray


def _vote_counts(votes: Votes, group_of: np.ndarray, n_groups: int) -> _VoteCounts:
    grouped = group_of[votes.participants] >= 0
    rows = group_of[votes.participants][grouped]
    cols = votes.statements[grouped]
    values = votes.values[grouped]

    def count(mask: np.ndarray) -> np.ndarray:
        matrix = sparse.coo_matrix(
            (np.ones(int(mask.sum())), (rows[mask], cols[mask])),
            shape=(n_groups, votes.n_statements),
        )
        return matrix.toarray()

    return _VoteCounts(
        agree=count(values == AGREE),
        disagree=count(values == DISAGREE),
        seen=count(np.ones(len(values), dtype=bool)),
    )


def _rate(hits: np.ndarray, seen: np.ndarray) -> np.ndarray:
    return (hits + 1.0) / (seen + 2.0)


def _two_proportion_z(
    hits_a: np.ndarray, seen_a: np.ndarray, hits_b: np.ndarray, seen_b: np.ndarray
) -> np.ndarray:
    """z statistic for "share a is larger than share b" (pooled, with a +1 / +2 prior)."""
    pa, pb = _rate(hits_a, seen_a), _rate(hits_b, seen_b)
    pooled = _rate(hits_a + hits_b, seen_a + seen_b)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / (seen_a + 2) + 1 / (seen_b + 2)))
    return (pa - pb) / spread


def _one_proportion_z(hits: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """z statistic for "more than half of those who saw it" (Pol.is's first repness test)."""
    return (2 * (hits + 1) - (seen + 2)) / np.sqrt(seen + 2)


def _representative(counts: _VoteCounts, group: int, limit: int) -> tuple[StatementStance, ...]:
    """Statements where the group differs most from everyone else, both tests at 90 %."""
    stances: list[tuple[float, StatementStance]] = []
    for direction, hits in (("agree", counts.agree), ("disagree", counts.disagree)):
        mine, my_seen = hits[group], counts.seen[group]
        others, others_seen = hits.sum(axis=0) - mine, counts.seen.sum(axis=0) - my_seen
        z_versus_rest = _two_proportion_z(mine, my_seen, others, others_seen)
        z_majority = _one_proportion_z(mine, my_seen)
        group_rate, other_rate = _rate(mine, my_seen), _rate(others, others_seen)
        passing = np.flatnonzero((z_versus_rest > _Z_90) & (z_majority > _Z_90))
        for statement in passing:
            strength = group_rate[statement] / other_rate[statement] * group_rate[statement]
            stance = StatementStance(
                statement=int(statement),
                direction=direction,  # type: ignore[arg-type]
                group_rate=float(group_rate[statement]),
                other_rate=float(other_rate[statement]),
                z_score=float(z_versus_rest[statement]),
            )
            stances.append((float(strength), stance))
    stances.sort(key=lambda pair: (-pair[0], pair[1].statement))
    return tuple(stance for _, stance in stances[:limit])


def _consensus(counts: _VoteCounts, limit: int) -> tuple[int, ...]:
    """Statements a majority of every group agrees with, by the product of agree rates."""
    rates = _rate(counts.agree, counts.seen)
    majority_everywhere = (_one_proportion_z(counts.agree, counts.seen) > _Z_90).all(axis=0)
    strength = np.where(majority_everywhere, np.prod(rates, axis=0), -1.0)
    order = np.argsort(-strength, kind="stable")
    return tuple(int(s) for s in order[:limit] if strength[s] > 0)


def _divisive(counts: _VoteCounts, limit: int) -> tuple[int, ...]:
    """Statements where the most and least agreeing groups differ significantly, widest first."""
    if counts.agree.shape[0] < 2:
        return ()
    rates = _rate(counts.agree, counts.seen)
    high, low = rates.argmax(axis=0), rates.argmin(axis=0)
    columns = np.arange(rates.shape[1])
    z = _two_proportion_z(
        counts.agree[high, columns],
        counts.seen[high, columns],
        counts.agree[low, columns],
        counts.seen[low, columns],
    )
    gap = np.where(z > _Z_90, rates[high, columns] - rates[low, columns], -1.0)
    order = np.argsort(-gap, kind="stable")
    return tuple(int(s) for s in order[:limit] if gap[s] > 0)
