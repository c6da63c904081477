"""Every user-facing string in the templates goes through translation."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = sorted(
    p for p in (ROOT / "templates").rglob("*") if p.suffix in {".html", ".txt"} and p.is_file()
)
# Text that is the same in every language.
NEUTRAL = re.compile(r"^[\W\d_]*(Jam)?[\W\d_]*$")
# Attribute fragments of a tag split by template tags (body_attrs blocks).
ATTRIBUTES = re.compile(r"^((data|aria)-[\w-]+(=\S*)?\s*)+$")
TAG = re.compile(r"<[^>]*>", re.S)
RAW = re.compile(r"<(script|style|svg)\b.*?</\1>|<!--.*?-->", re.S)


def untranslated_text(source: str) -> list[str]:
    """Literal template text outside translation tags, HTML tags, comments,
    scripts and styles that contains letters."""
    flat = []
    inside_translation = 0
    for token in Lexer(source).tokenize():
        if token.token_type is TokenType.BLOCK:
            name = token.contents.split()[0] if token.contents else ""
            if name in ("blocktranslate", "blocktrans"):
                inside_translation += 1
            elif name in ("endblocktranslate", "endblocktrans"):
                inside_translation -= 1
            flat.append(" \x00 ")
        elif token.token_type is TokenType.TEXT and not inside_translation:
            flat.append(token.contents)
        else:
            flat.append(" \x00 ")
    text = RAW.sub(" ", "".join(flat))
    text = TAG.sub("\n", text)
    found = []
    for chunk in re.split(r"\n|\x00", text):
        words = html.unescape(chunk).strip()
        if (
            words
            and re.search(r"[^\W\d_]", words)
            and not NEUTRAL.match(words)
            and not ATTRIBUTES.match(words.strip("\"' "))
        ):
            found.append(words)
    return found


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_template_text_is_marked_for_translation(path: Path) -> None:
    assert untranslated_text(path.read_text()) == []


def test_the_check_finds_unmarked_text() -> None:
    source = (
        '<p>Hello</p>{% translate "Fine" %}<b>{{ name }}</b> · '
        "{% blocktranslate %}Ok {{ x }}{% endblocktranslate %}"
    )
    assert untranslated_text(source) == ["Hello"]
