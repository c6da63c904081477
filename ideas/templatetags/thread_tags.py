"""A thread's posts as HTML, in one pass: ``{% post_tree thread.opening %}``.

This was an ``{% include %}`` of a post template per post. A 500-post thread
took ~236 ms to render that way, nearly all of it in the template engine
(~150 nodes per post: URL reversals, ``{% csrf_token %}`` and
``{% translate %}`` per form, number localization of every id). Here what is
the same for every post (labels, URL shapes, the CSRF field, the viewer's
permissions) is worked out once per page, and each post is one
``format_html``-style string. The markup is the one the template produced
(landmarks, labels and ids are unchanged; static/js/jam.js relies on
``#post-<id>``, ``[data-post-id]``, ``[data-body]``, ``[data-count]``,
``[data-replies]`` and ``[data-react]``). Values are escaped with the standard
library's ``html.escape``, which is what ``django.utils.html.escape`` calls
(without its lazy-string wrapper). It reads only what
``ideas.selectors.thread_for_idea`` loaded (``ThreadPost``); no queries.
The thread page has the tree spliced into its response as bytes
(``TreeSlot``) rather than carried through the template's text.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import cast

from django import template
from django.conf import settings
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.dateformat import DateFormat, re_escaped, re_formatchars
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_noop

from ideas.selectors import PostNode

register = template.Library()

REACTIONS = ("agree", "disagree", "pass")


# What each format character of django.utils.dateformat reads of a local
# datetime, for the ones that read nothing else: the date, the hour, the
# minute, or the hour and minute. The others (seconds, time zone names and
# offsets, "c", "r", "U") are formatted for each value.
_READS: dict[str, Callable[[datetime], tuple[int, ...]]] = {
    **dict.fromkeys("bdDEFjlLmMnNoStwWyYz", lambda d: (d.year, d.month, d.day)),
    **dict.fromkeys("aAgGhH", lambda d: (d.hour,)),
    "i": lambda d: (d.minute,),
    **dict.fromkeys("fP", lambda d: (d.hour, d.minute)),
}


class LocalDates:
    """``date_format(localtime(value), format_name)`` (what ``{{ value|date:
    "DATETIME_FORMAT" }}`` prints) for many values, in the time zone current
    when this is made, for one rendering (in one language: month names and
    "p.m." are translated as they are first needed).

    ``date_format`` looks the format up and parses it on every call, and a
    month name or "p.m." is a translation lookup each time: ~30-60 us a
    value, 10-31 ms for a 500-post thread. Here the format is looked up and
    split once, and each of its parts is formatted by ``DateFormat``'s own
    method, once for each distinct value of what it reads (the month name
    once per day, "p.m." once per hour, "3:07 p.m." once per minute of the
    day).
    """

    def __init__(self, format_name: str) -> None:
        self.zone = timezone.get_current_timezone()
        parts = re_formatchars.split(str(formats.get_format(format_name)))
        # Format characters, and literal text unescaped as DateFormat does.
        self.parts = [
            (part, "") if i % 2 else ("", re_escaped.sub(r"\1", part))
            for i, part in enumerate(parts)
            if part
        ]
        self.memo: dict[tuple[str, tuple[int, ...]], str] = {}
        # One DateFormat for the parts in _READS, given each value in turn:
        # they read only its date and time of day, not what DateFormat
        # works out of its time zone when it is made.
        self.reader = _MemoDateFormat(timezone.localtime(timezone.now(), self.zone), self.memo)

    def __call__(self, value: datetime) -> str:
        local = timezone.localtime(value, self.zone)
        out = []
        for specifier, text in self.parts:
            if not specifier:
                out.append(text)
            elif reads := _READS.get(specifier):
                key = (specifier, reads(local))
                formatted = self.memo.get(key)
                if formatted is None:
                    self.reader.data = local
                    formatted = self.memo[key] = str(getattr(self.reader, specifier)())
                out.append(formatted)
            else:
                out.append(DateFormat(local).format(specifier))
        return "".join(out)


class _MemoDateFormat(DateFormat):
    """A DateFormat whose "a" and "A" (a translation lookup each, and "P"
    calls "a") come from the memo, once per hour."""

    def __init__(self, value: datetime, memo: dict[tuple[str, tuple[int, ...]], str]) -> None:
        super().__init__(value)
        self.memo = memo

    def a(self) -> str:
        return self._memo("a", super().a)

    def A(self) -> str:
        return self._memo("A", super().A)

    def _memo(self, specifier: str, format_part: Callable[[], str]) -> str:
        key = (specifier, _READS[specifier](cast(datetime, self.data)))
        formatted = self.memo.get(key)
        if formatted is None:
            formatted = self.memo[key] = str(format_part())
        return formatted


def _post_url(name: str, slug: str) -> Callable[[int], str]:
    """``reverse(name, args=[slug, post_id])`` for any post id, reversed once."""
    prefix, suffix = escape(reverse(name, args=[slug, 1])).rsplit("/1/", 1)
    return lambda post_id: f"{prefix}/{post_id}/{suffix}"


@dataclass(frozen=True)
class _Page:
    """What every post of the page shares, computed once."""

    labels: dict[str, str]
    csrf: str
    idea_url: str
    react_url: Callable[[int], str]
    edit_url: Callable[[int], str]
    flag_url: Callable[[int], str]
    hide_url: Callable[[int], str]
    staff: bool
    can_post: bool
    can_flag: bool
    can_reply: bool
    user_id: int | None
    number: Callable[[int], str]
    date: Callable[[datetime], str]
    # A reaction button up to its count, by reaction and whether it is the viewer's.
    reaction_button: dict[tuple[str, bool], str]


def _page(context: template.Context) -> _Page:
    jam, idea, can = context["jam"], context["idea"], context["can"]
    request = context.get("request")
    token = context.get("csrf_token") or (get_token(request) if request is not None else "")
    texts = {
        "agree": gettext_noop("Agree"),
        "disagree": gettext_noop("Disagree"),
        "pass": gettext_noop("Pass"),
        "edit": gettext_noop("Edit"),
        "edited": gettext_noop("edited"),
        "hidden": gettext_noop("Hidden by a facilitator."),
        "hidden_reason": gettext_noop("Hidden: %(reason)s"),
        "deleted": gettext_noop("deleted member"),
        "reply": gettext_noop("Reply"),
        "your_reply": gettext_noop("Your reply"),
        "post_reply": gettext_noop("Post reply"),
        "flag": gettext_noop("Flag"),
        "flag_reason": gettext_noop("What is wrong with it?"),
        "flag_submit": gettext_noop("Flag for facilitators"),
        "moderate": gettext_noop("Moderate"),
        "reason": gettext_noop("Reason"),
        "restore": gettext_noop("Restore"),
        "hide": gettext_noop("Hide"),
    }
    user = context.get("user")
    # Marked with gettext_noop so that makemessages keeps them in the
    # catalogs (they are translated here, by gettext on the variable);
    # translations are trusted text, as they are in templates.
    labels = {key: gettext(text) for key, text in texts.items()}
    disabled = "" if can.get("react") else " disabled"
    return _Page(
        labels=labels,
        csrf=f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(str(token))}">',
        # idea.get_absolute_url() would load idea.jam: the page's jam.
        idea_url=escape(reverse("ideas:idea", kwargs={"slug": jam.slug, "idea_id": idea.pk})),
        react_url=_post_url("ideas:react", jam.slug),
        edit_url=_post_url("ideas:edit", jam.slug),
        flag_url=_post_url("ideas:flag", jam.slug),
        hide_url=_post_url("ideas:hide", jam.slug),
        staff=bool(context.get("staff")),
        can_post=bool(can.get("post")),
        can_flag=bool(can.get("flag")),
        can_reply=bool(can.get("post")) and not idea.merged_into_id,
        user_id=user.pk if user is not None else None,
        # What {{ count }} prints: without thousand separators a localized
        # whole number is its digits (formats.localize is ~10 us a call).
        number=formats.localize if settings.USE_THOUSAND_SEPARATOR else str,
        date=LocalDates("DATETIME_FORMAT"),
        reaction_button={
            (value, pressed): (
                f'      <button type="submit" name="value" value="{value}" '
                f'aria-pressed="{"true" if pressed else "false"}"{disabled}>{labels[value]} '
                f'<span data-count="{value}">'
            )
            for value in REACTIONS
            for pressed in (True, False)
        },
    )


def _post(node: PostNode, page: _Page, out: list[str]) -> None:
    post, pk, t = node.post, node.post.pk, page.labels
    author = escape(post.author_name) if post.author_name is not None else t["deleted"]
    created = post.created_at
    out.append(
        f'<article class="post{" hidden-post" if post.hidden_at else ""}" id="post-{pk}" '
        f'data-post-id="{pk}" aria-labelledby="post-{pk}-author">\n'
        f'  <header class="meta">\n'
        f'    <span id="post-{pk}-author" class="author">{author}</span>\n'
        # An ISO 8601 datetime has nothing to escape.
        f'    · <a href="#post-{pk}"><time datetime="{created.isoformat()}">'
        f"{escape(page.date(created))}"
        "</time></a>\n"
    )
    if post.edited_at:
        out.append(f"    <span data-edited> · {t['edited']}</span>\n")
    out.append("  </header>\n")
    if post.hidden_at and not page.staff:
        out.append(f'    <p class="hidden-note">{t["hidden"]}</p>\n')
    else:
        if post.hidden_at:
            note = t["hidden_reason"] % {"reason": escape(post.hidden_reason)}
            out.append(f'<p class="hidden-note">{note}</p>\n')
        out.append(f'    <div class="body" data-body>{post.body_html}</div>\n')
    out.append(
        '  <footer class="post-actions">\n'
        f'    <form method="post" action="{page.react_url(pk)}" class="inline reactions" '
        f"data-react>\n      {page.csrf}\n"
    )
    mine, reaction, number = node.my_reaction, page.reaction_button, page.number
    out.append(
        f"{reaction['agree', mine == 'agree']}{number(post.agree_count)}</span></button>\n"
        f"{reaction['disagree', mine == 'disagree']}{number(post.disagree_count)}</span></button>\n"
        f"{reaction['pass', mine == 'pass']}{number(post.pass_count)}</span></button>\n"
        "    </form>\n"
    )
    own = post.author_id == page.user_id
    if page.can_post and own:
        out.append(f'    <a href="{page.edit_url(pk)}">{t["edit"]}</a>\n')
    if page.can_reply:
        out.append(
            '    <details class="reply">\n'
            f"      <summary>{t['reply']}</summary>\n"
            f'      <form method="post" action="{page.idea_url}" class="stacked" '
            f'data-compose="reply">\n        {page.csrf}\n'
            f'        <input type="hidden" name="parent" value="{pk}">\n'
            f'        <label for="reply-{pk}">{t["your_reply"]}</label>\n'
            f'        <textarea id="reply-{pk}" name="body" rows="3" maxlength="10000" required>'
            "</textarea>\n"
            f'        <button type="submit">{t["post_reply"]}</button>\n'
            "      </form>\n    </details>\n"
        )
    if page.can_flag and not own:
        out.append(
            '    <details class="flag">\n'
            f"      <summary>{t['flag']}</summary>\n"
            f'      <form method="post" action="{page.flag_url(pk)}" class="stacked">\n'
            f"        {page.csrf}\n"
            f'        <label for="flag-{pk}">{t["flag_reason"]}</label>\n'
            f'        <input id="flag-{pk}" name="reason" maxlength="500">\n'
            f'        <button type="submit">{t["flag_submit"]}</button>\n'
            "      </form>\n    </details>\n"
        )
    if page.staff:
        button = (
            f'<button type="submit" name="restore" value="1">{t["restore"]}</button>'
            if post.hidden_at
            else f'<button type="submit">{t["hide"]}</button>'
        )
        out.append(
            '    <details class="moderate">\n'
            f"      <summary>{t['moderate']}</summary>\n"
            f'      <form method="post" action="{page.hide_url(pk)}" class="stacked">\n'
            f"        {page.csrf}\n"
            f'        <label for="hide-{pk}">{t["reason"]}</label>\n'
            f'        <input id="hide-{pk}" name="reason" maxlength="500">\n'
            f"        {button}\n"
            "      </form>\n    </details>\n"
        )
    out.append('  </footer>\n  <div class="replies" data-replies>\n')
    for child in node.children:
        _post(child, page, out)
    out.append("  </div>\n</article>\n")


class TreeSlot:
    """Where the page's post tree goes in its response, for the view to
    splice in as bytes (``{% post_tree thread.opening slot=tree_slot %}``,
    then ``tree_slot.fill(response)``).

    Inside the template the tree (1 MB of a 500-post page) would be joined
    into the page's text at each level of blocks and templates, widened to
    two bytes a character by the page's first character past U+00FF (the
    breadcrumb's U+203A; or to four bytes by an emoji in any post), and
    encoded to UTF-8 with the rest, character by character: ~3-4 ms of the
    page. Apart, the tree is encoded alone, in its own narrower width, and
    the rest of the page is small. The tag writes a marker in its place; it
    is random per page, so no text in the page can be taken for it, and it
    never reaches the client."""

    def __init__(self) -> None:
        self.marker = f"<!--post-tree-{secrets.token_hex(16)}-->"
        self.html: str | None = None

    def fill(self, response: HttpResponse) -> HttpResponse:
        """The response with the tree in place of its marker (unchanged if
        the page did not render the tree)."""
        if self.html is None:
            return response
        head, marker, tail = response.content.partition(self.marker.encode(response.charset))
        if not marker:
            raise ValueError("the post tree's marker is missing from the page")
        response.content = b"".join((head, self.html.encode(response.charset), tail))
        return response


@register.simple_tag(takes_context=True)
def post_tree(
    context: template.Context, node: PostNode, slot: TreeSlot | None = None
) -> SafeString:
    """The post and its replies, nested, as the thread page shows them; with
    a ``slot``, a marker for ``TreeSlot.fill`` instead."""
    out: list[str] = []
    _post(node, _page(context), out)
    html = "".join(out)
    if slot is None:
        return mark_safe(html)  # noqa: S308 - every value above is escaped or trusted
    if slot.html is not None:
        raise ValueError("a TreeSlot holds one tree")
    slot.html = html
    return mark_safe(slot.marker)  # noqa: S308 - a comment of hex digits
