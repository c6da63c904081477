"""Themes: cluster short posts into groups with a readable label.

TF-IDF over content words and bigrams (stop words of each post's own
language removed, accents folded), LSA to a few dozen dimensions,
unit-length rows, k-means (spherical in effect). The model is fitted on a
sample and every post is then assigned in chunks, so the cost grows
linearly with the number of posts. The number of themes is the candidate k
whose clustering is most stable across resampled fits, unless given.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize

from analysis.pipeline.text import LANGUAGE_MARKER, content_terms

UNASSIGNED = -1
_CHUNK = 20_000
_STABILITY_SAMPLE = 4_000
_STABILITY_RUNS = 3


@dataclass(frozen=True, slots=True)
class Theme:
    id: int
    label: str
    terms: tuple[str, ...]
    size: int
    representative_indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ThemeResult:
    assignments: np.ndarray = field(repr=False)
    """Theme id per input text; ``UNASSIGNED`` (-1) for texts with no content words."""
    themes: tuple[Theme, ...]
    k: int
    k_scores: dict[int, float]
    """Stability (mean adjusted Rand index between resampled fits) per candidate k."""


@dataclass(frozen=True, slots=True)
class _Model:
    vectorizer: TfidfVectorizer
    svd: TruncatedSVD
    kmeans: KMeans


def find_themes(
    texts: Sequence[str],
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (3, 12),
    n_components: int = 50,
    sample_size: int = 20_000,
    max_features: int = 50_000,
    n_label_terms: int = 5,
    n_representatives: int = 3,
    random_state: int = 0,
) -> ThemeResult:
    """Cluster ``texts`` into themes; the same input and arguments give the same result."""
    rng = np.random.default_rng(random_state)
    sample = _sample_indices(len(texts), sample_size, rng)
    vectorizer = TfidfVectorizer(
        analyzer=content_terms,
        sublinear_tf=True,
        min_df=2 if len(sample) >= 50 else 1,
        max_df=0.5 if len(sample) >= 50 else 1.0,
        max_features=max_features,
        dtype=np.float32,
    )
    try:
        sample_tfidf = vectorizer.fit_transform([texts[i] for i in sample])
    except ValueError:  # no content words anywhere
        return ThemeResult(np.full(len(texts), UNASSIGNED), (), 0, {})
    sample_vectors, svd = _fit_lsa(sample_tfidf, n_components, random_state)
    sample_vectors = sample_vectors[sample_tfidf.getnnz(axis=1) > 0]
    if len(sample_vectors) == 0:
        return ThemeResult(np.full(len(texts), UNASSIGNED), (), 0, {})
    k_scores: dict[int, float] = {}
    if k is None:
        k_scores = _stability_by_k(sample_vectors, k_range, rng, random_state)
        k = max(k_scores, key=lambda candidate: (k_scores[candidate], -candidate))
    k = max(1, min(k, len(np.unique(sample_vectors.round(6), axis=0))))
    kmeans = KMeans(n_clusters=k, n_init=5, random_state=random_state).fit(sample_vectors)
    model = _Model(vectorizer, svd, kmeans)
    assignments, similarity, term_sums = _assign_all(texts, model)
    themes = _describe_themes(
        assignments,
        similarity,
        term_sums,
        vectorizer.get_feature_names_out(),
        n_label_terms=n_label_terms,
        n_representatives=n_representatives,
    )
    return _renumbered_by_size(assignments, themes, k, k_scores)


def _sample_indices(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _fit_lsa(
    tfidf: sparse.csr_matrix, n_components: int, random_state: int
) -> tuple[np.ndarray, TruncatedSVD]:
    components = max(1, min(n_components, tfidf.shape[1] - 1, tfidf.shape[0] - 1))
    svd = TruncatedSVD(n_components=components, random_state=random_state)
    return normalize(svd.fit_transform(tfidf)), svd


def _stability_by_k(
    vectors: np.ndarray, k_range: tuple[int, int], rng: np.random.Generator, random_state: int
) -> dict[int, float]:
    """Mean pairwise ARI of k-means fits on different 80 % subsamples, per k.

    Fits that keep finding the same partition on resampled data indicate real
    structure at that k; silhouette keeps rising with k on sparse text.
    """
    if len(vectors) > _STABILITY_SAMPLE:
        vectors = vectors[rng.choice(len(vectors), size=_STABILITY_SAMPLE, replace=False)]
    low, high = k_range
    high = min(high, len(vectors) - 1)
    scores: dict[int, float] = {}
    for candidate in range(low, high + 1):
        labelings = []
        for run in range(_STABILITY_RUNS):
            subset = rng.choice(len(vectors), size=max(candidate, int(0.8 * len(vectors))))
            fitted = KMeans(n_clusters=candidate, n_init=1, random_state=random_state + run)
            labelings.append(fitted.fit(vectors[subset]).predict(vectors))
        pairs = [
            adjusted_rand_score(labelings[i], labelings[j])
            for i in range(len(labelings))
            for j in range(i + 1, len(labelings))
        ]
        scores[candidate] = float(np.mean(pairs))
    return scores or {1: 1.0}


def _assign_all(texts: Sequence[str], model: _Model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Theme, cosine to its centre, and per-theme TF-IDF sums, chunk by chunk."""
    centres = normalize(model.kmeans.cluster_centers_)
    n_themes, n_terms = centres.shape[0], len(model.vectorizer.vocabulary_)
    assignments = np.full(len(texts), UNASSIGNED, dtype=np.int64)
    similarity = np.zeros(len(texts), dtype=np.float32)
    term_sums = np.zeros((n_themes, n_terms), dtype=np.float64)
    for start in range(0, len(texts), _CHUNK):
        chunk = list(texts[start : start + _CHUNK])
        tfidf = model.vectorizer.transform(chunk)
        has_terms = tfidf.getnnz(axis=1) > 0
        vectors = normalize(model.svd.transform(tfidf))
        cosine = vectors @ centres.T
        chosen = np.where(has_terms, cosine.argmax(axis=1), UNASSIGNED)
        assignments[start : start + len(chunk)] = chosen
        similarity[start : start + len(chunk)] = cosine.max(axis=1)
        rows = np.flatnonzero(has_terms)
        membership = sparse.csr_matrix(
            (np.ones(len(rows)), (chosen[rows], rows)), shape=(n_themes, len(chunk))
        )
        term_sums += (membership @ tfidf).toarray()
    return assignments, similarity, term_sums


def _describe_themes(
    assignments: np.ndarray,
    similarity: np.ndarray,
    term_sums: np.ndarray,
    terms: np.ndarray,
    *,
    n_label_terms: int,
    n_representatives: int,
) -> list[Theme]:
    sizes = np.bincount(assignments[assignments >= 0], minlength=term_sums.shape[0])
    overall_mean = term_sums.sum(axis=0) / max(1, sizes.sum())
    themes = []
    for theme_id, size in enumerate(sizes):
        if size == 0:
            continue
        distinctiveness = term_sums[theme_id] / size - overall_mean
        top_terms = _label_terms(terms, distinctiveness, n_label_terms)
        members = np.flatnonzero(assignments == theme_id)
        closest = members[np.argsort(-similarity[members], kind="stable")[:n_representatives]]
        themes.append(
            Theme(
                id=theme_id,
                label=" / ".join(top_terms[:3]),
                terms=tuple(top_terms),
                size=int(size),
                representative_indices=tuple(int(i) for i in closest),
            )
        )
    return themes


def _label_terms(terms: np.ndarray, weights: np.ndarray, count: int) -> list[str]:
    """Most distinctive terms, skipping a term whose words an earlier one already shows."""
    chosen: list[str] = []
    shown: set[str] = set()
    for index in np.argsort(-weights, kind="stable"):
        if weights[index] <= 0 or len(chosen) == count:
            break
        words = set(str(terms[index]).split())
        if words <= shown or str(terms[index]).startswith(LANGUAGE_MARKER):
            continue
        chosen.append(str(terms[index]))
        shown |= words
    return chosen


def _renumbered_by_size(
    assignments: np.ndarray, themes: list[Theme], k: int, k_scores: dict[int, float]
) -> ThemeResult:
    """Theme 0 is the largest; ties keep the fitted order, so ids are deterministic."""
    ordered = sorted(themes, key=lambda theme: -theme.size)
    new_id = {theme.id: position for position, theme in enumerate(ordered)}
    lookup = np.full(k + 1, UNASSIGNED, dtype=np.int64)
    for old, new in new_id.items():
        lookup[old] = new
    renumbered = np.where(assignments >= 0, lookup[assignments], UNASSIGNED)
    return ThemeResult(
        assignments=renumbered,
        themes=tuple(
            Theme(new_id[t.id], t.label, t.terms, t.size, t.representative_indices) for t in ordered
        ),
        k=k,
        k_scores=k_scores,
    )
