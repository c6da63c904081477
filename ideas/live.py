"""The sync side of post and react socket messages (see jams/live.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import connection
from django.db.models import Field, Model
from django.utils.translation import gettext as _

from accounts.models import User
from jams.errors import Invalid, NotFound
from jams.models import Jam, Membership, Phase, Topic
from jams.protocol import PostMessage, ReactMessage
from jams.selectors import JamContext, member_context

from . import services
from .models import Idea, Post


def post_submit(*, jam_id: int, user_id: int, message: PostMessage) -> dict[str, Any]:
    # The member's role, user, jam and schedule in two queries; the service
    # checks them (a non-member takes the general path and its refusal).
    context = _member_context(jam_id=jam_id, user_id=user_id)
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


def _columns(model: type[Model], alias: str) -> tuple[list[Field[Any, Any]], str]:
    fields = list(model._meta.concrete_fields)
    qn = connection.ops.quote_name
    return fields, ", ".join(f"{alias}.{qn(cast(str, f.column))}" for f in fields)


def _row[M: Model](model: type[M], fields: list[Field[Any, Any]], values: Sequence[Any]) -> M:
    values = [
        f.from_db_value(v, None, connection) if hasattr(f, "from_db_value") else v
        for f, v in zip(fields, values, strict=True)
    ]
    return model.from_db(connection.alias, [f.attname for f in fields], values)


_CONTEXT_SQL: (
    tuple[str, list[Field[Any, Any]], list[Field[Any, Any]], list[Field[Any, Any]]] | None
) = None


def _member_context(*, jam_id: int, user_id: int) -> JamContext | None:
    """``jams.selectors.member_context`` in one plain statement on
    PostgreSQL: the membership's role, user, jam and the jam's phases (one
    row per phase, in ``Phase.Meta.ordering``), read fresh on every post as
    before. Each socket post ran the two compiled ORM queries, which were
    about half of its CPU; the same objects come back (tests/ideas pin them
    field by field against member_context). Elsewhere: member_context."""
    global _CONTEXT_SQL
    if connection.vendor != "postgresql":
        return member_context(jam_id=jam_id, user_id=user_id)
    if _CONTEXT_SQL is None:
        user_fields, user_cols = _columns(User, "u")
        jam_fields, jam_cols = _columns(Jam, "j")
        phase_fields, phase_cols = _columns(Phase, "p")
        sql = (
            f"SELECT m.role, {user_cols}, {jam_cols}, {phase_cols} "  # noqa: S608 (names only)
            f"FROM {Membership._meta.db_table} m "
            f"JOIN {User._meta.db_table} u ON u.id = m.user_id "
            f"JOIN {Jam._meta.db_table} j ON j.id = m.jam_id "
            f"LEFT JOIN {Phase._meta.db_table} p ON p.jam_id = m.jam_id "
            "WHERE m.jam_id = %s AND m.user_id = %s ORDER BY p.starts_at, p.id"
        )
        _CONTEXT_SQL = (sql, user_fields, jam_fields, phase_fields)
    sql, user_fields, jam_fields, phase_fields = _CONTEXT_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, [jam_id, user_id])
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    nu, nj = len(user_fields), len(jam_fields)
    user = _row(User, user_fields, first[1 : 1 + nu])
    jam = _row(Jam, jam_fields, first[1 + nu : 1 + nu + nj])
    phases = [
        _row(Phase, phase_fields, row[1 + nu + nj :])
        for row in rows
        if row[1 + nu + nj] is not None  # LEFT JOIN: a jam without phases
    ]
    return JamContext(jam=jam, user=user, role=first[0], phases=phases)


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
