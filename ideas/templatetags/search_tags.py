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
    pieces = [escape(piece) for piece in (pattern.split(shown) if pattern else [shown])]
    found = (
        [f"<mark>{escape(m.group(0))}</mark>" for m in pattern.finditer(shown)] if pattern else []
    )
    html = "".join(p + (found[i] if i < len(found) else "") for i, p in enumerate(pieces))
    return mark_safe(("… " if start else "") + html + (" …" if end < len(text) else ""))  # noqa: S308  every piece of text is escaped above
