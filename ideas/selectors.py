"""Reads for topics and threads: evaluated, with a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from accounts.models import User
from jams.models import Topic

from .models import Flag, Idea, Post, Reaction


def idea_in_jam(*, jam_id: int, idea_id: int) -> bool:
    return Idea.objects.filter(pk=idea_id, jam_id=jam_id).exists()


def ideas_for_topic(*, topic: Topic, staff: bool, limit: int = 200) -> list[Idea]:
    ideas = Idea.objects.filter(topic=topic, merged_into__isnull=True).select_related("author")
    if not staff:
        ideas = ideas.filter(hidden_at__isnull=True)
    return list(ideas.order_by("-pinned_at", "-last_activity_at", "-id")[:limit])


@dataclass(frozen=True, slots=True)
class ThreadPost:
    """A post as the thread page shows it (ideas/templatetags/thread_tags.py):
    plain values, cheaper to load than a Post and a User per post."""

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


def thread_for_idea(*, idea: Idea, user_id: int | None) -> Thread:
    """The idea's posts as a tree, with their authors' names and the viewer's
    reactions. Four queries."""
    rows = list(
        Post.objects.filter(idea=idea).order_by("created_at", "id").values(*THREAD_POST_FIELDS)
    )
    author_ids = {row["author_id"] for row in rows if row["author_id"] is not None}
    names = {
        user.pk: user.display_name
        for user in User.objects.filter(pk__in=author_ids).only("id", "name", "email")
    }
    posts = [ThreadPost(**row, author_name=names.get(row["author_id"])) for row in rows]
    reactions: dict[int, str] = {}
    if user_id is not None:
        reactions = dict(
            Reaction.objects.filter(post__idea=idea, user_id=user_id).values_list(
                "post_id", "value"
            )
        )
    nodes = {p.pk: PostNode(post=p, my_reaction=reactions.get(p.pk)) for p in posts}
    opening = None
    for post in posts:
        node = nodes[post.pk]
        if post.parent_id is None:
            opening = node
        elif post.parent_id in nodes:
            nodes[post.parent_id].children.append(node)
    if opening is None:
        raise Post.DoesNotExist(f"idea {idea.pk} has no opening post")
    merged = list(Idea.objects.filter(merged_into=idea).only("id", "title", "jam_id"))
    return Thread(idea=idea, opening=opening, reply_count=len(posts) - 1, merged=merged)


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
