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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from django import template
from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from ideas.selectors import PostNode

register = template.Library()

REACTIONS = ("agree", "disagree", "pass")


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
    can_react: bool
    can_flag: bool
    can_reply: bool
    user_id: int | None
    number: Callable[[int], str]


def _page(context: template.Context) -> _Page:
    jam, idea, can = context["jam"], context["idea"], context["can"]
    request = context.get("request")
    token = context.get("csrf_token") or (get_token(request) if request is not None else "")
    texts = {
        "agree": "Agree",
        "disagree": "Disagree",
        "pass": "Pass",
        "edit": "Edit",
        "edited": "edited",
        "hidden": "Hidden by a facilitator.",
        "hidden_reason": "Hidden: %(reason)s",
        "deleted": "deleted member",
        "reply": "Reply",
        "your_reply": "Your reply",
        "post_reply": "Post reply",
        "flag": "Flag",
        "flag_reason": "What is wrong with it?",
        "flag_submit": "Flag for facilitators",
        "moderate": "Moderate",
        "reason": "Reason",
        "restore": "Restore",
        "hide": "Hide",
    }
    user = context.get("user")
    return _Page(
        # The same catalog entries as the template's {% translate %} tags;
        # translations are trusted text, as they are in templates.
        labels={key: gettext(text) for key, text in texts.items()},
        csrf=f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(str(token))}">',
        idea_url=escape(idea.get_absolute_url()),
        react_url=_post_url("ideas:react", jam.slug),
        edit_url=_post_url("ideas:edit", jam.slug),
        flag_url=_post_url("ideas:flag", jam.slug),
        hide_url=_post_url("ideas:hide", jam.slug),
        staff=bool(context.get("staff")),
        can_post=bool(can.get("post")),
        can_react=bool(can.get("react")),
        can_flag=bool(can.get("flag")),
        can_reply=bool(can.get("post")) and not idea.merged_into_id,
        user_id=user.pk if user is not None else None,
        # What {{ count }} prints: without thousand separators a localized
        # whole number is its digits (formats.localize is ~10 us a call).
        number=formats.localize if settings.USE_THOUSAND_SEPARATOR else str,
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
        f'    · <a href="#post-{pk}"><time datetime="{escape(created.isoformat())}">'
        f"{escape(formats.date_format(timezone.localtime(created), 'DATETIME_FORMAT'))}"
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
    disabled = "" if page.can_react else " disabled"
    out.append(
        '  <footer class="post-actions">\n'
        f'    <form method="post" action="{page.react_url(pk)}" class="inline reactions" '
        f"data-react>\n      {page.csrf}\n"
    )
    for value in REACTIONS:
        pressed = "true" if node.my_reaction == value else "false"
        count = page.number(getattr(post, f"{value}_count"))
        out.append(
            f'      <button type="submit" name="value" value="{value}" aria-pressed="{pressed}"'
            f'{disabled}>{t[value]} <span data-count="{value}">{count}</span></button>\n'
        )
    out.append("    </form>\n")
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


@register.simple_tag(takes_context=True)
def post_tree(context: template.Context, node: PostNode) -> SafeString:
    """The post and its replies, nested, as the thread page shows them."""
    out: list[str] = []
    _post(node, _page(context), out)
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped or trusted
