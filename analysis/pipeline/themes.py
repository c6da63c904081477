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
given.
"""

import functools
import importlib.util
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
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

from analysis.pipeline.text import LANGUAGE_MARKER, LANGUAGES, content_terms

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
    """Theme id per input text; ``UNASSIGNED`` (-1) for texts with no known content words."""
    themes: tuple[Theme, ...]
    k: int
    k_scores: dict[int, float]
    """Stability (mean adjusted Rand index between resampled fits) per candidate k."""


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
    sample_vectors = sample_vectors[np.linalg.norm(sample_vectors, axis=1) > 0]
    if len(sample_vectors) == 0:
        return ThemeResult(np.full(len(texts), UNASSIGNED), (), 0, {})
    projection = _fit_projection(sample_vectors, CLUSTERING_DIMENSIONS)
    sample_vectors = _projected(sample_vectors, projection)
    k_scores: dict[int, float] = {}
    if k is None:
        k_scores = _stability_by_k(sample_vectors, k_range, rng, random_state)
        k = max(k_scores, key=lambda candidate: (k_scores[candidate], -candidate))
    k = max(1, min(k, len(np.unique(sample_vectors.round(5), axis=0))))
    restarts = KMEANS_RESTARTS if len(sample_vectors) >= SMALL_INPUT else KMEANS_RESTARTS_SMALL
    kmeans = KMeans(n_clusters=k, n_init=restarts, random_state=random_state).fit(sample_vectors)
    model = _Model(counter, tfidf, svd, embedding, projection, kmeans)
    assignments, similarity, term_sums = _assign_all(texts, model, sample, sample_counts)
    themes = _describe_themes(
        assignments,
        similarity,
        term_sums,
        counter.get_feature_names_out(),
        n_label_terms=n_label_terms,
        n_representatives=n_representatives,
    )
    return _renumbered_by_size(assignments, themes, k, k_scores)


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
    return scores or {1: 1.0}


def _assign_all(
    texts: Sequence[str], model: _Model, sample: np.ndarray, sample_counts: sparse.csr_matrix
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
