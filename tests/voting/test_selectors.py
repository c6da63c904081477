"""The vote check's context: PostgreSQL's one plain statement against the ORM's query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from jams.models import Jam, Phase, Role, Visibility
from jams.phases import Stage
from jams.selectors import JamContext
from tests.factories import UserFactory, jam_in_stage, member
from voting.selectors import _vote_context_of, _vote_context_orm, vote_context, vote_contexts

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _fields(obj: object) -> dict[str, object]:
    """Every loaded concrete field of a model instance, by attname."""
    deferred = obj.get_deferred_fields()  # type: ignore[attr-defined]
    return {
        f.attname: getattr(obj, f.attname)
        for f in type(obj)._meta.concrete_fields  # type: ignore[attr-defined]
        if f.attname not in deferred
    }


def _orm(jam_id: int, voter: User) -> JamContext:
    return _vote_context_of(jam_id, voter, *_vote_context_orm(jam_id=jam_id, voter=voter))


def _same(fast: JamContext, orm: JamContext) -> None:
    assert fast.role == orm.role
    assert fast.user is orm.user
    assert fast.jam.get_deferred_fields() == orm.jam.get_deferred_fields()
    assert _fields(fast.jam) == _fields(orm.jam)
    assert [_fields(p) for p in fast.phases] == [_fields(p) for p in orm.phases]


def test_vote_context_in_one_statement_equals_the_orm_query() -> None:
    """Role, the jam's checked columns and every column of every phase, in
    ``Phase.Meta.ordering`` (start, then id), come back as from the ORM: for
    members of each role, a member of another jam, a jam with published
    results, and a jam without phases (one row of NULL phase columns)."""
    now = timezone.now()
    jam = jam_in_stage(Stage.VOTING, visibility=Visibility.MEMBERS)
    Jam.objects.filter(pk=jam.pk).update(results_published_at=now)
    first = Phase.objects.filter(jam=jam).order_by("starts_at", "id").first()
    assert first is not None
    # Created last, sorted first; and a tie on the start broken by the id.
    Phase.objects.create(
        jam=jam, kind=first.kind, starts_at=first.starts_at - timedelta(hours=1),
        ends_at=first.starts_at,
    )  # fmt: skip
    Phase.objects.create(
        jam=jam, kind=first.kind, starts_at=first.starts_at,
        ends_at=first.starts_at + timedelta(minutes=1),
    )  # fmt: skip
    other = jam_in_stage(Stage.VOTING)  # its phases and members are not this jam's
    voters = [member(jam, role) for role in Role] + [member(other), UserFactory()]

    for voter in voters:
        fast = vote_context(jam_id=jam.pk, voter=voter)
        _same(fast, _orm(jam.pk, voter))
    assert len(fast.phases) == Phase.objects.filter(jam=jam).count() >= 6
    assert fast.role is None
    assert fast.jam.results_published_at == now
    assert [vote_context(jam_id=jam.pk, voter=v).role for v in voters[:-2]] == list(Role)

    Phase.objects.filter(jam=jam).delete()
    empty = vote_context(jam_id=jam.pk, voter=voters[0])
    _same(empty, _orm(jam.pk, voters[0]))
    assert (empty.phases, empty.role) == ([], Role.values[0])


def test_vote_context_of_a_missing_jam_is_does_not_exist() -> None:
    voter = UserFactory()
    with pytest.raises(Jam.DoesNotExist):
        vote_context(jam_id=0, voter=voter)
    with pytest.raises(Jam.DoesNotExist):
        _vote_context_orm(jam_id=0, voter=voter)


def test_vote_contexts_read_many_voters_in_two_statements() -> None:
    """A batch of votes (services.votes_cast) reads every voter's context at
    once: each equals ``vote_context`` for that voter (members of each role,
    a member of another jam, a stranger), in two statements however many
    voters; an empty batch still reads the jam."""
    jam = jam_in_stage(Stage.VOTING)
    other = jam_in_stage(Stage.VOTING)
    voters = [member(jam, role) for role in Role] + [member(other), UserFactory()]
    with CaptureQueriesContext(connection) as queries:
        many = vote_contexts(jam_id=jam.pk, voters=voters)
    assert len(queries) == 2
    assert list(many) == [v.pk for v in voters]
    for voter in voters:
        _same(many[voter.pk], vote_context(jam_id=jam.pk, voter=voter))
    assert [many[v.pk].role for v in voters] == [*Role, None, None]
    assert vote_contexts(jam_id=jam.pk, voters=[]) == {}
    with pytest.raises(Jam.DoesNotExist):
        vote_contexts(jam_id=0, voters=voters)
