"""Reads for topics and threads: evaluated, with a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q

from jams.models import Topic

from .models import Flag, Idea, Post, Reaction


def idea_in_jam(*, jam_id: int, idea_id: int) -> bool:
    return Idea.objects.filter(pk=idea_id, jam_id=jam_id).exists()


def ideas_for_topic(*, topic: Topic, staff: bool, limit: int = 200) -> list[Idea]:
    ideas = Idea.objects.filter(topic=topic, merged_into__isnull=True).select_related("author")
    if not staff:
        ideas = ideas.filter(hidden_at__isnull=True)
    return list(ideas.order_by("-pinned_at", "-last_activity_at", "-id")[:limit])


@dataclass
class PostNode:
    post: Post
    children: list[PostNode] = field(default_factory=list)
    my_reaction: str | None = None


@dataclass
class Thread:
    idea: Idea
    opening: PostNode
    reply_count: int
    merged: list[Idea]


# What the thread page shows of a post and its author
# (ideas/templatetags/thread_tags.py); loading only these makes the 500
# Post and User objects of a long thread cheaper to build.
THREAD_FIELDS = (
    "id", "jam_id", "idea_id", "parent_id", "author_id", "created_at", "edited_at", "hidden_at",
    "hidden_reason", "body_html", "agree_count", "disagree_count", "pass_count",
    "author__id", "author__name", "author__email",
)  # fmt: skip


def thread_for_idea(*, idea: Idea, user_id: int | None) -> Thread:
    """The idea's posts as a tree, with the viewer's reactions. Three queries."""
    posts = list(
        Post.objects.filter(idea=idea)
        .select_related("author")
        .only(*THREAD_FIELDS)
        .order_by("created_at", "id")
    )
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
