"""Writes for ideas, posts, reactions, flags and moderation.

Each service checks permission and phase through jams.rules, writes in one
transaction, records the live event in the same transaction (jams.realtime),
and the event is broadcast after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field, Model
from django.utils import timezone
from django.utils.translation import gettext as _

from community.services import guidelines_check, help_detect, notification_email_queue
from jams import realtime
from jams.errors import Invalid, NotFound, TooLarge
from jams.models import Event, Jam, Membership, Topic
from jams.rules import Action, jam_require
from jams.selectors import JamContext, jam_context_for
from jams.services import audit_append

from .models import Flag, Idea, Notification, Post, PostRevision, Reaction, ReactionValue
from .rendering import markdown_render, mentions_find
from .scoring import text_score

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class Written:
    """What a write returns to the caller: the object and its event's seq."""

    id: int
    seq: int
    idea_id: int
    created: bool = True


def _context(
    jam: Jam,
    actor: User,
    action: Action,
    now: datetime | None = None,
    *,
    given: JamContext | None = None,
) -> JamContext:
    """The actor's context, checked for ``action``. ``given``: a context the
    caller has just read for this jam and actor (the socket path reads it
    with the jam and the user, jams.selectors.member_context); the rules
    are applied to it here all the same."""
    if given is not None and given.jam.pk == jam.pk and given.user.pk == actor.pk:
        ctx = given
    else:
        ctx = jam_context_for(jam=jam, user=actor)
    jam_require(ctx, action, now=now)
    return ctx


def _clean_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise Invalid(_("Write something first."))
    if len(body) > Post.MAX_BODY:
        raise TooLarge(
            _("A post may be at most %(max)d characters long; this one has %(n)d.")
            % {"max": Post.MAX_BODY, "n": len(body)}
        )
    return body


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise Invalid(_("An idea needs a title."))
    if len(title) > Post.MAX_TITLE:
        raise TooLarge(
            _("A title may be at most %(max)d characters long; this one has %(n)d.")
            % {"max": Post.MAX_TITLE, "n": len(title)}
        )
    return title


def post_payload(post: Post, *, title: str = "") -> dict[str, Any]:
    author = post.author
    return {
        "id": post.pk,
        "idea": post.idea_id,
        "topic": post.topic_id,
        "parent": post.parent_id,
        "depth": post.depth,
        "title": title,
        "author": {"id": author.pk, "name": author.display_name} if author else None,
        "body_html": post.body_html,
        "created_at": post.created_at,
        "edited_at": post.edited_at,
        "counts": {"agree": 0, "disagree": 0, "pass": 0},
    }


def _replayed(actor: User, client_id: str | None) -> Written | None:
    """The original result of a retried write (same author, same client_id)."""
    if client_id is None:
        return None
    post = Post.objects.filter(author=actor, client_id=client_id).first()
    if post is None:
        return None
    seq = (
        Event.objects.filter(jam_id=post.jam_id, name="post.created", data__id=post.pk)
        .values_list("seq", flat=True)
        .first()
    )
    return Written(id=post.pk, seq=seq or 0, idea_id=post.idea_id, created=False)


def idea_create(
    *,
    actor: User,
    topic: Topic,
    title: str,
    body: str,
    client_id: str | None = None,
    now: datetime | None = None,
    context: JamContext | None = None,
) -> Written:
    """Start an idea in a topic: the idea and its opening post.

    A retry (same author and client_id) is caught by the unique constraint
    on the post and answered with the original result; nothing before the
    insert depends on whether it is one, so no query looks for it first."""
    jam = topic.jam
    _context(jam, actor, Action.POST, now, given=context)
    guidelines_check(jam_id=jam.pk, user_id=actor.pk)
    title, body = _clean_title(title), _clean_body(body)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            idea = _row_insert(
                Idea(
                    jam=jam, topic=topic, author=actor, title=title, created_at=now,
                    last_activity_at=now,
                )
            )  # fmt: skip
            post = _post_insert(
                jam=jam, topic=topic, idea=idea, parent=None, actor=actor, body=body,
                client_id=client_id, now=now,
            )  # fmt: skip
            event = realtime.event_record(
                jam_id=jam.pk,
                name="post.created",
                topic_id=topic.pk,
                idea_id=idea.pk,
                data=post_payload(post, title=title),
            )
            _notify_mentions(post, actor)
            help_detect(post, now=now)
    except IntegrityError:
        replay = _replayed(actor, client_id)
        if replay is None:
            raise
        return replay
    return Written(id=post.pk, seq=event.seq, idea_id=idea.pk)


def reply_create(
    *,
    actor: User,
    idea: Idea,
    body: str,
    parent: Post | None = None,
    client_id: str | None = None,
    now: datetime | None = None,
    context: JamContext | None = None,
) -> Written:
    """Reply to an idea (its opening post) or to a reply in it."""
    jam = idea.jam
    _context(jam, actor, Action.POST, now, given=context)
    guidelines_check(jam_id=jam.pk, user_id=actor.pk)
    body = _clean_body(body)
    replay = _replayed(actor, client_id)
    if replay is not None:
        return replay
    if idea.merged_into_id is not None:
        raise Invalid(_("This idea was merged into another; reply there."))
    if idea.hidden_at is not None:
        raise Invalid(_("This idea is hidden; replies are closed."))
    now = now or timezone.now()
    try:
        with transaction.atomic():
            if parent is None:
                parent = Post.objects.get(idea=idea, parent__isnull=True)
            elif parent.idea_id != idea.pk:
                raise NotFound
            post = _post_insert(
                jam=jam, topic=idea.topic, idea=idea, parent=parent, actor=actor, body=body,
                client_id=client_id, now=now,
            )  # fmt: skip
            event = realtime.event_record(
                jam_id=jam.pk,
                name="post.created",
                topic_id=idea.topic_id,
                idea_id=idea.pk,
                data=post_payload(post),
            )
            # After the seq: every writer locks the jam row before the idea
            # row, so socket posts committed together (jams/groupcommit.py)
            # cannot deadlock with a reply through HTTP.
            Idea.objects.filter(pk=idea.pk).update(
                reply_count=F("reply_count") + 1, last_activity_at=now
            )
            _notify_reply(post, parent, actor)
            _notify_mentions(post, actor)
            help_detect(post, now=now)
    except IntegrityError:
        replay = _replayed(actor, client_id)
        if replay is None:
            raise
        return replay
    return Written(id=post.pk, seq=event.seq, idea_id=idea.pk)


def _post_insert(
    *,
    jam: Jam,
    topic: Topic,
    idea: Idea,
    parent: Post | None,
    actor: User,
    body: str,
    client_id: str | None,
    now: datetime,
) -> Post:
    score = text_score(body)
    return _row_insert(
        Post(
            jam=jam,
            topic=topic,
            idea=idea,
            parent=parent,
            author=actor,
            body=body,
            body_html=markdown_render(body),
            depth=0 if parent is None else parent.depth + 1,
            client_id=client_id,
            created_at=now,
            language=score.language,
            sentiment=score.sentiment,
        )
    )


_INSERTS: dict[tuple[type[Model], str], tuple[str, list[Field[Any, Any]]]] = {}


def _row_insert[M: Model](obj: M) -> M:
    """``obj.save(force_insert=True)`` for the rows every post inserts, as
    one prepared statement: the same columns and values (each field's
    ``pre_save`` and ``get_db_prep_save``, as ``save()`` takes them) without
    building and compiling an insert query per row, which was about a
    quarter of a socket post's CPU. Database errors (the unique client_id)
    are Django's as before. Where the database cannot return the new id,
    ``save()`` does it."""
    if not connection.features.can_return_columns_from_insert:
        obj.save(force_insert=True)
        return obj
    model = type(obj)
    meta = model._meta
    key = (model, connection.vendor)
    prepared = _INSERTS.get(key)
    if prepared is None:
        fields = [f for f in meta.concrete_fields if f is not meta.pk]
        qn = connection.ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({}) RETURNING {}".format(  # noqa: S608 (names only)
            qn(meta.db_table),
            ", ".join(qn(cast(str, f.column)) for f in fields),
            ", ".join(["%s"] * len(fields)),
            qn(cast(str, meta.pk.column)),
        )
        prepared = _INSERTS[key] = (sql, fields)
    sql, fields = prepared
    values = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    assert row is not None  # noqa: S101 (RETURNING always returns the row)
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def post_edit(
    *, actor: User, post: Post, body: str, title: str | None = None, now: datetime | None = None
) -> Written:
    """Edit your own post during the discussion; the previous text is kept."""
    jam = post.jam
    _context(jam, actor, Action.POST, now)
    if post.author_id != actor.pk:
        from jams.errors import Forbidden

        raise Forbidden(_("You can only edit your own posts."))
    body = _clean_body(body)
    idea = post.idea
    new_title = _clean_title(title) if (title is not None and post.is_opening) else idea.title
    if body == post.body and new_title == idea.title:
        return Written(id=post.pk, seq=0, idea_id=idea.pk, created=False)
    now = now or timezone.now()
    with transaction.atomic():
        PostRevision.objects.create(
            post=post, title=idea.title if post.is_opening else "", body=post.body, created_at=now
        )
        score = text_score(body)
        post.body, post.body_html, post.edited_at = body, markdown_render(body), now
        post.language, post.sentiment = score.language, score.sentiment
        post.save(update_fields=["body", "body_html", "edited_at", "language", "sentiment"])
        if post.is_opening and new_title != idea.title:
            idea.title = new_title
            idea.save(update_fields=["title"])
        event = realtime.event_record(
            jam_id=jam.pk,
            name="post.updated",
            topic_id=post.topic_id,
            idea_id=idea.pk,
            data={
                "id": post.pk,
                "idea": idea.pk,
                "title": idea.title if post.is_opening else "",
                "body_html": post.body_html,
                "edited_at": now,
            },
        )
    return Written(id=post.pk, seq=event.seq, idea_id=idea.pk)


COUNT_FIELD = {
    ReactionValue.AGREE: "agree_count",
    ReactionValue.DISAGREE: "disagree_count",
    ReactionValue.PASS: "pass_count",
}


def reaction_set(*, actor: User, post: Post, value: str, now: datetime | None = None) -> Written:
    """Agree, disagree or pass on a post: one per person, changeable."""
    _context(post.jam, actor, Action.REACT, now)
    try:
        value = ReactionValue(value)
    except ValueError as exc:
        raise Invalid(_("A reaction is agree, disagree or pass.")) from exc
    if post.hidden_at is not None:
        raise Invalid(_("This post is hidden."))
    now = now or timezone.now()
    with transaction.atomic():
        existing = Reaction.objects.select_for_update().filter(post=post, user=actor).first()
        if existing is not None and existing.value == value:
            return Written(id=existing.pk, seq=0, idea_id=post.idea_id, created=False)
        updates: dict[str, Any] = {COUNT_FIELD[value]: F(COUNT_FIELD[value]) + 1}
        if existing is None:
            reaction = Reaction.objects.create(
                post=post, user=actor, value=value, created_at=now, updated_at=now
            )
        else:
            old = ReactionValue(existing.value)
            updates[COUNT_FIELD[old]] = F(COUNT_FIELD[old]) - 1
            existing.value, existing.updated_at = value, now
            existing.save(update_fields=["value", "updated_at"])
            reaction = existing
        Post.objects.filter(pk=post.pk).update(**updates)
        counts = (
            Post.objects.filter(pk=post.pk)
            .values("agree_count", "disagree_count", "pass_count")
            .get()
        )
        event = realtime.event_record(
            jam_id=post.jam_id,
            name="reaction.changed",
            topic_id=post.topic_id,
            idea_id=post.idea_id,
            data={
                "post": post.pk,
                "idea": post.idea_id,
                "counts": {
                    "agree": counts["agree_count"],
                    "disagree": counts["disagree_count"],
                    "pass": counts["pass_count"],
                },
            },
        )
    return Written(id=reaction.pk, seq=event.seq, idea_id=post.idea_id)


# --- Moderation --------------------------------------------------------------


def post_hide(*, actor: User, post: Post, reason: str, now: datetime | None = None) -> Written:
    return _visibility_set(actor=actor, post=post, hidden=True, reason=reason, now=now)


def post_restore(
    *, actor: User, post: Post, reason: str = "", now: datetime | None = None
) -> Written:
    return _visibility_set(actor=actor, post=post, hidden=False, reason=reason, now=now)


def _visibility_set(
    *, actor: User, post: Post, hidden: bool, reason: str, now: datetime | None
) -> Written:
    _context(post.jam, actor, Action.MODERATE, now)
    reason = reason.strip()
    if hidden and not reason:
        raise Invalid(_("Give a reason for hiding a post."))
    now = now or timezone.now()
    with transaction.atomic():
        post = Post.objects.select_for_update().get(pk=post.pk)
        if (post.hidden_at is not None) == hidden:
            return Written(id=post.pk, seq=0, idea_id=post.idea_id, created=False)
        post.hidden_at = now if hidden else None
        post.hidden_reason = reason if hidden else ""
        post.save(update_fields=["hidden_at", "hidden_reason"])
        if post.is_opening:
            Idea.objects.filter(pk=post.idea_id).update(hidden_at=post.hidden_at)
        if hidden:
            Flag.objects.filter(post=post, resolved_at__isnull=True).update(
                resolved_at=now, resolved_by=actor
            )
        name = "post.hidden" if hidden else "post.restored"
        audit_append(
            jam=post.jam, actor=actor, action=name, target=f"post {post.pk}", reason=reason
        )
        data: dict[str, Any] = {"id": post.pk, "idea": post.idea_id, "reason": post.hidden_reason}
        if not hidden:
            data["body_html"] = post.body_html
        event = realtime.event_record(
            jam_id=post.jam_id, name=name, topic_id=post.topic_id, idea_id=post.idea_id, data=data
        )
    return Written(id=post.pk, seq=event.seq, idea_id=post.idea_id)


def idea_pin(*, actor: User, idea: Idea, pinned: bool, now: datetime | None = None) -> Written:
    _context(idea.jam, actor, Action.MODERATE, now)
    now = now or timezone.now()
    with transaction.atomic():
        idea.pinned_at = now if pinned else None
        idea.save(update_fields=["pinned_at"])
        name = "idea.pinned" if pinned else "idea.unpinned"
        audit_append(jam=idea.jam, actor=actor, action=name, target=idea.title)
        event = realtime.event_record(
            jam_id=idea.jam_id,
            name=name,
            topic_id=idea.topic_id,
            idea_id=idea.pk,
            data={"idea": idea.pk, "pinned": pinned},
        )
    return Written(id=idea.pk, seq=event.seq, idea_id=idea.pk)


def idea_merge(
    *, actor: User, idea: Idea, into: Idea, reason: str = "", now: datetime | None = None
) -> Written:
    """Mark a duplicate: ``idea`` is merged into ``into``. Its posts stay
    readable; it is listed under the other idea and counts as one for voting."""
    _context(idea.jam, actor, Action.MODERATE, now)
    if idea.jam_id != into.jam_id:
        raise NotFound
    if idea.pk == into.pk:
        raise Invalid(_("An idea cannot be merged into itself."))
    target = into
    while target.merged_into_id is not None:
        target = target.merged_into  # type: ignore[assignment]
        if target.pk == idea.pk:
            raise Invalid(_("That would merge the idea into itself."))
    with transaction.atomic():
        idea.merged_into = target
        idea.save(update_fields=["merged_into"])
        Idea.objects.filter(merged_into=idea).update(merged_into=target)
        audit_append(
            jam=idea.jam,
            actor=actor,
            action="idea.merged",
            target=f"{idea.title} -> {target.title}",
            reason=reason,
        )
        event = realtime.event_record(
            jam_id=idea.jam_id,
            name="idea.merged",
            topic_id=idea.topic_id,
            idea_id=idea.pk,
            data={"idea": idea.pk, "into": target.pk, "into_title": target.title},
        )
    return Written(id=idea.pk, seq=event.seq, idea_id=target.pk)


def post_flag(*, actor: User, post: Post, reason: str = "", now: datetime | None = None) -> Flag:
    _context(post.jam, actor, Action.FLAG, now)
    with transaction.atomic():
        flag, created = Flag.objects.get_or_create(
            post=post, user=actor, defaults={"reason": reason.strip()[:500]}
        )
        if created:
            audit_append(jam=post.jam, actor=actor, action="post.flagged", target=f"post {post.pk}",
                         reason=flag.reason)  # fmt: skip
    return flag


def flags_resolve(*, actor: User, post: Post, now: datetime | None = None) -> int:
    """Dismiss the open flags on a post (it stays visible)."""
    _context(post.jam, actor, Action.MODERATE, now)
    now = now or timezone.now()
    with transaction.atomic():
        n = Flag.objects.filter(post=post, resolved_at__isnull=True).update(
            resolved_at=now, resolved_by=actor
        )
        audit_append(jam=post.jam, actor=actor, action="flags.dismissed", target=f"post {post.pk}")
    return n


# --- Notifications -----------------------------------------------------------


def _notify(user_id: int, post: Post, kind: str) -> None:
    notification, created = Notification.objects.get_or_create(
        user_id=user_id, jam_id=post.jam_id, post=post, kind=kind
    )
    if created:
        notification_email_queue(notification)
        realtime.event_record(
            jam_id=post.jam_id,
            name="notification",
            recipient_id=user_id,
            data={
                "kind": kind,
                "post": post.pk,
                "idea": post.idea_id,
                "author": post.author.display_name if post.author else "",
            },
        )


def _notify_reply(post: Post, parent: Post, actor: User) -> None:
    if parent.author_id and parent.author_id != actor.pk:
        _notify(parent.author_id, post, Notification.Kind.REPLY)


def _notify_mentions(post: Post, actor: User) -> None:
    handles = mentions_find(post.body)
    if not handles:
        return
    members = Membership.objects.filter(jam_id=post.jam_id).values_list("user_id", "user__email")
    for user_id, email in members:
        if user_id != actor.pk and email.split("@", 1)[0].lower() in handles:
            _notify(user_id, post, Notification.Kind.MENTION)
