"""A member downloads their data and deletes their account; content stays,
unsigned; reactions still count, unlinked."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from accounts.models import User
from ideas import services as idea_services
from ideas.models import Post, Reaction
from jams.models import AuditEntry, Membership
from jams.services import audit_append

pytestmark = pytest.mark.django_db


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_download_contains_my_posts_and_reactions_and_nobody_elses(
    jam, topic, participant, facilitator
) -> None:
    mine = idea_services.idea_create(actor=participant, topic=topic, title="Mine", body="my words")
    idea_services.idea_create(actor=facilitator, topic=topic, title="Theirs", body="their words")
    idea_services.reaction_set(actor=participant, post=Post.objects.get(pk=mine.id), value="agree")
    response = logged_in(participant).get("/me/data/")
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["profile"]["email"] == participant.email
    assert [p["body"] for p in data["posts"]] == ["my words"]
    assert data["reactions"] == [
        {"post_id": mine.id, "value": "agree", "updated_at": data["reactions"][0]["updated_at"]}
    ]
    assert [m["jam__slug"] for m in data["memberships"]] == [jam.slug]


def test_delete_needs_the_password(participant) -> None:
    response = logged_in(participant).post("/me/delete/", {"password": "wrong"})
    assert response.status_code == 200
    assert User.objects.filter(pk=participant.pk).exists()


def test_deleting_keeps_content_unsigned_and_reactions_counted(
    jam, topic, participant, facilitator
) -> None:
    written = idea_services.idea_create(actor=participant, topic=topic, title="Mine", body="stays")
    other = idea_services.idea_create(actor=facilitator, topic=topic, title="Theirs", body="x")
    idea_services.reaction_set(actor=participant, post=Post.objects.get(pk=other.id), value="agree")
    audit_append(jam=jam, actor=participant, action="post.flagged")
    response = logged_in(participant).post("/me/delete/", {"password": "pw-secret-123"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=participant.pk).exists()
    assert not Membership.objects.filter(user_id=participant.pk).exists()
    post = Post.objects.get(pk=written.id)
    assert (post.body, post.author) == ("stays", None)
    reaction = Reaction.objects.get(post_id=other.id)
    assert (reaction.user, reaction.value) == (None, "agree")
    assert Post.objects.get(pk=other.id).agree_count == 1
    labels = set(AuditEntry.objects.values_list("actor_label", flat=True))
    assert participant.email not in labels
    assert f"deleted member {participant.pk}" in labels
    thread = Client()
    thread.force_login(facilitator)
    page = thread.get(post.idea.get_absolute_url()).content.decode()
    assert "deleted member" in page
