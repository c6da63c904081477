"""The search results' excerpts (the part of a post where the words are,
with them marked) and when the posts found were written (a chart and its
summary)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext_lazy

from analysis import charts
from ideas.folding import folded_with_origins
from ideas.search import OverTime

register = template.Library()

EXCERPT_LENGTH = 320
LEAD = 80
"""How much of the text before the first found word an excerpt shows."""


def _words_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*")


@register.filter
def search_excerpt(text: str, words: Sequence[str]) -> SafeString:
    """About EXCERPT_LENGTH characters of ``text`` from a little before the
    first word of ``words`` (folded, as ideas.search parses them) it has,
    each word found in a ``<mark>``, as it is written ("École" for "ecole");
    the rest escaped."""
    text = " ".join(text.split())
    pattern = _words_pattern(words)
    folded, origins = folded_with_origins(text)
    found = [
        (origins[match.start()], origins[match.end() - 1] + 1)
        for match in (pattern.finditer(folded) if pattern else ())
    ]
    first = found[0][0] if found else None
    start = 0
    if first is not None and first > LEAD:
        space = text.rfind(" ", 0, first - LEAD)
        start = space + 1 if space >= 0 else first - LEAD
    end = start + EXCERPT_LENGTH
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    html, done = [], start
    for word_start, word_end in found:
        if word_start < start or word_end > end:
            continue
        html += [escape(text[done:word_start]), f"<mark>{escape(text[word_start:word_end])}</mark>"]
        done = word_end
    html.append(escape(text[done:end]))
    return mark_safe(("… " if start else "") + "".join(html) + (" …" if end < len(text) else ""))  # noqa: S308  every piece of text is escaped above


PEAKS = {
    "hour": (
        "%Y-%m-%d %H:%M",
        ngettext_lazy(
            "Most in the hour from %(when)s UTC: %(n)d post, %(share)d %% of that hour's posts.",
            "Most in the hour from %(when)s UTC: %(n)d posts, %(share)d %% of that hour's posts.",
            "n",
        ),
    ),
    "day": (
        "%Y-%m-%d",
        ngettext_lazy(
            "Most on %(when)s (UTC): %(n)d post, %(share)d %% of that day's posts.",
            "Most on %(when)s (UTC): %(n)d posts, %(share)d %% of that day's posts.",
            "n",
        ),
    ),
    "week": (
        "%Y-%m-%d",
        ngettext_lazy(
            "Most in the week from %(when)s (UTC): %(n)d post, %(share)d %% of that week's posts.",
            "Most in the week from %(when)s (UTC): %(n)d posts, %(share)d %% of that week's posts.",
            "n",
        ),
    ),
}
"""Per bucket unit: how its start is written, and the sentence on the peak."""


@register.simple_tag
def words_peak(over_time: OverTime) -> str:
    """When most of the posts found were written, and their share of all the
    posts written then; empty when none was found."""
    peak = over_time.peak
    if peak is None or not peak.found:
        return ""
    when, text = PEAKS[over_time.unit]
    return text % {"when": peak.start.strftime(when), "n": peak.found, "share": peak.share_percent}


@register.simple_tag
def words_chart(over_time: OverTime, chart_id: str = "search-over-time") -> SafeString:
    """The posts found per hour, day or week as bars (see words_peak)."""
    if not over_time.buckets:
        return mark_safe("")
    title = {
        "hour": _("Posts found per hour"),
        "day": _("Posts found per day"),
        "week": _("Posts found per week"),
    }[over_time.unit]
    start, end = over_time.buckets[0].start, over_time.buckets[-1].end
    desc = _("From %(start)s to %(end)s UTC.") % {
        "start": start.strftime("%Y-%m-%d %H:%M"),
        "end": end.strftime("%Y-%m-%d %H:%M"),
    }
    return charts.count_bars(
        [bucket.found for bucket in over_time.buckets],
        start=start,
        end=end,
        chart_id=chart_id,
        title=title,
        desc=f"{desc} {words_peak(over_time)}".strip(),
    )
