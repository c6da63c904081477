"""Markdown to safe HTML, once, when a post is written."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "breaks": True}).disable("image")

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9._+-]{0,63})")


def markdown_render(text: str) -> str:
    html = _markdown.render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer ugc",
    )


def mentions_find(text: str) -> set[str]:
    """Handles written as @name (the part of a member's email before the @)."""
    return {m.rstrip(".").lower() for m in MENTION.findall(text)}
