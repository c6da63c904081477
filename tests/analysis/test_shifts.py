from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from analysis.pipeline.evaluate import planted_tone_series
from analysis.pipeline.shifts import choose_bucket_width, detect_tone_shifts


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_shift_is_found_within_an_hour(seed: int) -> None:
    timestamps, scores, planted = planted_tone_series(seed, shift_at_hours=20.4)
    result = detect_tone_shifts(timestamps, scores)
    assert len(result.shifts) == 1
    shift = result.shifts[0]
    assert abs(shift.at - planted) <= timedelta(hours=1)
    assert shift.before_mean == pytest.approx(0.1, abs=0.05)
    assert shift.after_mean == pytest.approx(-0.15, abs=0.05)


def _clean_series(
    changes: list[tuple[float, float]], hours: float = 48.0, per_hour: int = 40
) -> tuple[list[datetime], list[float | None]]:
    """Posts evenly spread over ``hours``, tone ``level`` from each ``(hour, level)`` on,
    with little noise: the exact moment of each change is in the data."""
    rng = np.random.default_rng(7)
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    offsets = np.sort(rng.uniform(0, hours, int(hours * per_hour)))
    levels = np.full(len(offsets), 0.2)
    for hour, level in changes:
        levels[offsets >= hour] = level
    scores = np.clip(levels + rng.normal(0, 0.05, len(offsets)), -1, 1)
    return [start + timedelta(hours=float(h)) for h in offsets], [float(x) for x in scores]


def test_shifts_are_placed_between_posts_not_on_bucket_edges() -> None:
    """Buckets are hourly; shifts at :24 and :41 past are located to the minute, each
    between its neighbouring shifts."""
    timestamps, scores = _clean_series([(11.4, -0.3), (30.683, 0.4)])
    shifts = detect_tone_shifts(timestamps, scores).shifts
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    assert len(shifts) == 2
    for shift, hours in zip(shifts, (11.4, 30.683), strict=True):
        assert abs(shift.at - (start + timedelta(hours=hours))) <= timedelta(minutes=3)
    assert shifts[0].after_mean < shifts[0].before_mean
    assert shifts[1].after_mean > shifts[1].before_mean


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stationary_series_has_no_shift(seed: int) -> None:
    timestamps, scores, _ = planted_tone_series(seed, shift_at_hours=None)
    assert detect_tone_shifts(timestamps, scores).shifts == ()


def test_illustrating_posts_follow_the_shift_and_lean_its_way() -> None:
    timestamps, scores, _ = planted_tone_series(0, shift_at_hours=20.4)
    shift = detect_tone_shifts(timestamps, scores, n_illustrations=3).shifts[0]
    assert len(shift.post_indices) == 3
    for index in shift.post_indices:
        assert timestamps[index] >= shift.at
        score = scores[index]
        assert score is not None
        assert score < shift.after_mean


def test_unscored_posts_are_ignored() -> None:
    timestamps, scores, planted = planted_tone_series(0, shift_at_hours=20.4)
    with_gaps = [None if i % 5 == 0 else s for i, s in enumerate(scores)]
    shifts = detect_tone_shifts(timestamps, with_gaps).shifts
    assert len(shifts) == 1
    assert abs(shifts[0].at - planted) <= timedelta(hours=1)


def test_buckets_are_hourly_and_on_the_clock() -> None:
    timestamps, scores, _ = planted_tone_series(0, shift_at_hours=None)
    buckets = detect_tone_shifts(timestamps, scores).buckets
    assert buckets.width == timedelta(hours=1)
    assert buckets.start.minute == 0
    assert buckets.counts.sum() == len(scores)


@pytest.mark.parametrize(
    ("span", "width"),
    [
        (timedelta(hours=72), timedelta(hours=1)),
        (timedelta(hours=3), timedelta(minutes=15)),
        (timedelta(days=30), timedelta(hours=3)),
    ],
)
def test_bucket_width_adapts_to_jam_length(span: timedelta, width: timedelta) -> None:
    assert choose_bucket_width(span) == width


def test_nothing_scored_gives_nothing() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert detect_tone_shifts([now, now], [None, None]).shifts == ()


def test_mismatched_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="same length"):
        detect_tone_shifts([datetime(2025, 1, 1, tzinfo=UTC)], [])
