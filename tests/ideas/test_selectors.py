"""The thread page's posts in one plain statement against the ORM's query."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ideas.models import Post, Reaction
from ideas.selectors import _thread_rows_orm, thread_rows
from jams.phases import Stage
from tests.factories import idea_in, jam_in_stage, member


@pytest.mark.postgres
@pytest.mark.django_db
def test_thread_rows_in_one_statement_equal_the_orms() -> None:
    """Every value of every row, with its type and time zone, in the same
    order: posts written at the same instant (the id breaks the tie),
    hidden and edited posts, a deleted author, the viewer's own reactions
    and nobody else's (not another member's, not a deleted account's), for
    a member with reactions, one without, and an anonymous viewer; posts
    of other ideas are left out."""
    jam = jam_in_stage(Stage.DISCUSSION)
    alice, bob = member(jam, name="Alice"), member(jam, name="")
    idea = idea_in(jam, title="Thread")
    idea_in(jam, title="Another", replies=2)
    opening = Post.objects.get(idea=idea, parent=None)
    now = timezone.now()

    def reply(author: object, **fields: object) -> Post:
        return Post.objects.create(
            jam=jam, topic=idea.topic, idea=idea, parent=opening, depth=1, author=author,
            body="text", body_html="<p>text ✓</p>", **fields,
        )  # fmt: skip

    same_time = [reply(alice, created_at=now), reply(bob, created_at=now)]
    hidden = reply(bob, hidden_at=now, hidden_reason="off topic", agree_count=2)
    edited = reply(alice, edited_at=now + timedelta(seconds=1), disagree_count=1, pass_count=3)
    orphan = reply(None)
    Reaction.objects.create(post=same_time[1], user=alice, value="agree")
    Reaction.objects.create(post=hidden, user=alice, value="pass")
    Reaction.objects.create(post=hidden, user=bob, value="disagree")
    Reaction.objects.create(post=edited, user=None, value="agree")
    carol = member(jam)

    for viewer in (alice.pk, bob.pk, carol.pk, None):
        fast = thread_rows(idea_id=idea.pk, user_id=viewer)
        orm = _thread_rows_orm(idea_id=idea.pk, user_id=viewer)
        assert fast == orm
        # == on datetimes compares instants; repr also compares the zone.
        assert [repr(row) for row in fast] == [repr(row) for row in orm]
        assert [type(value) for row in fast for value in row] == [
            type(value) for row in orm for value in row
        ]
    ids = [row[0] for row in thread_rows(idea_id=idea.pk, user_id=alice.pk)]
    assert ids[0] == opening.pk
    assert set(ids) == {opening.pk, *(p.pk for p in same_time), hidden.pk, edited.pk, orphan.pk}
    assert ids.index(same_time[0].pk) + 1 == ids.index(same_time[1].pk)
    mine = {row[0]: row[-1] for row in thread_rows(idea_id=idea.pk, user_id=alice.pk)}
    assert {pk: value for pk, value in mine.items() if value} == {
        same_time[1].pk: "agree",
        hidden.pk: "pass",
    }
    assert not any(row[-1] for row in thread_rows(idea_id=idea.pk, user_id=None))
