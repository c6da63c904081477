"""Shifts in tone: where the mean sentiment of a jam changes, and by how much.

Posts are counted into time buckets (hourly unless the jam is very short or
very long). Change points are found by binary segmentation on the bucket
means weighted by their post counts: a split is kept when it lowers the
weighted squared error by more than a penalty of ``penalty_factor *
variance * log(posts)``, with the variance estimated from the posts inside
buckets, so a noisy but stationary jam yields no shift. Each shift is then
placed between two posts (``_refined``), not on a bucket's edge.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

_BUCKET_WIDTHS = tuple(
    timedelta(minutes=minutes) for minutes in (5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
)
_HOUR = timedelta(hours=1)
# Buckets either side of a bucket boundary searched post by post for the exact shift.
REFINE_BUCKETS = 2


@dataclass(frozen=True, slots=True)
class ToneBuckets:
    start: datetime
    width: timedelta
    counts: np.ndarray = field(repr=False)
    means: np.ndarray = field(repr=False)
    """Mean score per bucket; NaN for buckets without scored posts."""


@dataclass(frozen=True, slots=True)
class ToneShift:
    at: datetime
    before_mean: float
    after_mean: float
    post_indices: tuple[int, ...]
    """Scored posts just after the shift that lean furthest in its direction."""


@dataclass(frozen=True, slots=True)
class ShiftResult:
    buckets: ToneBuckets
    shifts: tuple[ToneShift, ...]


def choose_bucket_width(
    span: timedelta, *, min_buckets: int = 12, max_buckets: int = 240
) -> timedelta:
    """An hour, unless that gives fewer than ``min_buckets`` or more than ``max_buckets``."""
    if span <= timedelta(0):
        return _HOUR
    if span / _HOUR < min_buckets:
        shorter = [
            width for width in _BUCKET_WIDTHS if width <= _HOUR and span / width >= min_buckets
        ]
        return shorter[-1] if shorter else _BUCKET_WIDTHS[0]
    if span / _HOUR > max_buckets:
        longer = [width for width in _BUCKET_WIDTHS if span / width <= max_buckets]
        return longer[0] if longer else _BUCKET_WIDTHS[-1]
    return _HOUR


def detect_tone_shifts(
    timestamps: Sequence[datetime],
    scores: Sequence[float | None],
    *,
    bucket_width: timedelta | None = None,
    penalty_factor: float = 3.0,
    max_shifts: int = 5,
    n_illustrations: int = 3,
) -> ShiftResult:
    """Tone shifts in posts with aware ``timestamps`` and ``scores`` (``None`` is skipped)."""
    if len(timestamps) != len(scores):
        raise ValueError("timestamps and scores must have the same length")
    scored = np.array([score is not None for score in scores], dtype=bool)
    seconds = np.array([moment.timestamp() for moment in timestamps], dtype=np.float64)
    values = np.array([0.0 if score is None else score for score in scores], dtype=np.float64)
    if not scored.any():
        empty = ToneBuckets(datetime.fromtimestamp(0, tz=UTC), _HOUR, np.zeros(0), np.zeros(0))
        return ShiftResult(empty, ())
    first, last = seconds[scored].min(), seconds[scored].max()
    width = bucket_width or choose_bucket_width(timedelta(seconds=last - first))
    first = math.floor(first / width.total_seconds()) * width.total_seconds()  # on the clock
    bucket_of = np.floor((seconds - first) / width.total_seconds()).astype(np.int64)
    buckets = _bucketed(bucket_of[scored], values[scored], first, width)
    variance = _within_bucket_variance(bucket_of[scored], values[scored], buckets)
    penalty = penalty_factor * variance * math.log(max(2, int(scored.sum())))
    boundaries = _binary_segmentation(buckets.counts, buckets.means, penalty, max_shifts)
    # Scored posts in time order: their index (``order``), bucket, time and score.
    order = np.flatnonzero(scored)[np.argsort(seconds[scored], kind="stable")]
    timeline = _Timeline(order, bucket_of[order], seconds[order], values[order])
    edges = [0, *boundaries, len(buckets.counts)]
    # A shift in the middle of a bucket can leave that bucket a segment of its own,
    # between two boundaries that the posts place at the same post: one shift.
    openings = sorted(
        {_refined(edges[i], edges[i + 1], edges[i + 2], timeline) for i in range(len(boundaries))}
    )
    shifts = tuple(_shift_at(opening, timeline, width, n_illustrations) for opening in openings)
    return ShiftResult(buckets, shifts)


def _bucketed(
    bucket_of: np.ndarray, values: np.ndarray, first: float, width: timedelta
) -> ToneBuckets:
    n_buckets = int(bucket_of.max()) + 1
    counts = np.bincount(bucket_of, minlength=n_buckets).astype(np.float64)
    sums = np.bincount(bucket_of, weights=values, minlength=n_buckets)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    start = datetime.fromtimestamp(first, tz=UTC)
    return ToneBuckets(start=start, width=width, counts=counts, means=means)


def _within_bucket_variance(
    bucket_of: np.ndarray, values: np.ndarray, buckets: ToneBuckets
) -> float:
    """Pooled variance of posts around their bucket's mean: the noise a shift must beat."""
    residuals = values - buckets.means[bucket_of]
    degrees = len(values) - int((buckets.counts > 0).sum())
    if degrees <= 0:
        return float(np.var(values)) or 1.0
    return float(residuals @ residuals / degrees) or 1e-12


def _segment_cost(
    prefix_n: np.ndarray, prefix_s: np.ndarray, prefix_q: np.ndarray, lo: int, hi: int
) -> float:
    """Weighted squared error of buckets ``lo:hi`` around their common mean."""
    n = prefix_n[hi] - prefix_n[lo]
    if n == 0:
        return 0.0
    total = prefix_s[hi] - prefix_s[lo]
    return float(prefix_q[hi] - prefix_q[lo] - total * total / n)


def _binary_segmentation(
    counts: np.ndarray, means: np.ndarray, penalty: float, max_shifts: int
) -> list[int]:
    """Bucket indices where a new segment starts, in time order."""
    filled_means = np.nan_to_num(means)
    prefix_n = np.concatenate([[0.0], np.cumsum(counts)])
    prefix_s = np.concatenate([[0.0], np.cumsum(counts * filled_means)])
    prefix_q = np.concatenate([[0.0], np.cumsum(counts * filled_means**2)])
    segments = [(0, len(counts))]
    boundaries: list[int] = []
    while len(boundaries) < max_shifts:
        best_gain, best_split, best_segment = penalty, -1, (0, 0)
        for lo, hi in segments:
            whole = _segment_cost(prefix_n, prefix_s, prefix_q, lo, hi)
            for split in range(lo + 1, hi):
                if counts[split - 1] == 0 and counts[split] == 0:
                    continue
                gain = (
                    whole
                    - _segment_cost(prefix_n, prefix_s, prefix_q, lo, split)
                    - _segment_cost(prefix_n, prefix_s, prefix_q, split, hi)
                )
                if gain > best_gain:
                    best_gain, best_split, best_segment = gain, split, (lo, hi)
        if best_split < 0:
            break
        boundaries.append(best_split)
        segments.remove(best_segment)
        segments += [(best_segment[0], best_split), (best_split, best_segment[1])]
    return sorted(boundaries)


@dataclass(frozen=True, slots=True)
class _Timeline:
    """The scored posts in time order: index into the input, bucket, seconds, score."""

    order: np.ndarray
    buckets: np.ndarray
    seconds: np.ndarray
    values: np.ndarray


def _refined(lo: int, boundary: int, hi: int, timeline: _Timeline) -> int:
    """The post (a position in ``timeline``) that opens the new segment: the buckets
    locate a shift to within a bucket or two, the posts to within a few posts. Among
    the posts of the buckets ``REFINE_BUCKETS`` either side of ``boundary``, the split
    of segment ``lo:hi`` (buckets, between its neighbouring shifts) with the smallest
    squared error around the two means."""
    buckets = timeline.buckets
    inside = np.flatnonzero((buckets >= lo) & (buckets < hi))
    first, last = int(inside[0]), int(inside[-1]) + 1
    segment = timeline.values[first:last]
    n = np.arange(1, len(segment))  # posts left of each split
    left = np.cumsum(segment)[:-1]
    total = float(segment.sum())
    # Lower squared error = larger n_l * n_r / N * (mean_l - mean_r)^2.
    gain = (left - n * total / len(segment)) ** 2 / (n * (len(segment) - n))
    candidate = (buckets[first + 1 : last] >= boundary - REFINE_BUCKETS) & (
        buckets[first + 1 : last] < boundary + REFINE_BUCKETS
    )
    if not candidate.any():
        return int(np.searchsorted(buckets, boundary))
    return first + 1 + int(np.flatnonzero(candidate)[np.argmax(gain[candidate])])


def _shift_at(
    opening: int, timeline: _Timeline, width: timedelta, n_illustrations: int
) -> ToneShift:
    """The shift between the post before ``opening`` and that post (halfway, to the
    second); means are over the whole series split there."""
    seconds, values = timeline.seconds, timeline.values
    at = float(np.floor((seconds[opening - 1] + seconds[opening]) / 2))
    before = float(values[:opening].mean())
    after = float(values[opening:].mean())
    near = np.flatnonzero(seconds[opening:] < at + 2 * width.total_seconds()) + opening
    direction = 1.0 if after >= before else -1.0
    leaning = near[np.argsort(-direction * values[near], kind="stable")[:n_illustrations]]
    return ToneShift(
        at=datetime.fromtimestamp(at, tz=UTC),
        before_mean=before,
        after_mean=after,
        post_indices=tuple(int(i) for i in timeline.order[leaning]),
    )
