"""The search results' excerpts: the part of a post where the words are,
with them marked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

EXCERPT_LENGTH = 320
LEAD = 80
"""How much of the text before the first found word an excerpt shows."""


def _words_pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))
    return re.compile(rf"(?<![^\W_])(?:{alternatives})[^\W_]*", re.IGNORECASE)


@register.filter
def search_excerpt(text: str, words: Sequence[str]) -> SafeString:
    """About EXCERPT_LENGTH characters of ``text`` from a little before the
    first word of ``words`` it has, each word found in a ``<mark>``; the rest
    escaped."""
    text = " ".join(text.split())
    pattern = _words_pattern(words)
    first = pattern.search(text) if pattern else None
    start = 0
    if first and first.start() > LEAD:
        space = text.rfind(" ", 0, first.start() - LEAD)
        start = space + 1 if space >= 0 else first.start() - LEAD
    end = start + EXCERPT_LENGTH
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    shown = text[start:end]
    html, done = [], 0
    for match in pattern.finditer(shown) if pattern else ():
        html += [escape(shown[done : match.start()]), f"<mark>{escape(match.group(0))}</mark>"]
        done = match.end()
    html.append(escape(shown[done:]))
    return mark_safe(("… " if start else "") + "".join(html) + (" …" if end < len(text) else ""))  # noqa: S308  every piece of text is escaped above
