"""Test data, built through the same services the product uses where it matters."""

from __future__ import annotations

from datetime import datetime, timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import User
from jams.models import Jam, Membership, Phase, Role, Topic, Visibility
from jams.phases import PhaseKind, Stage

HOUR = timedelta(hours=1)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Sequence(lambda n: f"Person {n}")
    password = factory.django.Password("pw-secret-123")

    @factory.post_generation
    def verified(obj: User, create: bool, extracted: bool | None, **kwargs: object) -> None:
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


class JamFactory(factory.django.DjangoModelFactory[Jam]):
    class Meta:
        model = Jam

    title = factory.Sequence(lambda n: f"Jam {n}")
    slug = factory.Sequence(lambda n: f"jam-{n}")
    visibility = Visibility.INVITATION


class TopicFactory(factory.django.DjangoModelFactory[Topic]):
    class Meta:
        model = Topic

    jam = factory.SubFactory(JamFactory)
    title = factory.Sequence(lambda n: f"Topic {n}")


def member(jam: Jam, role: Role | str = Role.PARTICIPANT, **user_fields: object) -> User:
    user = UserFactory(**user_fields)
    Membership.objects.create(jam=jam, user=user, role=role)
    return user


def schedule(jam: Jam, *, now: datetime, stage: Stage) -> list[Phase]:
    """Discussion, curation, voting, results windows placed so that ``now``
    falls in the requested stage."""
    offsets = {
        Stage.SETUP: 2 * HOUR,
        Stage.DISCUSSION: -HOUR,
        Stage.CURATION: -(10 + 1) * HOUR,
        Stage.VOTING: -(10 + 2 + 1) * HOUR,
        Stage.CLOSED: -(10 + 2 + 5 + 1) * HOUR,
        Stage.PUBLISHED: -(10 + 2 + 5 + 1) * HOUR,
    }
    start = now + offsets[stage]
    windows = [
        (PhaseKind.DISCUSSION, start, start + 10 * HOUR),
        (PhaseKind.CURATION, start + 10 * HOUR, start + 12 * HOUR),
        (PhaseKind.VOTING, start + 12 * HOUR, start + 17 * HOUR),
        (PhaseKind.RESULTS, start + 17 * HOUR, start + 100 * HOUR),
    ]
    phases = [
        Phase.objects.create(jam=jam, kind=kind.value, starts_at=s, ends_at=e)
        for kind, s, e in windows
    ]
    if stage is Stage.PUBLISHED:
        jam.results_published_at = now - HOUR
        jam.save(update_fields=["results_published_at"])
    return phases


def jam_in_stage(stage: Stage, *, now: datetime | None = None, **fields: object) -> Jam:
    jam = JamFactory(**fields)
    schedule(jam, now=now or timezone.now(), stage=stage)
    return jam


# --- Voting (appended for tests/voting) ----------------------------------------

from ideas.models import Idea, Post  # noqa: E402
from voting.models import BallotItem, VotingRound  # noqa: E402


def idea_in(
    jam: Jam,
    *,
    title: str = "An idea",
    topic: Topic | None = None,
    agrees: int = 0,
    replies: int = 0,
    **fields: object,
) -> Idea:
    """An idea with its opening post (``agrees`` agreements) and ``replies``
    replies, written directly so it works in any stage."""
    topic = topic or Topic.objects.filter(jam=jam).first() or TopicFactory(jam=jam)
    idea = Idea.objects.create(jam=jam, topic=topic, title=title, reply_count=replies, **fields)
    opening = Post.objects.create(
        jam=jam, topic=topic, idea=idea, body=title, body_html=title, agree_count=agrees
    )
    Post.objects.bulk_create(
        Post(jam=jam, topic=topic, idea=idea, parent=opening, body="re", body_html="re", depth=1)
        for _ in range(replies)
    )
    return idea


def round_with_ballot(
    jam: Jam,
    ideas: list[Idea],
    *,
    method: str = "approval",
    parameters: dict[str, object] | None = None,
    **fields: object,
) -> VotingRound:
    """A voting round with these ideas on its ballot, written directly (the
    ballot services refuse changes once voting is open)."""
    from voting.methods import parameters_clean

    voting_round = VotingRound.objects.create(
        jam=jam,
        title=fields.pop("title", f"Round {method}"),
        method=method,
        parameters=parameters_clean(method, parameters),
        **fields,
    )
    BallotItem.objects.bulk_create(
        BallotItem(round=voting_round, idea=idea, position=i) for i, idea in enumerate(ideas, 1)
    )
    return voting_round
