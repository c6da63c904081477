"""Votes over the jam socket (jams/consumers.py): the socket's user and jam
in, the acknowledgement out. The rules are ``services.vote_cast``'s, the same
as for the round page's form.

A vote is idempotent by nature: it replaces the voter's whole ballot, so a
ballot sent again after a lost acknowledgement stores the same ballot.
"""

from __future__ import annotations

from typing import Any

from accounts.models import User
from jams.errors import NotFound
from jams.protocol import VoteMessage

from . import services
from .models import VotingRound


def vote_submit(*, jam_id: int, user_id: int, message: VoteMessage) -> dict[str, Any]:
    """Cast the socket user's ballot in a round of the socket's jam; the ack's
    fields: ``round``, ``entries`` (the stored ballot's size, 0 for a
    withdrawn vote) and ``voters`` (the round's turnout when this vote
    changed it, else null)."""
    # The vote reads nothing of the voter but the id (its membership and role
    # are read by vote_cast's checks): no query for the user row, a fifth of
    # a socket vote's Python time in a profile.
    actor = User(pk=user_id)
    voting_round = VotingRound.objects.filter(pk=message.round, jam_id=jam_id).first()
    if voting_round is None:
        raise NotFound
    cast = services.vote_cast(actor=actor, round=voting_round, choices=message.choices)
    return {
        "client_id": message.client_id,
        "round": voting_round.pk,
        "entries": cast.size,
        "voters": cast.voters if cast.voters >= 0 else None,
    }
