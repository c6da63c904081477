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
Themes an organizer pinned (``pinned``) are kept as they are: their posts stay
together, posts written since may join them, and the rest is clustered around
them.
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
PIN_CENTRE_POSTS = 50
"""Posts of a pinned theme the sample holds at least (or all it has), so that its
centre is known however small the theme is in a large jam."""
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
    pinned: int | None = None
    """The ``pinned`` key of the posts this theme keeps together, else None."""


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
    centres: np.ndarray
    """Unit centre per fitted theme; the pinned themes follow them."""
    pins: "_Pins"


@dataclass(frozen=True, slots=True)
class _Pins:
    """The pinned themes of a run: their keys and unit centres, in key order."""

    keys: np.ndarray
    centres: np.ndarray

    @classmethod
    def of(cls, vectors: np.ndarray, keys: np.ndarray) -> "_Pins":
        centres = _seed_centres(vectors, keys)
        if centres is None:
            return cls(np.zeros(0, dtype=np.int64), np.zeros((0, vectors.shape[1]), np.float32))
        return cls(np.unique(keys[keys >= 0]), centres.astype(np.float32))

    def joined(self, vectors: np.ndarray, others: np.ndarray | None) -> np.ndarray:
        """Per row, the pinned theme (index) whose centre is nearer than any of
        ``others`` and the other pinned ones; -1 for none."""
        if len(self.keys) == 0:
            return np.full(len(vectors), -1)
        cosine = vectors @ self.centres.T
        best = cosine.argmax(axis=1)
        if others is None or len(others) == 0:
            return best
        return np.where(cosine.max(axis=1) > (vectors @ others.T).max(axis=1), best, -1)


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
    pinned: Sequence[int] | np.ndarray | None = None,
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
    continues (``Theme.continues``).

    ``pinned`` gives, per text, the key of the pinned theme it belongs to (any
    integer; negative for none). The texts of one key form one theme, whatever
    the clustering finds (``Theme.pinned`` names the key); texts with no
    previous theme (new since the previous run, or all when ``previous`` is not
    given) join a pinned theme when its centre is the nearest, other texts stay
    out of pinned themes while there is any other theme. k counts the pinned
    themes. ``progress`` is called with the fraction done.
    """
    report = progress or _no_progress
    previous_ids = None if previous is None else np.asarray(previous, dtype=np.int64)
    if previous_ids is not None and len(previous_ids) != len(texts):
        raise ValueError("previous must give one theme id (or -1) per text")
    pinned_keys = np.full(len(texts), -1, dtype=np.int64)
    if pinned is not None:
        pinned_keys = np.asarray(pinned, dtype=np.int64)
        if len(pinned_keys) != len(texts):
            raise ValueError("pinned must give one key (or -1) per text")
    rng = np.random.default_rng(random_state)
    sample = _with_pinned_members(_sample_indices(len(texts), sample_size, rng), pinned_keys, rng)
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
    may_join = np.ones(len(texts), dtype=bool) if previous_ids is None else previous_ids < 0
    sample_pinned = pinned_keys[sample][has_terms]
    pins = _Pins.of(sample_vectors, sample_pinned)
    free = sample_pinned < 0
    seeds, keep_previous_k = None, False
    if previous_ids is not None:
        sample_previous = previous_ids[sample][has_terms]
        seeds = _seed_centres(sample_vectors[free], sample_previous[free], min_posts=MIN_SEED_POSTS)
        if seeds is not None and len(pins.keys):
            # New posts nearer a pinned theme than any previous one will join it:
            # they are not clustered with the rest (they would get a centre).
            joining = may_join[sample][has_terms] & (pins.joined(sample_vectors, seeds) >= 0)
            free &= ~joining
        keep_previous_k = seeds is not None and _new_posts_fit(
            sample_vectors[free], sample_previous[free], seeds
        )
    free_vectors = sample_vectors[free]
    report(0.1)
    k_scores: dict[int, float] = {}
    fitted_k = 0 if k is None else k - len(pins.keys)
    if k is None and len(free_vectors):
        low, high = k_range
        previous_k = len(seeds) if keep_previous_k and seeds is not None else None
        # At least `low` themes besides the pinned ones (stability favours few
        # themes: k = 2 scored 0.96 where 4 scored 0.61, which is why `low` is 3),
        # and the previous run's number when it had fewer.
        candidates = set(range(low, max(low, high - len(pins.keys)) + 1))
        if len(pins.keys) and previous_k is not None:
            candidates.add(previous_k)
        k_scores = _stability_by_k(
            free_vectors,
            sorted(candidates),
            rng,
            random_state,
            lambda done: report(0.1 + 0.5 * done),
        )
        fitted_k = _chosen_k(k_scores, previous_k)
    centres, seeded = np.zeros((0, sample_vectors.shape[1]), dtype=np.float32), False
    if len(free_vectors):
        fitted_k = max(1, min(fitted_k, len(np.unique(free_vectors.round(5), axis=0))))
        centres, seeded = _fitted_centres(free_vectors, fitted_k, seeds, random_state)
    fitted_k = len(centres)
    report(0.65)
    model = _Model(counter, tfidf, svd, embedding, projection, centres, pins)
    fixed = np.full(len(texts), UNASSIGNED, dtype=np.int64)
    is_pinned = np.isin(pinned_keys, pins.keys)
    fixed[is_pinned] = fitted_k + np.searchsorted(pins.keys, pinned_keys[is_pinned])
    assignments, similarity, term_sums = _assign_all(
        texts,
        model,
        sample,
        sample_counts,
        fixed,
        may_join,
        lambda done: report(0.65 + 0.35 * done),
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
    themes = [
        replace(theme, pinned=int(pins.keys[theme.id - fitted_k]))
        if theme.id >= fitted_k
        else theme
        for theme in themes
    ]
    if previous_ids is not None:
        lineage = theme_lineage(assignments, previous_ids)
        themes = [replace(theme, continues=lineage.get(theme.id)) for theme in themes]
    k_scores = {candidate + len(pins.keys): score for candidate, score in k_scores.items()}
    return _renumbered_by_size(assignments, themes, fitted_k + len(pins.keys), k_scores, seeded)


def _no_progress(done: float) -> None:
    """The default ``progress``: nobody is told."""


def _with_pinned_members(
    sample: np.ndarray, pinned_keys: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """``sample`` and, for a pinned theme it holds fewer than ``PIN_CENTRE_POSTS``
    posts of, that many more of them (sorted, each once)."""
    extra = []
    for key in np.unique(pinned_keys[pinned_keys >= 0]):
        members = np.flatnonzero(pinned_keys == key)
        if np.isin(members, sample, assume_unique=True).sum() < PIN_CENTRE_POSTS:
            extra.append(
                rng.choice(members, size=min(len(members), PIN_CENTRE_POSTS), replace=False)
            )
    return np.union1d(sample, np.concatenate(extra)) if extra else sample


def _fitted_centres(
    vectors: np.ndarray, k: int, seeds: np.ndarray | None, random_state: int
) -> tuple[np.ndarray, bool]:
    """k-means centres of ``vectors``, and whether they were started from ``seeds``
    (kept when that fit is nearly as good as the best fresh one)."""
    restarts = KMEANS_RESTARTS if len(vectors) >= SMALL_INPUT else KMEANS_RESTARTS_SMALL
    kmeans = KMeans(n_clusters=k, n_init=restarts, random_state=random_state).fit(vectors)
    if seeds is not None and len(seeds) == k:
        continued = KMeans(n_clusters=k, init=seeds, n_init=1, random_state=random_state)
        continued.fit(vectors)
        if continued.inertia_ <= kmeans.inertia_ * (1 + SEED_INERTIA_TOLERANCE):
            return normalize(continued.cluster_centers_), True
    return normalize(kmeans.cluster_centers_), False


def _seed_centres(
    vectors: np.ndarray, previous_ids: np.ndarray, min_posts: int = 1
) -> np.ndarray | None:
    """Unit centres of the groups of rows with the same non-negative id, in id order
    (groups of fewer than ``min_posts`` rows left out)."""
    ids, counts = np.unique(previous_ids[previous_ids >= 0], return_counts=True)
    ids = ids[counts >= min_posts]
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
    candidates: Sequence[int],
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
    candidates = [candidate for candidate in candidates if candidate < len(vectors)]
    scores: dict[int, float] = {}
    for done, candidate in enumerate(candidates, start=1):
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
        progress(done / len(candidates))
    return scores or {1: 1.0}


def _assign_all(
    texts: Sequence[str],
    model: _Model,
    sample: np.ndarray,
    sample_counts: sparse.csr_matrix,
    fixed: np.ndarray,
    may_join: np.ndarray,
    progress: Progress = _no_progress,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Theme, cosine to its centre, and per-theme TF-IDF sums, chunk by chunk.

    A text with a ``fixed`` theme (pinned) gets it; one that ``may_join`` a
    pinned theme joins it when its centre is nearer than every fitted one; any
    other takes the nearest fitted centre (the nearest pinned one when nothing
    was fitted). Sampled posts were counted while fitting; only the others are
    tokenized again.
    """
    centres = np.vstack([model.centres, model.pins.centres]).astype(np.float32)
    n_fitted = len(model.centres)
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
        nearest = cosine[:, :n_fitted] if n_fitted else cosine
        chosen = np.where(has_terms, nearest.argmax(axis=1), UNASSIGNED)
        joins = model.pins.joined(vectors, model.centres)
        chosen = np.where(
            may_join[start : start + len(chunk)] & has_terms & (joins >= 0),
            n_fitted + joins,
            chosen,
        )
        pinned_here = fixed[start : start + len(chunk)]
        chosen = np.where(pinned_here >= 0, pinned_here, chosen)
        assignments[start : start + len(chunk)] = chosen
        rows = np.flatnonzero(chosen >= 0)
        similarity[start + rows] = cosine[rows, chosen[rows]]
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
