"""The sync side of the jam socket: what the consumer runs through
database_sync_to_async. Each function returns evaluated data (dataclasses,
dicts, tuples), never a QuerySet or a model the consumer would touch again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accounts.models import User

from . import selectors, services
from .errors import Forbidden, NotFound
from .models import Jam
from .protocol import AlertMessage, PostMessage, ReactMessage, VoteMessage
from .rules import Action, jam_require
from .tickets import SocketTicket

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


@dataclass(frozen=True)
class SocketAccess:
    jam_id: int
    role: str


def socket_access(*, slug: str, user: User | AnonymousUser) -> SocketAccess:
    snapshot = selectors.socket_snapshot(slug=slug, user=user)
    return SocketAccess(jam_id=snapshot.jam_id, role=snapshot.role)


SocketSnapshot = selectors.SocketSnapshot
socket_snapshot = selectors.socket_snapshot
socket_jam_state = selectors.socket_jam_state
socket_role = selectors.socket_role
socket_roles = selectors.socket_roles


def socket_hello_for_ticket(
    state: selectors.SocketJamState, ticket: SocketTicket
) -> SocketSnapshot:
    """The hello of a ticketed socket: the ticket's member and role, no query
    (the user is named by id only; nothing reads its other fields)."""
    return selectors.socket_hello(state, user=User(pk=ticket.user_id), role=ticket.role)


def _member_context(jam_id: int, user_id: int) -> selectors.JamContext:
    user = User.objects.get(pk=user_id)
    jam = Jam.objects.get(pk=jam_id)
    ctx = selectors.jam_context_for(jam=jam, user=user)
    jam_require(ctx, Action.READ)
    return ctx


def subscription_check(*, jam_id: int, user_id: int, topic: int | None, idea: int | None) -> None:
    """The user may read the jam and the topic or idea belongs to it."""
    ctx = _member_context(jam_id, user_id)
    if topic is not None and not ctx.jam.topics.filter(pk=topic).exists():
        raise NotFound
    if idea is not None:
        from ideas.selectors import idea_in_jam

        if not idea_in_jam(jam_id=jam_id, idea_id=idea):
            raise NotFound


@dataclass(frozen=True)
class Replay:
    events: list[tuple[int, str]]
    complete: bool
    seq: int


def replay(
    *, jam_id: int, user_id: int, after: int, topics: frozenset[int], ideas: frozenset[int]
) -> Replay:
    """Stored events after ``after`` for these subscriptions; re-checks membership."""
    if selectors.socket_role(jam_id=jam_id, user_id=user_id) is None:
        raise Forbidden
    latest = selectors.latest_seqs(jam_ids=[jam_id]).get(jam_id, 0)
    page = selectors.events_after(
        jam_id=jam_id, user_id=user_id, after=after, topics=topics, ideas=ideas
    )
    return Replay(events=page.events, complete=page.complete, seq=latest)


def alert_submit(*, jam_id: int, user_id: int, message: AlertMessage) -> dict[str, Any]:
    ctx = _member_context(jam_id, user_id)
    alert, seq = services.alert_send(
        actor=ctx.user,  # type: ignore[arg-type]
        jam=ctx.jam,
        text=message.text,
        client_id=message.client_id,
    )
    return {"client_id": message.client_id, "id": alert.pk, "seq": seq}


def post_submit(*, jam_id: int, user_id: int, message: PostMessage) -> dict[str, Any]:
    from ideas.live import post_submit as submit

    return submit(jam_id=jam_id, user_id=user_id, message=message)


def react_submit(*, jam_id: int, user_id: int, message: ReactMessage) -> dict[str, Any]:
    from ideas.live import react_submit as submit

    return submit(jam_id=jam_id, user_id=user_id, message=message)


def votes_submit(
    *, jam_id: int, votes: Sequence[tuple[int, VoteMessage]]
) -> list[tuple[bool, Any]]:
    """A batch of sockets' votes (jams/groupcommit.py): ``(ok, ack or
    exception)`` per ``(user id, message)``."""
    from voting.live import votes_submit as submit

    return submit(jam_id=jam_id, votes=votes)
