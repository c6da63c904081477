"""A member's own data, for download."""

from __future__ import annotations

from typing import Any

from .models import User


def account_data(*, user: User) -> dict[str, Any]:
    """Everything Jam holds about ``user`` that is theirs: profile,
    memberships, posts with their edit history, reactions, flags,
    notifications. (Ballots are secret even to organizers; a member's own
    ballots are theirs and included by the voting app when it is installed.)"""
    from ideas.models import Flag, Notification, Post, PostRevision, Reaction
    from jams.models import Membership

    data: dict[str, Any] = {
        "profile": {
            "email": user.email,
            "name": user.name,
            "language": user.language,
            "time_zone": user.time_zone,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
        },
        "memberships": list(
            Membership.objects.filter(user=user).values(
                "jam__slug", "jam__title", "role", "joined_at"
            )
        ),
        "posts": list(
            Post.objects.filter(author=user)
            .order_by("created_at")
            .values(
                "id",
                "jam__slug",
                "idea_id",
                "idea__title",
                "parent_id",
                "body",
                "created_at",
                "edited_at",
                "hidden_at",
            )
        ),
        "post_revisions": list(
            PostRevision.objects.filter(post__author=user).values(
                "post_id", "title", "body", "created_at"
            )
        ),
        "reactions": list(
            Reaction.objects.filter(user=user).values("post_id", "value", "updated_at")
        ),
        "flags": list(Flag.objects.filter(user=user).values("post_id", "reason", "created_at")),
        "notifications": list(
            Notification.objects.filter(user=user).values(
                "kind", "post_id", "created_at", "read_at"
            )
        ),
    }
    try:
        from voting.selectors import ballots_of_user  # type: ignore[attr-defined]
    except ImportError:
        pass
    else:
        data["ballots"] = ballots_of_user(user=user)
    return data
