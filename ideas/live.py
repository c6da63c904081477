"""The sync side of post and react socket messages (see jams/live.py)."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.utils.translation import gettext as _

from accounts.models import User
from jams.errors import Invalid, NotFound
from jams.models import Jam, Topic
from jams.protocol import PostMessage, ReactMessage
from jams.selectors import member_context

from . import services
from .models import Idea, Post


def post_submit(*, jam_id: int, user_id: int, message: PostMessage) -> dict[str, Any]:
    # The member's role, user, jam and schedule in one read; the service
    # checks them (a non-member takes the general path and its refusal).
    context = member_context(jam_id=jam_id, user_id=user_id)
    actor = context.user if context is not None else User.objects.get(pk=user_id)
    if message.idea is not None:
        idea = Idea.objects.select_related("topic").filter(pk=message.idea, jam_id=jam_id).first()
        if idea is None:
            raise NotFound
        if context is not None:
            idea.jam = context.jam
        else:
            idea.jam = idea.topic.jam
        parent = None
        if message.parent is not None:
            parent = Post.objects.filter(pk=message.parent, idea=idea).first()
            if parent is None:
                raise NotFound
        written = services.reply_create(
            actor=actor,  # type: ignore[arg-type]
            idea=idea,
            parent=parent,
            body=message.body,
            client_id=message.client_id,
            context=context,
        )
    elif message.topic is not None:
        topic = _topic_in_jam(topic_id=message.topic, jam_id=jam_id)
        topic.jam = context.jam if context is not None else Jam.objects.get(pk=jam_id)
        written = services.idea_create(
            actor=actor,  # type: ignore[arg-type]
            topic=topic,
            title=message.title,
            body=message.body,
            client_id=message.client_id,
            context=context,
        )
    else:
        raise Invalid(_("A post needs a topic (a new idea) or an idea (a reply)."))
    return {
        "client_id": message.client_id,
        "id": written.id,
        "seq": written.seq,
        "idea": written.idea_id,
    }


def _topic_in_jam(*, topic_id: int, jam_id: int) -> Topic:
    """The topic, if it is the jam's, with only its id and jam loaded (its
    other fields load on first use): a new idea needs no more, and this runs
    on every socket post, so it is one plain statement rather than a
    compiled ORM query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM jams_topic WHERE id = %s AND jam_id = %s", [topic_id, jam_id])
        found = cursor.fetchone() is not None
    if not found:
        raise NotFound
    return Topic.from_db(connection.alias, ["id", "jam_id"], [topic_id, jam_id])


def react_submit(*, jam_id: int, user_id: int, message: ReactMessage) -> dict[str, Any]:
    actor = User.objects.get(pk=user_id)
    post = Post.objects.select_related("jam").filter(pk=message.post, jam_id=jam_id).first()
    if post is None:
        raise NotFound
    written = services.reaction_set(actor=actor, post=post, value=message.value)
    return {"client_id": message.client_id, "id": written.id, "seq": written.seq}
