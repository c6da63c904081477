"""Folding text for search: lower case, accents and other marks off, so that
"ecole" finds "École", "strasse" finds "Straße" and "senor" finds "Señor".

The same folding runs in Python (queries, highlighting, SQLite's
``jam_match`` and ``jam_rank`` functions) and in PostgreSQL (the
``jam_fold`` SQL function of migration 0003, from which the posts' stored
words, migration 0004, and the ideas' title index are made): lower case, the
compatibility decomposition (NFKD: "é" becomes "e" and a combining accent,
"ﬁ" becomes "fi"), the combining marks in ``MARKS`` removed, and the
``LETTERS`` that have no decomposition ("ß", "ø", "ł", ...) spelled out.
A test holds the two to the same output.

The themes' clustering folds accents its own way
(analysis.pipeline.text.fold_accents: case kept, every combining mark
off, only "ß" spelled out); it is not this one, so that a change to search
does not change a jam's themes.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata

from django.db.backends.base.base import BaseDatabaseWrapper

from .models import post_text

MARKS = r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
"""The combining marks folding removes (diacritics of Latin, Greek and
Cyrillic letters), as a regular expression both Python and PostgreSQL read."""

LETTERS = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "þ": "th",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "ħ": "h",
    "ı": "i",  # noqa: RUF001  the dotless i is the point
    "ς": "σ",  # noqa: RUF001  final sigma to sigma
}
"""Lower-case letters without a decomposition, and what they fold to (the
Greek final sigma: Python's lower() writes it at a word's end, PostgreSQL's
never does)."""

_MARKS = re.compile(MARKS)
_LETTERS = str.maketrans(LETTERS)


def fold(text: str) -> str:
    """``text`` as the search sees it (see the module's docstring)."""
    if text.isascii():
        return text.lower()
    return _MARKS.sub("", unicodedata.normalize("NFKD", text.lower())).translate(_LETTERS)


def folded_with_origins(text: str) -> tuple[str, list[int]]:
    """``text`` folded one character at a time, and for each character of the
    result the index in ``text`` of the character it came from (a match in
    the folded text is marked in the original)."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    parts, origins = [], []
    for index, char in enumerate(text):
        folded = fold(char)
        parts.append(folded)
        origins += [index] * len(folded)
    return "".join(parts), origins


def postgresql_function_sql() -> str:
    """The SQL that defines ``jam_fold(text)`` in PostgreSQL as ``fold``
    (migration 0003 holds a copy: a migration must not change when this
    module does; tests/ideas/test_search.py compares the two)."""
    single = {k: v for k, v in LETTERS.items() if len(v) == 1}
    expression = f"regexp_replace(normalize(lower($1), NFKD), '{MARKS}', '', 'g')"
    expression = f"translate({expression}, '{''.join(single)}', '{''.join(single.values())}')"
    for letter, spelled in LETTERS.items():
        if len(spelled) > 1:
            expression = f"replace({expression}, '{letter}', '{spelled}')"
    # As in fold(), ASCII (as many bytes as characters) only needs lower():
    # a search that rechecks rows, and an index build, fold most texts cheaply.
    # Not STRICT: PostgreSQL inlines a strict function only if its body is
    # strict, which a CASE is not, and a call that is not inlined costs
    # about as much again as the folding (NULL still gives NULL).
    return (
        "CREATE OR REPLACE FUNCTION jam_fold(text) RETURNS text"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT"
        f" CASE WHEN octet_length($1) = length($1) THEN lower($1) ELSE {expression} END $$"
    )


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _match(title: str | None, text: str | None, pattern: str | None) -> bool | None:
    """Whether ``text`` (with ``title``, an opening post's idea title:
    ideas.models.post_text), folded, has a match of ``pattern`` (NULL for
    NULL)."""
    if text is None or pattern is None:
        return None
    return _compiled(pattern).search(fold(post_text(title, text))) is not None


_WORD = re.compile(r"[^\W_]+")


def _rank(title: str | None, text: str | None, *patterns: str) -> float | None:
    """How well ``text`` (with ``title``, as for ``_match``) matches: the
    matches of the ``patterns`` in it, folded, for its length (divided by
    the natural log of 1 + its words, as PostgreSQL's ``ts_rank_cd(..., 1)``
    divides its own measure); NULL for NULL."""
    if text is None:
        return None
    folded = fold(post_text(title, text))
    found = sum(len(_compiled(pattern).findall(folded)) for pattern in patterns)
    return found / math.log(1 + max(1, len(_WORD.findall(folded))))


def sqlite_functions_add(connection: BaseDatabaseWrapper, **_: object) -> None:
    """Give an SQLite connection ``jam_match(title, text, pattern)`` and
    ``jam_rank(title, text, pattern, ...)`` (the connection_created signal): the
    search's one Python call per row and term, where a folding function and
    then Django's REGEXP would be two (about twice the time), and its
    ranking."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("jam_match", 3, _match, deterministic=True)
        connection.connection.create_function("jam_rank", -1, _rank, deterministic=True)
