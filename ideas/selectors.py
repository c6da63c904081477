"""Reads for topics and threads: evaluated, with a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from django.db import connection
from django.db.models import CharField, Count, F, Field, Model, OuterRef, Q, Subquery, Value

from accounts.models import User
from jams.models import Topic

from .models import Flag, Idea, Post, Reaction

POST_ORDERS: dict[str, tuple[Any, ...]] = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "agreed": ("-agree_count", "-id"),
    "negative": (F("sentiment").asc(nulls_last=True), "id"),
    "positive": (F("sentiment").desc(nulls_last=True), "id"),
}
"""How a list of posts (a theme's, a search's) can be ordered; the first is the default."""


def post_order(order: str) -> str:
    """``order`` if it is one of ``POST_ORDERS``, else the default."""
    return order if order in POST_ORDERS else next(iter(POST_ORDERS))


def idea_in_jam(*, jam_id: int, idea_id: int) -> bool:
    return Idea.objects.filter(pk=idea_id, jam_id=jam_id).exists()


def ideas_for_topic(*, topic: Topic, staff: bool, limit: int = 200) -> list[Idea]:
    ideas = Idea.objects.filter(topic=topic, merged_into__isnull=True).select_related("author")
    if not staff:
        ideas = ideas.filter(hidden_at__isnull=True)
    return list(ideas.order_by("-pinned_at", "-last_activity_at", "-id")[:limit])


class ThreadPost(NamedTuple):
    """A post as the thread page shows it (ideas/templatetags/thread_tags.py):
    plain values, cheaper to load than a Post and a User per post (and a
    tuple: ~4x cheaper to make than a frozen dataclass, 500 times a page)."""

    id: int
    parent_id: int | None
    author_id: int | None
    created_at: datetime
    edited_at: datetime | None
    hidden_at: datetime | None
    hidden_reason: str
    body_html: str
    agree_count: int
    disagree_count: int
    pass_count: int
    # The author's display name; None once the account is deleted.
    author_name: str | None = None

    @property
    def pk(self) -> int:
        return self.id


THREAD_POST_FIELDS = (
    "id", "parent_id", "author_id", "created_at", "edited_at", "hidden_at", "hidden_reason",
    "body_html", "agree_count", "disagree_count", "pass_count",
)  # fmt: skip
_AUTHOR_ID = THREAD_POST_FIELDS.index("author_id")


@dataclass
class PostNode:
    post: ThreadPost
    children: list[PostNode] = field(default_factory=list)
    my_reaction: str | None = None


@dataclass
class Thread:
    idea: Idea
    opening: PostNode
    reply_count: int
    merged: list[Idea]


_THREAD_SQL: str | None = None


def thread_rows(*, idea_id: int, user_id: int | None) -> list[tuple[Any, ...]]:
    """The idea's posts in thread order, each a row of ``THREAD_POST_FIELDS``
    then its author's name and email (None for a deleted account) and the
    viewer's reaction (None without one, or for an anonymous viewer).

    On PostgreSQL the ORM's statement (the author joined, the reaction a
    subquery, which stays a cheap index probe per post however stale the
    table statistics are) written out once: building and compiling the
    query and converting its rows was about half the CPU of the read.
    tests/ideas/test_selectors.py pins the rows, value for value, against
    ``_thread_rows_orm``'s. Elsewhere: the ORM's."""
    global _THREAD_SQL
    if connection.vendor != "postgresql":
        return _thread_rows_orm(idea_id=idea_id, user_id=user_id)
    if _THREAD_SQL is None:
        qn = connection.ops.quote_name

        def col(model: type[Model], name: str) -> str:
            return qn(cast(str, cast("Field[Any, Any]", model._meta.get_field(name)).column))

        posts, users, reactions = (qn(m._meta.db_table) for m in (Post, User, Reaction))
        columns = [f"p.{col(Post, name)}" for name in THREAD_POST_FIELDS]
        columns += [f"u.{col(User, 'name')}", f"u.{col(User, 'email')}"]
        _THREAD_SQL = (
            f"SELECT {', '.join(columns)}, "  # noqa: S608 (names only)
            f"(SELECT r.{col(Reaction, 'value')} FROM {reactions} r "
            f"WHERE r.{col(Reaction, 'post')} = p.{col(Post, 'id')} "
            f"AND r.{col(Reaction, 'user')} = %s LIMIT 1) "
            f"FROM {posts} p "
            f"LEFT JOIN {users} u ON u.{col(User, 'id')} = p.{col(Post, 'author')} "
            f"WHERE p.{col(Post, 'idea')} = %s "
            f"ORDER BY p.{col(Post, 'created_at')}, p.{col(Post, 'id')}"
        )
    with connection.cursor() as cursor:
        cursor.execute(_THREAD_SQL, [user_id, idea_id])
        return cursor.fetchall()


def _thread_rows_orm(*, idea_id: int, user_id: int | None) -> list[tuple[Any, ...]]:
    """thread_rows through the ORM."""
    posts_query = Post.objects.filter(idea_id=idea_id).order_by("created_at", "id")
    if user_id is not None:
        reaction = Reaction.objects.filter(post=OuterRef("pk"), user_id=user_id)
        posts_query = posts_query.annotate(my_reaction=Subquery(reaction.values("value")[:1]))
    else:
        posts_query = posts_query.annotate(my_reaction=Value(None, output_field=CharField()))
    return list(
        posts_query.values_list(*THREAD_POST_FIELDS, "author__name", "author__email", "my_reaction")
    )


def thread_for_idea(*, idea: Idea, user_id: int | None) -> Thread:
    """The idea's posts as a tree, with their authors' names and the viewer's
    reactions. Two queries: the posts (their authors and the viewer's
    reaction joined in, one round trip rather than three; ``thread_rows``),
    and merged ideas."""
    rows = thread_rows(idea_id=idea.pk, user_id=user_id)
    # Each author's User.display_name, read through one unsaved User rather
    # than a User built for each author (~60 us each).
    author, names = User(), dict[int, str]()
    nodes: dict[int, PostNode] = {}
    n = len(THREAD_POST_FIELDS)
    for row in rows:
        author_id = row[_AUTHOR_ID]
        if author_id is None:
            name = None
        elif (name := names.get(author_id)) is None:
            author.name, author.email = row[n], row[n + 1]
            name = names[author_id] = author.display_name
        nodes[row[0]] = PostNode(ThreadPost._make((*row[:n], name)), [], row[n + 2])
    opening = None
    for node in nodes.values():
        parent_id = node.post.parent_id
        if parent_id is None:
            opening = node
        elif parent_id in nodes:
            nodes[parent_id].children.append(node)
    if opening is None:
        raise Post.DoesNotExist(f"idea {idea.pk} has no opening post")
    merged = list(Idea.objects.filter(merged_into=idea).only("id", "title", "jam_id"))
    return Thread(idea=idea, opening=opening, reply_count=len(nodes) - 1, merged=merged)


def flag_queue(*, jam_id: int) -> list[Post]:
    """Posts with open flags, most flagged first."""
    return list(
        Post.objects.filter(jam_id=jam_id, flags__resolved_at__isnull=True)
        .annotate(open_flags=Count("flags", filter=Q(flags__resolved_at__isnull=True)))
        .select_related("author", "idea")
        .order_by("-open_flags", "created_at")
    )


def open_flags_for_post(*, post_id: int) -> list[Flag]:
    return list(
        Flag.objects.filter(post_id=post_id, resolved_at__isnull=True).select_related("user")
    )
