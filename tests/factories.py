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
