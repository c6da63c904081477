"""Jams, their schedule, topics, membership, invitations, the event log and the audit log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import validate_time_zone

from .phases import PhaseKind, PhaseWindow, Stage

PHASE_KIND_CHOICES = [
    (PhaseKind.DISCUSSION.value, _("Discussion")),
    (PhaseKind.CURATION.value, _("Curation")),
    (PhaseKind.VOTING.value, _("Voting")),
    (PhaseKind.RESULTS.value, _("Results")),
]

STAGE_LABELS = {
    Stage.SETUP: _("Not started"),
    Stage.DISCUSSION: _("Discussion"),
    Stage.CURATION: _("Curation"),
    Stage.VOTING: _("Voting"),
    Stage.CLOSED: _("Closed"),
    Stage.PUBLISHED: _("Results published"),
}


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Public: anyone can see the landing page and join")
    MEMBERS = "members", _("Site members: anyone signed in can see it and join")
    INVITATION = "invitation", _("Invitation only")


class Role(models.TextChoices):
    PARTICIPANT = "participant", _("Participant")
    FACILITATOR = "facilitator", _("Facilitator")
    ORGANIZER = "organizer", _("Organizer")
    EXECUTIVE = "executive", _("Executive")


def generate_token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class LocalText:
    """A jam's or topic's title and description as one viewer reads them,
    and the language they are written in (for the ``lang`` attribute)."""

    title: str
    description: str
    language: str


class Jam(models.Model):
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    description = models.TextField(_("description"), blank=True)
    visibility = models.CharField(
        _("visibility"), max_length=16, choices=Visibility.choices, default=Visibility.INVITATION
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="UTC", validators=[validate_time_zone]
    )
    # The language of title and description above; other languages are in
    # JamText (and TopicText for the topics).
    language = models.CharField(
        _("default language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("The language the title and description are written in."),
    )
    results_published_at = models.DateTimeField(_("results published at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The jam-wide event sequence: the last seq handed out. Incremented by
    # jams.realtime.event_record inside the writing transaction, so seq order
    # is commit order.
    last_seq = models.BigIntegerField(default=0, editable=False)

    # The texts in the viewer's language, set by jams.selectors.jams_localize.
    localized: LocalText | None = None

    class Meta:
        ordering = ["-created_at"]
        permissions = [("create_jam", "Can create jams")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("jams:home", kwargs={"slug": self.slug})

    @property
    def local(self) -> LocalText:
        """Title and description in the viewer's language where the organizers
        wrote them, else in the jam's default language. Never queries."""
        return self.localized or LocalText(self.title, self.description, self.language)


class PhaseQuerySet(models.QuerySet["Phase"]):
    def active(self, now: datetime) -> PhaseQuerySet:
        return self.filter(starts_at__lte=now, ends_at__gt=now)

    def upcoming(self, now: datetime) -> PhaseQuerySet:
        return self.filter(starts_at__gt=now)


class Phase(models.Model):
    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="phases")
    kind = models.CharField(_("kind"), max_length=16, choices=PHASE_KIND_CHOICES)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    objects = PhaseQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="phase_starts_before_it_ends"
            ),
        ]
        indexes = [models.Index(fields=["jam", "starts_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.starts_at:%Y-%m-%d %H:%M})"

    def window(self) -> PhaseWindow:
        return PhaseWindow(
            id=self.pk, kind=PhaseKind(self.kind), starts_at=self.starts_at, ends_at=self.ends_at
        )


class Topic(models.Model):
    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="topics")
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    facilitators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="facilitated_topics"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # The texts in the viewer's language, set by jams.selectors.topics_localize.
    localized: LocalText | None = None

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["jam", "title"], name="topic_title_unique_in_jam"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("ideas:topic", kwargs={"slug": self.jam.slug, "topic_id": self.pk})

    @property
    def local(self) -> LocalText:
        """Like Jam.local. Unlocalized, the language is unknown here (it is the
        jam's) and left blank rather than fetching the jam."""
        return self.localized or LocalText(self.title, self.description, "")


class JamText(models.Model):
    """The jam's title and description in a language other than its default."""

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(fields=["jam", "language"], name="jam_text_one_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.jam_id} [{self.language}] {self.title}"


class TopicText(models.Model):
    """A topic's title and description in a language other than the jam's default."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    title = models.CharField(_("title"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["language"]
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "language"], name="topic_text_one_per_language"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic_id} [{self.language}] {self.title}"


class Membership(models.Model):
    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices)
    joined_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["jam", "user"], name="membership_one_per_user_and_jam"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.jam} as {self.role}"


class Invitation(models.Model):
    """An email invitation (one person, one use) or a shareable link (email blank)."""

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="invitations")
    token = models.CharField(max_length=64, unique=True, default=generate_token, editable=False)
    email = models.EmailField(_("email address"), blank=True)
    role = models.CharField(
        _("role"), max_length=16, choices=Role.choices, default=Role.PARTICIPANT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    use_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # An email invitation is accepted at most once: by one person.
            models.CheckConstraint(
                condition=Q(email="") | Q(use_count__lte=1), name="email_invitation_used_once"
            ),
        ]

    def __str__(self) -> str:
        return self.email or f"link {self.token[:6]}…"

    def get_absolute_url(self) -> str:
        return reverse("jams:invitation", kwargs={"token": self.token})

    @property
    def is_link(self) -> bool:
        return not self.email

    def usable(self, now: datetime) -> bool:
        if self.revoked_at is not None:
            return False
        if self.expires_at is not None and self.expires_at <= now:
            return False
        return self.is_link or self.accepted_at is None


class Event(models.Model):
    """The durable record of every live event; sockets resume from it by seq."""

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="events")
    seq = models.BigIntegerField()
    name = models.CharField(max_length=40)
    # Where the event belongs: jam-wide when both are null.
    topic_id = models.BigIntegerField(null=True, blank=True)
    idea_id = models.BigIntegerField(null=True, blank=True)
    # Private events (a notification) go to one member only.
    recipient_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["jam", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["jam", "seq"], name="event_seq_unique_in_jam"),
        ]

    def __str__(self) -> str:
        return f"{self.jam_id}#{self.seq} {self.name}"


class AuditEntry(models.Model):
    """Append-only: who did what, when and why. Never updated, never deleted."""

    jam = models.ForeignKey(
        Jam, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the actor's account is deleted.
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=60)
    target = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["jam", "-created_at"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit entries are append-only.")


class Alert(models.Model):
    """A short message a facilitator or organizer broadcasts to the whole jam."""

    MAX_LENGTH = 280

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="alerts")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.CharField(_("text"), max_length=MAX_LENGTH)
    client_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_id"], name="alert_client_id_unique_per_author"
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]
