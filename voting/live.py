"""Votes over the jam socket (jams/consumers.py): the socket's user and jam
in, the acknowledgement out. The rules are ``services.vote_cast``'s, the same
as for the round page's form.

The votes of a process's sockets in one jam are batched
(``jams.groupcommit.vote_batch_for_loop``): while one batch is in its
transaction the next votes queue, then go together through
``services.votes_cast``, a transaction and seven statements per round
however many voters. A lone vote is not delayed.

A vote is idempotent by nature: it replaces the voter's whole ballot, so a
ballot sent again after a lost acknowledgement stores the same ballot, and a
batch that failed can be cast again vote by vote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from accounts.models import User
from jams.errors import NotFound
from jams.protocol import VoteMessage

from . import services
from .models import VotingRound

type Outcome = tuple[bool, Any]


def vote_submit(*, jam_id: int, user_id: int, message: VoteMessage) -> dict[str, Any]:
    """Cast the socket user's ballot in a round of the socket's jam; the ack's
    fields: ``round``, ``entries`` (the stored ballot's size, 0 for a
    withdrawn vote) and ``voters`` (the round's turnout when this vote
    changed it, else null)."""
    ((ok, value),) = votes_submit(jam_id=jam_id, votes=[(user_id, message)])
    if not ok:
        raise value
    return value


def votes_submit(*, jam_id: int, votes: Sequence[tuple[int, VoteMessage]]) -> list[Outcome]:
    """Many sockets' votes, ``(user id, message)``, in the socket's jam:
    ``(True, ack)`` or ``(False, exception)`` per vote, in order.

    The votes of each round named go through ``services.votes_cast`` in one
    batch; should a batch fail for anything but a refusal (a database error),
    each of its votes is cast again alone, so that one vote's failure is its
    own, as ``jams.groupcommit`` does for posts.
    """
    # The vote reads nothing of the voter but the id (its membership and role
    # are read by the vote's checks): no query for the user rows, a fifth of
    # a socket vote's Python time in a profile.
    rounds = {
        r.pk: r
        for r in VotingRound.objects.filter(
            pk__in={message.round for _user, message in votes}, jam_id=jam_id
        )
    }
    outcomes: list[Outcome] = [(False, NotFound()) for _vote in votes]
    by_round: dict[int, list[int]] = {}
    for i, (_user, message) in enumerate(votes):
        if message.round in rounds:
            by_round.setdefault(message.round, []).append(i)
    for round_id, indexes in by_round.items():
        voting_round = rounds[round_id]
        batch = [(User(pk=votes[i][0]), votes[i][1].choices) for i in indexes]
        casts: list[Any]
        try:
            casts = services.votes_cast(round=voting_round, votes=batch)
        except Exception as exc:  # reported to the vote's socket
            casts = [exc] if len(batch) == 1 else [_alone(voting_round, *vote) for vote in batch]
        for i, cast in zip(indexes, casts, strict=True):
            outcomes[i] = _ack(votes[i][1], voting_round, cast)
    return outcomes


def _alone(voting_round: VotingRound, actor: User, choices: Any) -> Any:
    try:
        return services.vote_cast(actor=actor, round=voting_round, choices=choices)
    except Exception as exc:  # reported to the vote's socket
        return exc


def _ack(message: VoteMessage, voting_round: VotingRound, cast: Any) -> Outcome:
    if isinstance(cast, Exception):
        return False, cast
    return True, {
        "client_id": message.client_id,
        "round": voting_round.pk,
        "entries": cast.size,
        "voters": cast.voters if cast.voters >= 0 else None,
    }
