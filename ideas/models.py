"""Ideas (threads), their posts, reactions, flags and edit history."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from jams.models import Jam, Topic


class ReactionValue(models.TextChoices):
    AGREE = "agree", _("Agree")
    DISAGREE = "disagree", _("Disagree")
    PASS = "pass", _("Pass")


class Idea(models.Model):
    """A thread: a titled opening post and its replies, in one topic."""

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="ideas")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="ideas")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="ideas"
    )
    title = models.CharField(_("title"), max_length=200)
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    reply_count = models.PositiveIntegerField(default=0)
    pinned_at = models.DateTimeField(null=True, blank=True)
    # A duplicate merged into another idea; its posts stay where they are.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_ideas"
    )
    hidden_at = models.DateTimeField(null=True, blank=True)
    # The Pol.is comment id for imported ideas.
    external_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            models.Index(fields=["topic", "-last_activity_at"]),
            models.Index(fields=["jam", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(merged_into=models.F("id")), name="idea_not_merged_into_itself"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("ideas:idea", kwargs={"slug": self.jam.slug, "idea_id": self.pk})


def post_text(title: str | None, body: str) -> str:
    """What a post says: an opening post's idea title (``title``; None for a
    reply) joins its body, unless the body already starts with it (an
    imported Pol.is comment is its own title). What the search matches
    (PostgreSQL's ``jam_post_text``, migration 0005, does the same) and the
    analysis reads."""
    if not title:
        return body
    stem = title.rstrip("…").strip()
    return body if body.startswith(stem) else f"{title}\n\n{body}"


def post_visible(relation: str = "") -> Q:
    """The posts people can read: neither the post nor its idea (the
    thread) hidden. Hiding an idea hides its opening post and leaves its
    replies as they were, out of sight with the thread; they come back
    with it. ``relation`` leads to the posts ("post__" from a reaction)."""
    return Q(**{f"{relation}hidden_at__isnull": True, f"{relation}idea__hidden_at__isnull": True})


class PostManager(models.Manager["Post"]):
    """Posts without their ``search_words`` unless asked for: only searches
    read them, in SQL, and a post's page has no use for a copy of its text."""

    def get_queryset(self) -> models.QuerySet[Post]:
        return super().get_queryset().defer("search_words")


class Post(models.Model):
    MAX_BODY = 10_000
    MAX_TITLE = 200

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="posts")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="posts")
    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="posts")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="posts"
    )
    body = models.TextField(_("text"))
    # Rendered from Markdown and sanitized with nh3 when written.
    body_html = models.TextField()
    depth = models.PositiveSmallIntegerField(default=0)
    client_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(max_length=500, blank=True)
    agree_count = models.PositiveIntegerField(default=0)
    disagree_count = models.PositiveIntegerField(default=0)
    pass_count = models.PositiveIntegerField(default=0)
    # Scored when written (analysis.pipeline.sentiment); null = not scored.
    language = models.CharField(max_length=8, blank=True)
    sentiment = models.FloatField(null=True, blank=True)
    external_id = models.CharField(max_length=64, blank=True)
    # The words of the folded text (post_text: an opening post's with its
    # idea's title), kept by PostgreSQL itself (triggers, migrations 0004
    # and 0005) for the search to match and rank; null on SQLite.
    search_words = SearchVectorField(null=True, editable=False)

    objects = PostManager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["idea", "created_at"]),
            models.Index(fields=["jam", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_id"], name="post_client_id_unique_per_author"
            ),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | Q(sentiment__gte=-1, sentiment__lte=1),
                name="post_sentiment_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.body[:60]

    def get_absolute_url(self) -> str:
        return f"{self.idea.get_absolute_url()}#post-{self.pk}"

    @property
    def is_opening(self) -> bool:
        return self.parent_id is None


class PostRevision(models.Model):
    """The text of a post before an edit."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.post_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class Reaction(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="reactions")
    # Unlinked (null) when the member deletes their account: the reaction
    # still counts, as the post's counts do.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="reactions"
    )
    value = models.CharField(max_length=8, choices=ReactionValue.choices)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="reaction_one_per_user_and_post"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.value} {self.post_id}"


class Flag(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="flags")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["post", "user"], name="flag_one_per_user_and_post"),
        ]

    def __str__(self) -> str:
        return f"flag {self.post_id} by {self.user_id}"


class Notification(models.Model):
    """Something for one member: a reply to their post, a mention."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        MENTION = "mention", _("Mention")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "post", "kind"], name="notification_once_per_post_and_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"
