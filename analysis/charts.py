"""Small server-rendered SVG charts: no script, no style attributes (CSP), with alt text.

Each chart is an ``<svg role="img">`` labelled by its own ``<title>`` and
``<desc>``; colours are presentation attributes, which CSP does not restrict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

INK = "#1b1f24"
MUTED = "#4a5562"
LINE = "#c9d1db"
ACCENT = "#0b5cad"
DANGER = "#a3161b"
MARK = "#8a6100"


def _open(width: int, height: int, chart_id: str, title: str, desc: str, css: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css)}" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def share_sparkline(
    share: dict[str, Any], *, chart_id: str, title: str, desc: str, width: int = 160
) -> SafeString:
    """A theme's share of posts per time bucket as a small filled line."""
    values = [float(v) for v in share.get("values", [])]
    height, pad = 32, 2
    parts = _open(width, height, chart_id, title, desc, "sparkline")
    parts.append(
        f'<line x1="0" y1="{height - pad}" x2="{width}" y2="{height - pad}" stroke="{LINE}"/>'
    )
    if values:
        top = max(values) or 1.0
        step = (width - 2 * pad) / max(1, len(values) - 1)
        points = [
            (pad + i * step, height - pad - (value / top) * (height - 2 * pad))
            for i, value in enumerate(values)
        ]
        if len(points) == 1:
            points.append((width - pad, points[0][1]))
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polygon points="{pad:.1f},{height - pad} {path} {points[-1][0]:.1f},{height - pad}" '
            f'fill="{ACCENT}" fill-opacity="0.2" stroke="none"/>'
        )
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{ACCENT}" stroke-width="1.5"/>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


def tone_sparkline(
    tone: dict[str, Any], *, chart_id: str, title: str, desc: str, width: int = 160
) -> SafeString:
    """Mean sentiment per bucket (-1 to 1) as a small line around a zero line;
    buckets without scored posts leave gaps."""
    means: list[float | None] = list(tone.get("means", []))
    height, pad = 32, 2
    parts = _open(width, height, chart_id, title, desc, "sparkline")
    middle = height / 2
    parts.append(
        f'<line x1="0" y1="{middle:.1f}" x2="{width}" y2="{middle:.1f}" stroke="{LINE}" '
        f'stroke-dasharray="3 2"/>'
    )
    step = (width - 2 * pad) / max(1, len(means) - 1)
    segment: list[str] = []
    for i, mean in enumerate([*means, None]):
        if mean is None:
            if len(segment) == 1:
                cx, cy = segment[0].split(",")
                parts.append(f'<circle cx="{cx}" cy="{cy}" r="1.5" fill="{ACCENT}"/>')
            elif segment:
                parts.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{ACCENT}" '
                    f'stroke-width="1.5"/>'
                )
            segment = []
            continue
        y = middle - float(mean) * (middle - pad)
        segment.append(f"{pad + i * step:.1f},{y:.1f}")
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


def sentiment_timeline(
    timeline: dict[str, Any],
    *,
    shifts: Sequence[tuple[datetime, float, float, str]],
    markers: Sequence[tuple[datetime, str, str]],
    chart_id: str,
    title: str,
    desc: str,
    width: int = 720,
    height: int = 220,
) -> SafeString:
    """Mean sentiment per time bucket (-1 to 1), shifts as red lines with their means,
    jam events (phase changes, alerts) as amber ticks along the top."""
    means: list[float | None] = list(timeline.get("means", []))
    left, right, top, bottom = 40, 10, 24, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = _open(width, height, chart_id, title, desc, "timeline")
    if not means:
        parts.append("</svg>")
        return mark_safe("".join(parts))  # noqa: S308 - static markup
    start = datetime.fromisoformat(timeline["start"])
    bucket = timedelta(seconds=float(timeline["width"]))
    end = start + bucket * len(means)
    span = max((end - start).total_seconds(), 1.0)

    def x_of(moment: datetime) -> float:
        return left + plot_w * min(max((moment - start).total_seconds() / span, 0.0), 1.0)

    def y_of(value: float) -> float:
        return top + plot_h * (1 - (value + 1) / 2)

    for value, label in ((1.0, "+1"), (0.0, "0"), (-1.0, "\u22121")):
        y = y_of(value)
        dash = ' stroke-dasharray="4 3"' if value else ""
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
            f'stroke="{LINE}"{dash}/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{MUTED}">{label}</text>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, mean in enumerate(means):
        if mean is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x = x_of(start + bucket * (i + 0.5))
        segment.append(f"{x:.1f},{y_of(float(mean)):.1f}")
    if segment:
        segments.append(segment)
    for points in segments:
        if len(points) == 1:
            cx, cy = points[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{ACCENT}"/>')
        else:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{ACCENT}" '
                f'stroke-width="2"/>'
            )
    for at, before, after, label in shifts:
        x = x_of(at)
        parts.append(
            f"<g><title>{escape(label)}</title>"
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{DANGER}" '
            f'stroke-width="2"/>'
            f'<line x1="{left}" y1="{y_of(before):.1f}" x2="{x:.1f}" y2="{y_of(before):.1f}" '
            f'stroke="{DANGER}" stroke-dasharray="2 3"/>'
            f'<line x1="{x:.1f}" y1="{y_of(after):.1f}" x2="{width - right}" '
            f'y2="{y_of(after):.1f}" stroke="{DANGER}" stroke-dasharray="2 3"/></g>'
        )
    for at, name, text in markers:
        if not start <= at <= end:
            continue
        x = x_of(at)
        shape = (
            f'<polygon points="{x - 4:.1f},{top - 12} {x + 4:.1f},{top - 12} {x:.1f},{top - 4}" '
            f'fill="{MARK}"/>'
            if name == "alert"
            else f'<rect x="{x - 1:.1f}" y="{top - 14}" width="2" height="{plot_h + 14}" '
            f'fill="{MUTED}" fill-opacity="0.6"/>'
        )
        parts.append(f"<g><title>{escape(f'{name}: {text}' if text else name)}</title>{shape}</g>")
    for moment, anchor in ((start, "start"), (end, "end")):
        parts.append(
            f'<text x="{x_of(moment):.1f}" y="{height - 8}" text-anchor="{anchor}" '
            f'font-size="11" fill="{INK}">{escape(moment.strftime("%Y-%m-%d %H:%M"))} UTC</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped


def count_bars(
    counts: Sequence[int],
    *,
    start: datetime,
    end: datetime,
    chart_id: str,
    title: str,
    desc: str,
    width: int = 720,
    height: int = 120,
) -> SafeString:
    """A count per time bucket (``start`` to ``end``, equal buckets) as bars
    over a time axis labelled at both ends in UTC, the largest count at the
    top left."""
    left, right, top, bottom = 40, 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = _open(width, height, chart_id, title, desc, "chart count-bars")
    peak = max(counts, default=0)
    base = top + plot_h
    parts.append(
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="{MUTED}"/>'
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" font-size="11" '
        f'fill="{MUTED}">{peak}</text>'
    )
    step = plot_w / max(1, len(counts))
    bar_w = max(1.0, step * 0.8)
    for i, count in enumerate(counts):
        if count:
            h = max(1.0, plot_h * count / peak)
            parts.append(
                f'<rect x="{left + i * step:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{ACCENT}"/>'
            )
    for moment, x, anchor in ((start, left, "start"), (end, width - right, "end")):
        parts.append(
            f'<text x="{x}" y="{height - 8}" text-anchor="{anchor}" font-size="11" '
            f'fill="{INK}">{escape(moment.strftime("%Y-%m-%d %H:%M"))} UTC</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped
