"""The sync side of post and react socket messages (see jams/live.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from accounts.models import User
from jams.errors import Invalid, NotFound
from jams.models import Topic
from jams.protocol import PostMessage, ReactMessage

from . import services
from .models import Idea, Post


def post_submit(*, jam_id: int, user_id: int, message: PostMessage) -> dict[str, Any]:
    actor = User.objects.get(pk=user_id)
    if message.idea is not None:
        idea = (
            Idea.objects.select_related("jam", "topic")
            .filter(pk=message.idea, jam_id=jam_id)
            .first()
        )
        if idea is None:
            raise NotFound
        parent = None
        if message.parent is not None:
            parent = Post.objects.filter(pk=message.parent, idea=idea).first()
            if parent is None:
                raise NotFound
        written = services.reply_create(
            actor=actor, idea=idea, parent=parent, body=message.body, client_id=message.client_id
        )
    elif message.topic is not None:
        topic = Topic.objects.select_related("jam").filter(pk=message.topic, jam_id=jam_id).first()
        if topic is None:
            raise NotFound
        written = services.idea_create(
            actor=actor,
            topic=topic,
            title=message.title,
            body=message.body,
            client_id=message.client_id,
        )
    else:
        raise Invalid(_("A post needs a topic (a new idea) or an idea (a reply)."))
    return {
        "client_id": message.client_id,
        "id": written.id,
        "seq": written.seq,
        "idea": written.idea_id,
    }


def react_submit(*, jam_id: int, user_id: int, message: ReactMessage) -> dict[str, Any]:
    actor = User.objects.get(pk=user_id)
    post = Post.objects.select_related("jam").filter(pk=message.post, jam_id=jam_id).first()
    if post is None:
        raise NotFound
    written = services.reaction_set(actor=actor, post=post, value=message.value)
    return {"client_id": message.client_id, "id": written.id, "seq": written.seq}
