"""Emerging and fading themes from posts per time bucket."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.pipeline.evaluate import planted_theme_jam
from analysis.pipeline.trends import Direction, theme_trend


def test_a_theme_that_triples_late_is_emerging_since_then() -> None:
    totals = np.full(40, 50.0)
    counts = np.where(np.arange(40) < 30, 5.0, 15.0)  # 10 %, then 30 %
    trend = theme_trend(counts, totals)
    assert trend is not None and trend.direction == Direction.EMERGING
    assert trend.since_bucket == 30
    assert trend.earlier_share == pytest.approx(0.1) and trend.recent_share == pytest.approx(0.3)


def test_a_theme_that_shrinks_late_is_fading_and_a_flat_one_steady() -> None:
    totals = np.full(40, 50.0)
    fading = theme_trend(np.where(np.arange(40) < 25, 20.0, 5.0), totals)
    assert fading is not None and fading.direction == Direction.FADING
    assert fading.since_bucket == 25
    steady = theme_trend(np.full(40, 10.0), totals)
    assert steady is not None and steady.direction == Direction.STEADY


def test_a_change_early_in_the_jam_is_not_called_emerging() -> None:
    # Risen in the first fifth and flat since: history, not news. (Compared with
    # everything before it, the later half would look risen: 20 % -> 30 %.)
    totals = np.full(50, 40.0)
    counts = np.where(np.arange(50) < 10, 2.0, 12.0)
    trend = theme_trend(counts, totals)
    assert trend is not None and trend.direction == Direction.STEADY
    assert trend.since_bucket == 10 and trend.recent_share == pytest.approx(0.3)


def test_a_late_rise_after_an_early_one_is_told_from_the_segment_before_it() -> None:
    totals = np.full(60, 40.0)
    counts = np.select([np.arange(60) < 10, np.arange(60) < 45], [2.0, 8.0], 20.0)
    trend = theme_trend(counts, totals)
    assert trend is not None and trend.direction == Direction.EMERGING
    assert trend.since_bucket == 45
    assert trend.earlier_share == pytest.approx(0.2) and trend.recent_share == pytest.approx(0.5)


def test_too_few_posts_tell_nothing() -> None:
    assert theme_trend(np.array([1.0, 2.0, 1.0]), np.array([10.0, 10.0, 10.0])) is None
    assert theme_trend(np.zeros(5), np.zeros(5)) is None
    with pytest.raises(ValueError, match="one value per bucket"):
        theme_trend(np.zeros(3), np.zeros(4))


def test_planted_changes_are_found_and_stationary_jams_rarely_flag_one() -> None:
    seeds = range(60)
    tripled = [theme_trend(*_theme_zero(planted_theme_jam(s, factor=3.0))) for s in seeds]
    # Evaluation (200 other jams): see docs/analysis.md, trends.
    assert sum(t is not None and t.direction == Direction.EMERGING for t in tripled) >= 0.8 * 60
    flagged = 0
    for seed in seeds:
        counts, totals, _ = planted_theme_jam(10_000 + seed, factor=None)
        flagged += any(
            (trend := theme_trend(counts[:, j], totals)) is not None
            and trend.direction != Direction.STEADY
            for j in range(counts.shape[1])
        )
    assert flagged <= 0.1 * 60


def _theme_zero(jam: tuple[np.ndarray, np.ndarray, int]) -> tuple[np.ndarray, np.ndarray]:
    counts, totals, _ = jam
    return counts[:, 0], totals
