"""Opinion groups from agree / disagree / pass votes, the way Pol.is finds them.

Following Pol.is's math (``polismath``: ``conversation.clj``, ``pca.clj``,
``clusters.clj``), written afresh:

1. Missing votes are imputed with the statement's mean vote. A statement the
   moderators took out stays a column, but every cell of it is set to 0
   (Pol.is's ``zero-out-columns``): it no longer moves anyone, yet it still
   counts as seen by everyone in step 3.
2. PCA to two components, fitted on every participant, as Pol.is does; each
   participant's position is the dot product of their own centred votes with
   the components (unseen statements add nothing).
3. Each position is scaled by ``sqrt(columns / columns seen)``: a sparse
   voter's position is otherwise pulled towards the centre by the imputed
   means. With statements moderated out, "seen" includes those columns.
4. Participants "in the conversation" have voted at least
   ``min(min_votes, columns)`` times (votes on moderated-out statements
   count); if fewer than 15 are, the most active voters are added up to 15.
   The others get no group.
5. k-means into up to 100 "base clusters", then weighted k-means of their
   centres into k groups, k from 2 to ``min(5, 2 + base clusters // 12)``
   chosen by the silhouette of the base-cluster centres.

Votes come as (participant, statement, vote) triples, so the matrix stays
sparse: only seen statements are stored, centred on the statement's mean,
and the unseen ones are exactly the mean-imputed zeros.
"""

from collections.abc import Collection
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
_MIN_IN_CONVERSATION = 15
"""Pol.is's ``greedy-n``: below this many eligible voters, the most active join."""
_BASE_CLUSTERS_PER_EXTRA_GROUP = 12
"""Pol.is's ``max-k-fn``: one more candidate k per 12 base clusters above 2."""
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
    moderated_out: Collection[int] = (),
    n_representative: int = 5,
    n_consensus: int = 5,
    n_divisive: int = 5,
    random_state: int = 0,
) -> OpinionGroupsResult:
    """Group participants by how they vote; deterministic for a fixed ``random_state``.

    ``moderated_out`` lists statements the moderators removed whose votes are
    still in ``votes``: they are handled as Pol.is does (see the module
    docstring) and are never representative, consensus or divisive.
    """
    out = np.asarray(list(moderated_out), dtype=np.int64)
    if ((out < 0) | (out >= votes.n_statements)).any():
        raise ValueError("moderated_out holds a statement index outside the vote matrix")
    moderated = np.zeros(votes.n_statements, dtype=bool)
    moderated[out] = True
    kept = ~moderated[votes.statements]
    centred, voted = _centred_matrix(votes, kept)
    columns = np.bincount(votes.statements, minlength=votes.n_statements) > 0
    n_columns = int(columns.sum())
    seen = voted + int((columns & moderated).sum())
    eligible = _in_conversation(
        np.bincount(votes.participants, minlength=votes.n_participants),
        min(min_votes, n_columns),
    )
    projection = np.full((votes.n_participants, 2), np.nan)
    if eligible.sum() < 3:
        return _empty_result(votes, projection)
    positions = _project(centred, random_state)[eligible]
    projection[eligible] = positions * np.sqrt(n_columns / np.maximum(seen[eligible], 1))[:, None]
    clustered = _cluster(projection[eligible], k, k_range, random_state)
    if clustered is None:
        return _empty_result(votes, projection)
    labels, k_scores = clustered
    group_of = np.full(votes.n_participants, -1)
    group_of[eligible] = labels
    counts = _vote_counts(votes, kept, group_of, int(labels.max()) + 1)
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


def _in_conversation(vote_counts: np.ndarray, threshold: int) -> np.ndarray:
    """Who is clustered: enough votes, or among the most active while too few have."""
    eligible = (vote_counts >= threshold) & (vote_counts > 0)
    missing = _MIN_IN_CONVERSATION - int(eligible.sum())
    if missing > 0:
        candidates = np.flatnonzero(~eligible & (vote_counts > 0))
        most_active = candidates[np.argsort(-vote_counts[candidates], kind="stable")]
        eligible[most_active[:missing]] = True
    return eligible


def _empty_result(votes: Votes, projection: np.ndarray) -> OpinionGroupsResult:
    return OpinionGroupsResult((None,) * votes.n_participants, (), (), (), projection)


def _centred_matrix(votes: Votes, kept: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Kept votes minus the statement's mean vote (unseen and moderated out: 0); votes per person.

    ``kept`` marks the votes (entries of ``votes``) on statements still in.
    """
    shape = (votes.n_participants, votes.n_statements)
    statements, values = votes.statements[kept], votes.values[kept]
    per_statement = np.bincount(statements, minlength=votes.n_statements)
    sums = np.bincount(statements, weights=values, minlength=votes.n_statements)
    means = sums / np.maximum(per_statement, 1)
    centred = sparse.csr_matrix(
        (values - means[statements], (votes.participants[kept], statements)), shape=shape
    )
    voted = np.bincount(votes.participants[kept], minlength=votes.n_participants)
    return centred, voted


def _project(centred: sparse.csr_matrix, random_state: int) -> np.ndarray:
    """Every participant's centred votes times the two principal components.

    The columns of ``centred`` already have mean 0 over everyone, so the
    components are those of Pol.is's imputed matrix, and projecting without
    subtracting anything is Pol.is's sparsity-aware projection before scaling.
    """
    if not centred.data.any():  # every vote equals its statement's mean: nothing to find
        return np.zeros((centred.shape[0], 2))
    if min(centred.shape) < 3:  # arpack needs more than two dimensions
        dense = centred.toarray()
        n_components = min(2, *dense.shape)
        components = PCA(n_components=n_components, random_state=random_state).fit(dense)
    else:
        components = PCA(n_components=2, svd_solver="arpack", random_state=random_state)
        components.fit(centred)
    positions = np.asarray(centred @ components.components_.T)
    return np.pad(positions, ((0, 0), (0, 2 - positions.shape[1])))


def _cluster(
    positions: np.ndarray, k: int | None, k_range: tuple[int, int], random_state: int
) -> tuple[np.ndarray, dict[int, float]] | None:
    """Base clusters, then groups of base clusters; a group per position (None: all alike)."""
    n_distinct = len(np.unique(positions.round(9), axis=0))
    if n_distinct < 2:
        return None
    n_base = min(_BASE_CLUSTERS, n_distinct)
    base = KMeans(n_clusters=n_base, n_init=1, random_state=random_state).fit(positions)
    centres = base.cluster_centers_
    weights = np.bincount(base.labels_, minlength=n_base)
    if k is not None:
        candidates = [k]
    else:
        most = min(k_range[1], 2 + n_base // _BASE_CLUSTERS_PER_EXTRA_GROUP)
        candidates = list(range(k_range[0], most + 1))
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


def _vote_counts(
    votes: Votes, kept: np.ndarray, group_of: np.ndarray, n_groups: int
) -> _VoteCounts:
    """Counts of the kept votes: a moderated-out statement is seen by nobody, so never passes."""
    grouped = (group_of[votes.participants] >= 0) & kept
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
