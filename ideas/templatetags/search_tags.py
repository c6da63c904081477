"""The search results' excerpts: the part of a post where the words are,
with them marked."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ideas.folding import folded_with_origins

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
