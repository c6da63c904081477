"""Demo data for voting, called at the end of ``manage.py seed_demo``.

``--phase voting``: an open approval round (up to 3 ideas) over every demo
idea, with a handful of votes already cast. ``--phase results``: the same
round closed, with votes from the demo people and ~40 generated voters, and
its ranking computed.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from accounts.models import User
from ideas.models import Idea
from jams.models import Jam, Role
from jams.phases import PhaseKind

from .methods import parameters_clean
from .models import BallotItem, Method, VotingRound
from .services import ranking_compute, vote_cast

EXTRA_VOTERS = 40
# How much the demo electorate likes each idea (by position on the ballot).
APPEAL = [0.55, 0.35, 0.2, 0.5, 0.4, 0.3, 0.15, 0.45, 0.25]


def voting_demo_seed(jam: Jam, *, phase: str, people: Sequence[User], password: str) -> None:
    if phase not in ("voting", "results"):
        return
    voting_round = _round(jam)
    voters = list(people)
    if phase == "results":
        voters += _extra_voters(jam, password)
    else:
        voters = voters[2:4]  # two demo participants have voted; the rest may try
    _votes(jam, voting_round, voters)
    if phase == "results":
        ranking_compute(round=voting_round)


def _round(jam: Jam) -> VotingRound:
    """Written directly: seed data, placed after the ballot was frozen."""
    voting_round = VotingRound.objects.create(
        jam=jam,
        title="Which ideas should we fund?",
        method=Method.APPROVAL,
        parameters=parameters_clean(Method.APPROVAL, {"max_approvals": 3}),
    )
    ideas = Idea.objects.filter(jam=jam, merged_into__isnull=True, hidden_at__isnull=True)
    BallotItem.objects.bulk_create(
        BallotItem(round=voting_round, idea=idea, position=i)
        for i, idea in enumerate(ideas.order_by("created_at", "id"), 1)
    )
    return voting_round


def _extra_voters(jam: Jam, password: str) -> list[User]:
    """The generated voters share one password hash: hashing it 40 times took ~25 s."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password

    from jams import services

    hashed = make_password(password)
    voters = []
    for i in range(1, EXTRA_VOTERS + 1):
        email = f"voter{i}@example.com"
        user, _ = User.objects.update_or_create(
            email=email, defaults={"name": f"Voter {i}", "password": hashed}
        )
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        voters.append(user)
    for user in voters:
        services._membership_add(jam=jam, user=user, role=Role.PARTICIPANT, how="seeded")
    return voters


def _votes(jam: Jam, voting_round: VotingRound, voters: Sequence[User]) -> None:
    voting = jam.phases.get(kind=PhaseKind.VOTING)
    at = voting.starts_at + (voting.ends_at - voting.starts_at) / 3
    ideas = list(voting_round.items.order_by("position").values_list("idea_id", flat=True))
    rng = random.Random(4)  # noqa: S311 - demo content, not security
    for voter in voters:
        liked = [i for n, i in enumerate(ideas) if rng.random() < APPEAL[n % len(APPEAL)]]
        rng.shuffle(liked)
        vote_cast(actor=voter, round=voting_round, choices=dict.fromkeys(liked[:3], 1), now=at)
