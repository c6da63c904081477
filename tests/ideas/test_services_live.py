"""The socket post path's one-statement member context against the ORM's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from jams.models import Phase, Role
from jams.phases import Stage
from jams.selectors import _member_context_orm, member_context
from tests.factories import jam_in_stage, member


def _fields(obj: object) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}  # type: ignore[attr-defined]


@pytest.mark.postgres
@pytest.mark.django_db
def test_member_context_in_one_statement_equals_the_selector() -> None:
    """One plain statement (membership, user, jam, phases) builds the same
    context as the ORM's two queries: every column of the user, the
    jam and each phase, in the same order; None for a non-member; a jam
    without phases has none."""
    jam = jam_in_stage(Stage.DISCUSSION)
    organizer = member(jam, Role.ORGANIZER)
    first = Phase.objects.filter(jam=jam).order_by("starts_at", "id").first()
    assert first is not None
    Phase.objects.create(  # same start as the first: the id breaks the tie
        jam=jam, kind=first.kind, starts_at=first.starts_at,
        ends_at=first.starts_at + timedelta(minutes=1),
    )  # fmt: skip
    for user in (organizer, member(jam, Role.PARTICIPANT)):
        fast = member_context(jam_id=jam.pk, user_id=user.pk)
        orm = _member_context_orm(jam_id=jam.pk, user_id=user.pk)
        assert fast is not None and orm is not None
        assert fast.role == orm.role
        assert _fields(fast.user) == _fields(orm.user)
        assert _fields(fast.jam) == _fields(orm.jam)
        assert [_fields(p) for p in fast.phases] == [_fields(p) for p in orm.phases]
        assert len(fast.phases) >= 2
    outsider = member(jam_in_stage(Stage.DISCUSSION), Role.PARTICIPANT)
    assert member_context(jam_id=jam.pk, user_id=outsider.pk) is None
    Phase.objects.filter(jam=jam).delete()
    empty = member_context(jam_id=jam.pk, user_id=organizer.pk)
    assert empty is not None and empty.phases == []
