"""Themes: cluster short posts into groups with a readable label.

Each post is a bag of content words and bigrams (stop words of its own
language removed, accents folded), counted once. Its vector for clustering
has three unit-length parts: what its words mean (the sum of static word
vectors that ship inside the ``wordllama`` package, 256 dimensions, looked
up, never downloaded), which words it uses (TF-IDF with logarithmic term
frequency reduced by LSA, weighted ``LSA_WEIGHT``), and its language for
posts not in English (``LANGUAGE_WEIGHT``). Rows are scaled to unit length,
projected onto the ``CLUSTERING_DIMENSIONS`` directions that keep most of
the sample's dot products (uncentred SVD), scaled to unit length again and
grouped by k-means (spherical in effect). The label is the most
distinctive TF-IDF terms of each theme. Vocabulary, LSA and k-means are
fitted on a sample and every post is then assigned in chunks, so the cost
grows linearly with the number of posts. The number of themes is the
candidate k whose clustering is most stable across resampled fits, unless
given. Given the previous run's themes (``previous``), a run carries them on:
the same k while it is nearly as stable and the new posts fit, k-means
started from their centres, and each theme linked to the one it continues.
"""

import functools
import importlib.util
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from safetensors import safe_open
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.metrics import adjusted_rand_score
from sklearn.preprocessing import normalize
from tokenizers import Tokenizer

from analysis.pipeline.text import LANGUAGE_MARKER, LANGUAGES, content_terms, distinct_by_text

UNASSIGNED = -1
_CHUNK = 20_000
_STABILITY_SAMPLE = 4_000
_STABILITY_RUNS = 3
_EMBEDDINGS_PACKAGE = "wordllama"
_EMBEDDINGS_FILE = "weights/l2_supercat_256.safetensors"
_TOKENIZER_FILE = "tokenizers/l2_supercat_tokenizer_config.json"
_OTHER_LANGUAGES = tuple(language for language in LANGUAGES if language != "en")
DIMENSIONS = 256
"""Leading dimensions of the word vectors kept (the model was trained to allow 64, 128, 256)."""
LANGUAGE_WEIGHT = 1.0
"""Length of the language part of a post's vector, its meaning part being 1."""
LSA_WEIGHT = 0.5
"""Length of the LSA (TF-IDF) part of a post's vector, its meaning part being 1."""
CLUSTERING_DIMENSIONS = 64
"""Dimensions k-means works in: the joined vectors' leading right singular vectors."""
KMEANS_RESTARTS = 5
"""k-means runs (``n_init``) on a jam's sample, the best kept."""
KMEANS_RESTARTS_SMALL = 20
"""k-means runs below ``SMALL_INPUT`` posts, where they cost nothing: with five,
24 posts of three planted themes found a worse optimum on one machine's
floating point and not on another's (NMI 0.59 against 0.77)."""
SMALL_INPUT = 2_000
K_HYSTERESIS = 0.3
"""How much more stable another k must be than the previous run's to replace it.

On a growing jam the most stable k moves between runs by chance (the scores of
neighbouring k differ by 0.1-0.3 from one run to the next); without this margin
the number of themes flipped in 19 of 25 periodic runs, with it in 1 of 25
(docs/analysis.md, continuity)."""
NEW_POSTS_MISFIT = 0.3
"""The previous k is held (``K_HYSTERESIS``) only while at most this share of the
posts written since fit its themes worse than the least fitting tenth of the
earlier posts (about a tenth when the jam goes on discussing the same things,
0.9 when new subjects arrived, in the tests' mix), or fewer than
``NEW_SUBJECT_MIN_POSTS`` do; otherwise k is chosen afresh."""
NEW_SUBJECT_MIN_POSTS = 5
"""Posts that fit the previous themes badly it takes to reconsider their number."""
SEED_INERTIA_TOLERANCE = 0.02
"""A fit started from the previous run's themes is kept when its k-means objective
is at most this much (relative) worse than the best fresh fit."""
MIN_SEED_POSTS = 2
"""Posts of the sample a previous theme must hold to seed a centre."""
CONTINUE_MIN_SHARE = 0.5
"""Share of a theme's earlier posts that must come from one previous theme (and of
that theme's posts that must land in it) for the theme to continue it
(``theme_lineage``)."""

Progress = Callable[[float], None]
"""Called with the fraction of the work done, 0..1, a few dozen times at most."""


@dataclass(frozen=True, slots=True)
class Theme:
    id: int
    label: str
    terms: tuple[str, ...]
    size: int
    representative_indices: tuple[int, ...]
    continues: int | None = None
    """The previous run's theme this one carries on (see ``previous``), else None."""


@dataclass(frozen=True, slots=True)
class ThemeResult:
    assignments: np.ndarray = field(repr=False)
    """Theme id per input text; ``UNASSIGNED`` (-1) for texts with no known content words."""
    themes: tuple[Theme, ...]
    k: int
    k_scores: dict[int, float]
    """Stability (mean adjusted Rand index between resampled fits) per candidate k."""
    seeded: bool = False
    """Whether k-means started from the previous run's themes (and kept that fit)."""


@dataclass(frozen=True, slots=True)
class _Model:
    counter: CountVectorizer
    tfidf: TfidfTransformer
    svd: TruncatedSVD | None
    embedding: "_TermEmbedding"
    projection: np.ndarray
    """Joined dimension x clustering dimension, orthonormal columns."""
    kmeans: KMeans


@functools.cache
def _static_word_embeddings() -> tuple[Tokenizer, np.ndarray]:
    """The tokenizer and token vectors that ship inside the ``wordllama`` wheel.

    Only its data files are read (``import wordllama`` would configure logging and
    may try to download a tokenizer); loaded once per process, about 30 MB.
    """
    spec = importlib.util.find_spec(_EMBEDDINGS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {_EMBEDDINGS_PACKAGE} package is required for themes")
    root = Path(next(iter(spec.submodule_search_locations)))
    tokenizer = Tokenizer.from_file(str(root / _TOKENIZER_FILE))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    with safe_open(str(root / _EMBEDDINGS_FILE), framework="np") as handle:
        table = handle.get_tensor("embedding.weight")
    return tokenizer, np.ascontiguousarray(table[:, :DIMENSIONS], dtype=np.float32)


def word_vectors(words: Sequence[str]) -> np.ndarray:
    """One row per word: the sum of the static vectors of its sub-word tokens."""
    tokenizer, table = _static_word_embeddings()
    vectors = np.zeros((len(words), table.shape[1]), dtype=np.float32)
    for row, encoding in enumerate(tokenizer.encode_batch(list(words), add_special_tokens=False)):
        if encoding.ids:
            vectors[row] = table[encoding.ids].sum(axis=0)
    return vectors


@dataclass(frozen=True, slots=True)
class _TermEmbedding:
    """Maps a post's term counts to a unit vector: its words' meaning, then its language."""

    words: np.ndarray
    """Term x dimension: a word's vector on its row; bigrams and markers are zero."""
    languages: sparse.csr_matrix
    """Term x language (de, es, fr): 1 on a language marker's row."""

    @classmethod
    def for_terms(cls, terms: Sequence[str]) -> "_TermEmbedding":
        unigrams = [i for i, term in enumerate(terms) if " " not in term and ":" not in term]
        dense = np.zeros((len(terms), _static_word_embeddings()[1].shape[1]), dtype=np.float32)
        dense[unigrams] = word_vectors([terms[i] for i in unigrams])
        markers = [
            (i, _OTHER_LANGUAGES.index(term.removeprefix(LANGUAGE_MARKER)))
            for i, term in enumerate(terms)
            if term.removeprefix(LANGUAGE_MARKER) in _OTHER_LANGUAGES
        ]
        languages = sparse.csr_matrix(
            (np.ones(len(markers)), ([i for i, _ in markers], [j for _, j in markers])),
            shape=(len(terms), len(_OTHER_LANGUAGES)),
            dtype=np.float32,
        )
        return cls(dense, languages)

    def vectors(
        self, counts: sparse.csr_matrix, tfidf: sparse.csr_matrix, svd: TruncatedSVD | None
    ) -> np.ndarray:
        parts = [normalize(np.asarray(counts @ self.words))]
        if svd is not None:
            parts.append(LSA_WEIGHT * normalize(svd.transform(tfidf)))
        parts.append(LANGUAGE_WEIGHT * ((counts @ self.languages).toarray() > 0))
        return normalize(np.hstack(parts).astype(np.float32))


def find_themes(
    texts: Sequence[str],
    *,
    k: int | None = None,
    k_range: tuple[int, int] = (3, 12),
    previous: Sequence[int] | np.ndarray | None = None,
    progress: Progress | None = None,
    n_components: int = 50,
    sample_size: int = 20_000,
    max_features: int = 50_000,
    n_label_terms: int = 5,
    n_representatives: int = 3,
    random_state: int = 0,
) -> ThemeResult:
    """Cluster ``texts`` into themes; the same input and arguments give the same result.

    ``previous`` gives, per text, the theme it had in the previous run (any integer
    id; negative for none, such as a post written since). The themes then carry on
    from those of the previous run: its number of themes is kept unless another k
    is clearly more stable (``K_HYSTERESIS``) or the posts written since fit its
    themes badly (``NEW_POSTS_MISFIT``), k-means starts from its themes'
    centres and keeps that fit unless a fresh one is clearly better
    (``SEED_INERTIA_TOLERANCE``), and each theme names the previous theme it
    continues (``Theme.continues``). ``progress`` is called with the fraction done.
    """
    report = progress or _no_progress
    previous_ids = None if previous is None else np.asarray(previous, dtype=np.int64)
    if previous_ids is not None and len(previous_ids) != len(texts):
        raise ValueError("previous must give one theme id (or -1) per text")
    rng = np.random.default_rng(random_state)
    sample = _sample_indices(len(texts), sample_size, rng)
    counter = CountVectorizer(
        analyzer=content_terms,
        min_df=2 if len(sample) >= 50 else 1,
        max_df=0.5 if len(sample) >= 50 else 1.0,
        max_features=max_features,
        dtype=np.float32,
    )
    try:
        sample_counts = counter.fit_transform([texts[i] for i in sample])
    except ValueError:  # no content words anywhere
        return ThemeResult(np.full(len(texts), UNASSIGNED), (), 0, {})
    tfidf = TfidfTransformer(sublinear_tf=True).fit(sample_counts)
    sample_tfidf = tfidf.transform(sample_counts)
    svd = _fit_lsa(sample_tfidf, n_components, random_state) if LSA_WEIGHT > 0 else None
    embedding = _TermEmbedding.for_terms(list(counter.get_feature_names_out()))
    sample_vectors = embedding.vectors(sample_counts, sample_tfidf, svd)
    has_terms = np.linalg.norm(sample_vectors, axis=1) > 0
    sample_vectors = sample_vectors[has_terms]
    if len(sample_vectors) == 0:
        return ThemeResult(np.full(len(texts), UNASSIGNED), (), 0, {})
    projection = _fit_projection(sample_vectors, CLUSTERING_DIMENSIONS)
    sample_vectors = _projected(sample_vectors, projection)
    seeds, keep_previous_k = None, False
    if previous_ids is not None:
        sample_previous = previous_ids[sample][has_terms]
        seeds = _seed_centres(sample_vectors, sample_previous)
        keep_previous_k = seeds is not None and _new_posts_fit(
            sample_vectors, sample_previous, seeds
        )
    report(0.1)
    k_scores: dict[int, float] = {}
    if k is None:
        k_scores = _stability_by_k(
            sample_vectors, k_range, rng, random_state, lambda done: report(0.1 + 0.5 * done)
        )
        k = _chosen_k(k_scores, len(seeds) if keep_previous_k and seeds is not None else None)
    k = max(1, min(k, len(np.unique(sample_vectors.round(5), axis=0))))
    restarts = KMEANS_RESTARTS if len(sample_vectors) >= SMALL_INPUT else KMEANS_RESTARTS_SMALL
    kmeans = KMeans(n_clusters=k, n_init=restarts, random_state=random_state).fit(sample_vectors)
    seeded = False
    if seeds is not None and len(seeds) == k:
        continued = KMeans(n_clusters=k, init=seeds, n_init=1, random_state=random_state)
        continued.fit(sample_vectors)
        if continued.inertia_ <= kmeans.inertia_ * (1 + SEED_INERTIA_TOLERANCE):
            kmeans, seeded = continued, True
    report(0.65)
    model = _Model(counter, tfidf, svd, embedding, projection, kmeans)
    assignments, similarity, term_sums = _assign_all(
        texts, model, sample, sample_counts, lambda done: report(0.65 + 0.35 * done)
    )
    themes = _describe_themes(
        texts,
        assignments,
        similarity,
        term_sums,
        counter.get_feature_names_out(),
        n_label_terms=n_label_terms,
        n_representatives=n_representatives,
    )
    if previous_ids is not None:
        lineage = theme_lineage(assignments, previous_ids)
        themes = [replace(theme, continues=lineage.get(theme.id)) for theme in themes]
    return _renumbered_by_size(assignments, themes, k, k_scores, seeded)


def _no_progress(done: float) -> None:
    """The default ``progress``: nobody is told."""


def _seed_centres(vectors: np.ndarray, previous_ids: np.ndarray) -> np.ndarray | None:
    """Unit centres of the previous themes, in this run's space, in id order."""
    ids, counts = np.unique(previous_ids[previous_ids >= 0], return_counts=True)
    ids = ids[counts >= MIN_SEED_POSTS]
    if len(ids) == 0:
        return None
    return normalize(np.vstack([vectors[previous_ids == i].mean(axis=0) for i in ids]))


def _new_posts_fit(vectors: np.ndarray, previous_ids: np.ndarray, seeds: np.ndarray) -> bool:
    """Whether the posts that are new since the previous run fit its themes as the
    earlier posts do: no more than ``NEW_POSTS_MISFIT`` of them farther from every
    previous centre than the least fitting tenth of the earlier posts, or fewer than
    ``NEW_SUBJECT_MIN_POSTS``."""
    closeness = (vectors @ seeds.T).max(axis=1)
    earlier, new = closeness[previous_ids >= 0], closeness[previous_ids < 0]
    if len(new) == 0 or len(earlier) == 0:
        return len(new) == 0
    misfits = int((new < np.quantile(earlier, 0.1)).sum())
    return misfits < NEW_SUBJECT_MIN_POSTS or misfits <= NEW_POSTS_MISFIT * len(new)


def _chosen_k(k_scores: dict[int, float], previous_k: int | None) -> int:
    """The most stable k (the smaller one on ties); the previous k while it is nearly as stable."""
    best = max(k_scores, key=lambda candidate: (k_scores[candidate], -candidate))
    if previous_k in k_scores and k_scores[previous_k] >= k_scores[best] - K_HYSTERESIS:
        return previous_k
    return best


def theme_lineage(assignments: np.ndarray, previous: np.ndarray) -> dict[int, int]:
    """Which earlier theme each theme continues, one to one: {theme id: earlier id}.

    ``assignments`` and ``previous`` give, per post, its theme now and in the
    earlier run (negative: none). Theme T continues earlier theme P when at least
    half of T's posts that had an earlier theme were in P, and more than half of
    P's posts that have a theme now are in T.
    """
    assignments, previous = np.asarray(assignments), np.asarray(previous)
    both = (assignments >= 0) & (previous >= 0)
    lineage: dict[int, int] = {}
    for theme in np.unique(assignments[both]):
        ids, counts = np.unique(previous[both & (assignments == theme)], return_counts=True)
        origin = ids[counts.argmax()]
        stayed = assignments[both & (previous == origin)]
        if counts.max() >= CONTINUE_MIN_SHARE * counts.sum() and (
            (stayed == theme).mean() > CONTINUE_MIN_SHARE
        ):
            lineage[int(theme)] = int(origin)
    return lineage


def _sample_indices(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _fit_lsa(tfidf: sparse.csr_matrix, n_components: int, random_state: int) -> TruncatedSVD | None:
    components = min(n_components, tfidf.shape[1] - 1, tfidf.shape[0] - 1)
    if components < 1:
        return None
    return TruncatedSVD(n_components=components, random_state=random_state).fit(tfidf)


def _fit_projection(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """The ``dimensions`` directions that keep most of the rows' dot products.

    The top eigenvectors of ``vectors.T @ vectors`` (uncentred, so cosines are
    what is kept); k-means then costs a fifth of what it does on all ~309.
    """
    if vectors.shape[1] <= dimensions:
        return np.eye(vectors.shape[1], dtype=np.float32)
    gram = vectors.T.astype(np.float64) @ vectors
    _, eigenvectors = np.linalg.eigh(gram)
    return np.ascontiguousarray(eigenvectors[:, ::-1][:, :dimensions], dtype=np.float32)


def _projected(vectors: np.ndarray, projection: np.ndarray) -> np.ndarray:
    return normalize(vectors @ projection)


def _stability_by_k(
    vectors: np.ndarray,
    k_range: tuple[int, int],
    rng: np.random.Generator,
    random_state: int,
    progress: Progress = _no_progress,
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
            with warnings.catch_warnings():
                # A subsample of few posts, drawn with replacement, can hold fewer
                # distinct points than ``candidate``: that k then scores low, as it
                # should, without a warning on the operator's console.
                warnings.simplefilter("ignore", ConvergenceWarning)
                fitted.fit(vectors[subset])
            labelings.append(fitted.predict(vectors))
        pairs = [
            adjusted_rand_score(labelings[i], labelings[j])
            for i in range(len(labelings))
            for j in range(i + 1, len(labelings))
        ]
        scores[candidate] = float(np.mean(pairs))
        progress((candidate - low + 1) / (high - low + 1))
    return scores or {1: 1.0}


def _assign_all(
    texts: Sequence[str],
    model: _Model,
    sample: np.ndarray,
    sample_counts: sparse.csr_matrix,
    progress: Progress = _no_progress,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Theme, cosine to its centre, and per-theme TF-IDF sums, chunk by chunk.

    Sampled posts were counted while fitting; only the others are tokenized again.
    """
    centres = normalize(model.kmeans.cluster_centers_)
    n_themes, n_terms = centres.shape[0], len(model.counter.vocabulary_)
    assignments = np.full(len(texts), UNASSIGNED, dtype=np.int64)
    similarity = np.zeros(len(texts), dtype=np.float32)
    term_sums = np.zeros((n_themes, n_terms), dtype=np.float64)
    for start in range(0, len(texts), _CHUNK):
        chunk = list(texts[start : start + _CHUNK])
        counts = _chunk_counts(chunk, start, model.counter, sample, sample_counts)
        tfidf = model.tfidf.transform(counts)
        vectors = _projected(model.embedding.vectors(counts, tfidf, model.svd), model.projection)
        has_terms = np.linalg.norm(vectors, axis=1) > 0
        cosine = vectors @ centres.T
        chosen = np.where(has_terms, cosine.argmax(axis=1), UNASSIGNED)
        assignments[start : start + len(chunk)] = chosen
        similarity[start : start + len(chunk)] = cosine.max(axis=1)
        rows = np.flatnonzero(has_terms)
        membership = sparse.csr_matrix(
            (np.ones(len(rows)), (chosen[rows], rows)), shape=(n_themes, len(chunk))
        )
        term_sums += (membership @ tfidf).toarray()
        progress(min(1.0, (start + _CHUNK) / len(texts)))
    return assignments, similarity, term_sums


def _chunk_counts(
    chunk: list[str],
    start: int,
    counter: CountVectorizer,
    sample: np.ndarray,
    sample_counts: sparse.csr_matrix,
) -> sparse.csr_matrix:
    """Term counts of ``chunk`` (texts from ``start``), reusing the sampled posts' rows."""
    low, high = np.searchsorted(sample, [start, start + len(chunk)])
    sampled = sample[low:high] - start
    others = np.setdiff1d(np.arange(len(chunk)), sampled, assume_unique=True)
    if len(others) == 0:
        return sparse.csr_matrix(sample_counts[low:high])
    counted = counter.transform([chunk[i] for i in others])
    if len(sampled) == 0:
        return sparse.csr_matrix(counted)
    stacked = sparse.vstack([sample_counts[low:high], counted], format="csr")
    return sparse.csr_matrix(stacked[np.argsort(np.concatenate([sampled, others]))])


def _describe_themes(
    texts: Sequence[str],
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
        closest = distinct_by_text(
            texts, members[np.argsort(-similarity[members], kind="stable")], n_representatives
        )
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
    """Most distinctive terms, skipping a term that shares a word with an earlier one
    ("moves / roofs / budget", not "moves / roofs / budget moves")."""
    chosen: list[str] = []
    shown: set[str] = set()
    for index in np.argsort(-weights, kind="stable"):
        if weights[index] <= 0 or len(chosen) == count:
            break
        words = set(str(terms[index]).split())
        if words & shown or str(terms[index]).startswith(LANGUAGE_MARKER):
            continue
        chosen.append(str(terms[index]))
        shown |= words
    return chosen


def _renumbered_by_size(
    assignments: np.ndarray,
    themes: list[Theme],
    k: int,
    k_scores: dict[int, float],
    seeded: bool = False,
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
        themes=tuple(replace(theme, id=new_id[theme.id]) for theme in ordered),
        k=k,
        k_scores=k_scores,
        seeded=seeded,
    )
