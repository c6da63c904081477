"""Ideas, replies, reactions and moderation: rules, rows and the exact events."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError

from ideas import services
from ideas.models import Flag, Idea, Notification, Post, PostRevision, Reaction
from jams.errors import Forbidden, Invalid, NotFound, PhaseClosed, TooLarge
from jams.models import AuditEntry, Event, Role
from jams.phases import Stage
from tests.factories import TopicFactory, jam_in_stage, member

pytestmark = pytest.mark.django_db


def new_idea(actor, topic, **kwargs) -> Post:
    written = services.idea_create(
        actor=actor,
        topic=topic,
        title=kwargs.pop("title", "An idea"),
        body=kwargs.pop("body", "Body"),
        **kwargs,
    )
    return Post.objects.select_related("idea", "jam").get(pk=written.id)


def test_idea_create_writes_idea_post_and_one_event(topic, participant, events) -> None:
    with events.committed():
        written = services.idea_create(
            actor=participant, topic=topic, title="  Bike   lanes ", body="**More** lanes"
        )
    post = Post.objects.get(pk=written.id)
    assert post.idea.title == "Bike lanes"
    assert post.body_html == "<p><strong>More</strong> lanes</p>\n"
    [event] = events.drain()
    assert event == {
        "type": "event",
        "seq": written.seq,
        "event": "post.created",
        "data": {
            "id": post.pk,
            "idea": post.idea_id,
            "topic": topic.pk,
            "parent": None,
            "depth": 0,
            "title": "Bike lanes",
            "author": {"id": participant.pk, "name": participant.display_name},
            "body_html": "<p><strong>More</strong> lanes</p>\n",
            "created_at": event["data"]["created_at"],
            "edited_at": None,
            "counts": {"agree": 0, "disagree": 0, "pass": 0},
        },
        "_topic": topic.pk,
        "_idea": post.idea_id,
    }


def test_same_client_id_never_creates_a_second_post(topic, participant) -> None:
    client_id = str(uuid.uuid4())
    first = services.idea_create(
        actor=participant, topic=topic, title="T", body="B", client_id=client_id
    )
    again = services.idea_create(
        actor=participant, topic=topic, title="T", body="B", client_id=client_id
    )
    assert again.id == first.id
    assert again.seq == first.seq
    assert not again.created
    assert Post.objects.count() == 1
    assert Event.objects.filter(name="post.created").count() == 1


def test_markdown_is_sanitized_at_write_time(topic, participant) -> None:
    post = new_idea(
        participant,
        topic,
        body="<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)> [ok](https://example.com)",
    )
    html = post.body_html
    # Raw HTML stays text, unsafe links are not links, nothing carries handlers.
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert "<img" not in html
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer ugc">ok</a>' in html


@pytest.mark.parametrize(
    ("title", "body", "error"),
    [
        ("", "body", Invalid),
        ("t", "   ", Invalid),
        ("t" * 201, "body", TooLarge),
        ("t", "b" * 10_001, TooLarge),
    ],
)
def test_bad_posts_are_refused_with_a_reason(topic, participant, title, body, error) -> None:
    with pytest.raises(error) as refused:
        services.idea_create(actor=participant, topic=topic, title=title, body=body)
    assert refused.value.message
    assert not Post.objects.exists()


def test_too_long_message_says_the_limit_and_the_length(topic, participant) -> None:
    with pytest.raises(TooLarge, match="at most 10000 characters long; this one has 10001"):
        services.idea_create(actor=participant, topic=topic, title="t", body="b" * 10_001)


@pytest.mark.parametrize(
    "stage", [Stage.SETUP, Stage.CURATION, Stage.VOTING, Stage.CLOSED, Stage.PUBLISHED]
)
def test_threads_are_read_only_outside_the_discussion(stage) -> None:
    jam = jam_in_stage(stage)
    topic = TopicFactory(jam=jam)
    user = member(jam, Role.PARTICIPANT)
    with pytest.raises(PhaseClosed):
        services.idea_create(actor=user, topic=topic, title="T", body="B")


def test_non_members_cannot_post(topic) -> None:
    outsider = member(jam_in_stage(Stage.DISCUSSION))
    with pytest.raises(NotFound):
        services.idea_create(actor=outsider, topic=topic, title="T", body="B")


def test_nested_replies_and_notifications(topic, participant, jam, events) -> None:
    opening = new_idea(participant, topic)
    other = member(jam, Role.PARTICIPANT, email="carol@example.com")
    with events.committed():
        first = services.reply_create(actor=other, idea=opening.idea, body="reply")
        reply = Post.objects.get(pk=first.id)
        second = services.reply_create(
            actor=participant, idea=opening.idea, parent=reply, body="thanks @carol"
        )
    nested = Post.objects.get(pk=second.id)
    assert (reply.parent_id, reply.depth) == (opening.pk, 1)
    assert (nested.parent_id, nested.depth) == (reply.pk, 2)
    opening.idea.refresh_from_db()
    assert opening.idea.reply_count == 2
    assert set(Notification.objects.values_list("user__email", "kind")) == {
        (participant.email, "reply"),  # carol replied to the opening post
        ("carol@example.com", "reply"),  # participant replied to carol
        ("carol@example.com", "mention"),
    }
    names = events.names()
    assert names.count("post.created") == 2
    # Notifications are private: their events carry a recipient.
    assert Event.objects.filter(name="notification", recipient_id__isnull=False).count() == 3
    assert "notification" in names


def test_reply_parent_must_belong_to_the_idea(topic, participant) -> None:
    a = new_idea(participant, topic, title="A")
    b = new_idea(participant, topic, title="B")
    with pytest.raises(NotFound):
        services.reply_create(actor=participant, idea=a.idea, parent=b, body="x")


def test_edit_keeps_history_and_only_by_the_author(topic, participant, jam) -> None:
    post = new_idea(participant, topic, title="Old title", body="old")
    services.post_edit(actor=participant, post=post, body="new", title="New title")
    post.refresh_from_db()
    post.idea.refresh_from_db()
    assert (post.body, post.idea.title) == ("new", "New title")
    assert post.edited_at is not None
    revision = PostRevision.objects.get(post=post)
    assert (revision.title, revision.body) == ("Old title", "old")
    with pytest.raises(Forbidden):
        services.post_edit(actor=member(jam), post=post, body="hijack")


def test_reactions_one_per_person_changeable(topic, participant, jam, events) -> None:
    post = new_idea(participant, topic)
    other = member(jam)
    with events.committed():
        services.reaction_set(actor=participant, post=post, value="agree")
        services.reaction_set(actor=other, post=post, value="agree")
        services.reaction_set(actor=other, post=post, value="disagree")
        unchanged = services.reaction_set(actor=other, post=post, value="disagree")
    post.refresh_from_db()
    assert (post.agree_count, post.disagree_count, post.pass_count) == (1, 1, 0)
    assert Reaction.objects.filter(post=post).count() == 2
    assert not unchanged.created
    drained = [e for e in events.drain() if e["event"] == "reaction.changed"]
    assert [e["data"]["counts"] for e in drained] == [
        {"agree": 1, "disagree": 0, "pass": 0},
        {"agree": 2, "disagree": 0, "pass": 0},
        {"agree": 1, "disagree": 1, "pass": 0},
    ]
    with pytest.raises(Invalid):
        services.reaction_set(actor=other, post=post, value="love")


def test_hide_and_restore_need_a_facilitator_and_a_reason(
    topic, participant, facilitator, events
) -> None:
    post = new_idea(participant, topic)
    with pytest.raises(Forbidden):
        services.post_hide(actor=participant, post=post, reason="spam")
    with pytest.raises(Invalid):
        services.post_hide(actor=facilitator, post=post, reason=" ")
    services.post_flag(actor=participant, post=post, reason="dup")
    with events.committed():
        services.post_hide(actor=facilitator, post=post, reason="off topic")
        services.post_restore(actor=facilitator, post=post)
    post.refresh_from_db()
    assert post.hidden_at is None
    assert events.names() == ["post.hidden", "post.restored"]
    assert list(
        AuditEntry.objects.filter(action__startswith="post.h").values_list("reason", flat=True)
    ) == ["off topic"]
    assert Flag.objects.get(post=post).resolved_by == facilitator


def test_hiding_the_opening_post_hides_the_idea(topic, participant, facilitator) -> None:
    post = new_idea(participant, topic)
    services.post_hide(actor=facilitator, post=post, reason="abuse")
    post.idea.refresh_from_db()
    assert post.idea.hidden_at is not None
    with pytest.raises(Invalid):
        services.reply_create(actor=participant, idea=post.idea, body="x")


def test_merge_duplicates_follows_chains_and_refuses_cycles(
    topic, participant, facilitator
) -> None:
    a, b, c = (new_idea(participant, topic, title=t).idea for t in "ABC")
    services.idea_merge(actor=facilitator, idea=b, into=c)
    services.idea_merge(actor=facilitator, idea=a, into=b)
    a.refresh_from_db()
    assert a.merged_into_id == c.pk  # followed to the surviving idea
    c.refresh_from_db()
    with pytest.raises(Invalid):
        services.idea_merge(actor=facilitator, idea=c, into=c)
    with pytest.raises(Invalid):
        services.reply_create(actor=participant, idea=a, body="late")
    assert AuditEntry.objects.filter(action="idea.merged").count() == 2


def test_pin_is_for_facilitators(topic, participant, facilitator) -> None:
    idea = new_idea(participant, topic).idea
    with pytest.raises(Forbidden):
        services.idea_pin(actor=participant, idea=idea, pinned=True)
    services.idea_pin(actor=facilitator, idea=idea, pinned=True)
    assert Idea.objects.get(pk=idea.pk).pinned_at is not None


def test_english_posts_are_scored_when_written_others_left_unscored(topic, participant) -> None:
    happy = new_idea(participant, topic, body="This is a wonderful, excellent idea and I love it.")
    assert happy.language == "en"
    assert happy.sentiment is not None and happy.sentiment > 0.3
    german = new_idea(
        participant,
        topic,
        title="Idee",
        body="Das ist eine sehr gute Idee, und wir sollten sie mit der Stadt umsetzen.",
    )
    assert german.language == "de"
    assert german.sentiment is None


@pytest.mark.django_db
def test_prepared_inserts_write_the_rows_save_would(topic, participant) -> None:
    """idea_create and reply_create insert their rows with one prepared
    statement each (ideas.services._row_insert), not Model.save(): the rows
    read back with every default, and the returned instances are saved ones."""
    client_id = str(uuid.uuid4())
    written = services.idea_create(
        actor=participant, topic=topic, title="Prepared", body="Hello *there*", client_id=client_id
    )
    idea = Idea.objects.get(pk=written.idea_id)
    assert (idea.jam_id, idea.topic_id, idea.author_id, idea.title) == (
        topic.jam_id, topic.pk, participant.pk, "Prepared",
    )  # fmt: skip
    assert (idea.reply_count, idea.pinned_at, idea.merged_into_id, idea.external_id) == (
        0,
        None,
        None,
        "",
    )
    post = Post.objects.get(pk=written.id)
    assert (post.idea_id, post.parent_id, post.depth, str(post.client_id)) == (
        idea.pk, None, 0, client_id,
    )  # fmt: skip
    assert "<em>there</em>" in post.body_html
    assert (post.agree_count, post.disagree_count, post.pass_count, post.hidden_reason) == (
        0,
        0,
        0,
        "",
    )
    assert post.created_at == idea.created_at == idea.last_activity_at
    reply = services.reply_create(actor=participant, idea=idea, body="Reply")
    row = Post.objects.get(pk=reply.id)
    assert (row.parent_id, row.depth, row.client_id) == (post.pk, 1, None)
    with pytest.raises(ValidationError):
        services.idea_create(actor=participant, topic=topic, title="T", body="B", client_id="nope")
    assert Post.objects.count() == 2
