"""Emerging and fading themes: did a theme's share of the posts rise, or fall,
in the later part of the jam, and since when?

For each theme, its posts per time bucket are segmented where its share
changes: binary segmentation on the binomial likelihood, a change point kept
while its likelihood ratio statistic exceeds ``PENALTY * ln(posts)`` (the
search over boundaries and themes makes an ordinary test's threshold far too
low), each segment holding at least ``MIN_POSTS`` posts. The theme is
emerging (fading) when its last change point leaves at most ``RECENT_MAX`` of
the posts after it and the odds
of a post being in the theme there are at least ``MIN_ODDS_RATIO`` times
(at most 1 / that) what they were in the segment before: the factor by which
people's interest in the theme grew, or shrank, relative to the others.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy.special import xlogy

RECENT_MAX = 0.5
"""Most share of the posts after the last change point: an emerging theme rose in
the later half of the jam (a change earlier on is history, not news)."""
PENALTY = 2.0
"""Times ``ln(posts)`` a change point's likelihood ratio statistic must exceed.
Chosen from 1.5 / 2 / 2.5 on planted jams (``evaluate.planted_theme_jam``, seeds
the evaluation does not use): a false trend in 4 / 1 / 0 % of stationary jams of
8 themes, a doubled theme found in 73 / 61 / 47 %, a tripled one in 97 / 94 / 91 %."""
MIN_ODDS_RATIO = 1.5
"""How much the odds of a post being in the theme must grow (or shrink, 1 / this)."""
MIN_POSTS = 30
"""Posts each segment must hold."""
MAX_CHANGES = 3
"""Change points looked for per theme; the trend is told from the last."""


class Direction(StrEnum):
    EMERGING = "emerging"
    FADING = "fading"
    STEADY = "steady"


@dataclass(frozen=True, slots=True)
class ThemeTrend:
    direction: Direction
    earlier_share: float
    recent_share: float
    since_bucket: int
    """First bucket after the last change point (for a theme without one, the
    middle of the posts: the shares are then of the halves)."""
    statistic: float
    """Likelihood ratio statistic of the last change point (0 without one)."""


def theme_trend(
    counts: Sequence[float] | np.ndarray, totals: Sequence[float] | np.ndarray
) -> ThemeTrend | None:
    """The trend of a theme with ``counts`` posts per bucket out of ``totals``;
    None when the jam is too small to split."""
    theme = np.asarray(counts, dtype=np.float64)
    everyone = np.asarray(totals, dtype=np.float64)
    if theme.shape != everyone.shape:
        raise ValueError("counts and totals must have one value per bucket")
    n = everyone.sum()
    if n < 2 * MIN_POSTS:
        return None
    posts = np.concatenate([[0.0], np.cumsum(everyone)])
    members = np.concatenate([[0.0], np.cumsum(theme)])
    splits = _segmented(posts, members, PENALTY * math.log(n))
    if not splits:
        return _steady(posts, members, n)
    last = splits[-1]
    bounds = [0, *splits, len(everyone)]
    start, end = bounds[-3], bounds[-1]
    early_n, late_n = posts[last] - posts[start], posts[end] - posts[last]
    earlier = (members[last] - members[start]) / early_n
    recent = (members[end] - members[last]) / late_n
    statistic = float(_gains(posts, members, start, np.array([last]), end)[0])
    direction = Direction.STEADY
    if late_n <= RECENT_MAX * n:
        ratio = _odds(recent) / _odds(earlier)
        if ratio >= MIN_ODDS_RATIO:
            direction = Direction.EMERGING
        elif ratio <= 1 / MIN_ODDS_RATIO:
            direction = Direction.FADING
    return ThemeTrend(direction, float(earlier), float(recent), last, float(statistic))


def _segmented(posts: np.ndarray, members: np.ndarray, penalty: float) -> list[int]:
    """Change points by binary segmentation (bucket indexes, ascending): a segment
    is split where the likelihood gains most, while the gain exceeds ``penalty``."""
    splits: list[int] = []
    pending = [(0, len(posts) - 1)]
    while pending and len(splits) < MAX_CHANGES:
        best: tuple[float, int, int, int] | None = None
        for start, end in pending:
            candidates = np.arange(start + 1, end)
            left = posts[candidates] - posts[start]
            right = posts[end] - posts[candidates]
            candidates = candidates[(left >= MIN_POSTS) & (right >= MIN_POSTS)]
            if len(candidates) == 0:
                continue
            gains = _gains(posts, members, start, candidates, end)
            top = int(gains.argmax())
            if best is None or gains[top] > best[0]:
                best = (float(gains[top]), start, int(candidates[top]), end)
        if best is None or best[0] <= penalty:
            break
        _, start, split, end = best
        splits.append(split)
        pending.remove((start, end))
        pending += [(start, split), (split, end)]
    return sorted(splits)


def _gains(
    posts: np.ndarray, members: np.ndarray, start: int, splits: np.ndarray, end: int
) -> np.ndarray:
    """Likelihood ratio statistics of splitting buckets [start, end) at each of ``splits``."""

    def fit(low: np.ndarray | int, high: np.ndarray | int) -> np.ndarray:
        return _log_likelihood(members[high] - members[low], posts[high] - posts[low])

    return 2 * (fit(start, splits) + fit(splits, end) - fit(start, end))


def _steady(posts: np.ndarray, members: np.ndarray, n: float) -> ThemeTrend:
    """No change point: one share before and after the middle of the posts."""
    middle = int(np.searchsorted(posts, n / 2))
    middle = min(max(middle, 1), len(posts) - 2)
    earlier = members[middle] / max(posts[middle], 1.0)
    recent = (members[-1] - members[middle]) / max(posts[-1] - posts[middle], 1.0)
    return ThemeTrend(Direction.STEADY, float(earlier), float(recent), middle, 0.0)


def _log_likelihood(successes: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """Binomial log-likelihood at the maximum (p = successes / trials), elementwise."""
    successes, trials = np.asarray(successes, dtype=np.float64), np.asarray(trials, np.float64)
    safe = np.maximum(trials, 1e-12)
    failures = trials - successes
    return xlogy(successes, successes / safe) + xlogy(failures, failures / safe)


def _odds(share: float) -> float:
    """Odds of a share, kept finite at 0 and 1."""
    share = min(max(share, 1e-6), 1 - 1e-6)
    return share / (1 - share)
