"""Facilitation and community: guidelines, the help radar, facilitator
shifts, hosted sessions, notification preferences and email deliveries."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ideas.models import Idea, Post
from jams.models import Jam, Topic


def default_unanswered_minutes() -> int:
    return int(getattr(settings, "COMMUNITY_HELP_UNANSWERED_MINUTES", 30))


class JamCommunity(models.Model):
    """A jam's community settings: guidelines, its help topic, the radar."""

    jam = models.OneToOneField(Jam, on_delete=models.CASCADE, related_name="community")
    guidelines = models.TextField(_("guidelines"), blank=True)
    # Rendered from Markdown and sanitized (ideas.rendering) when written.
    guidelines_html = models.TextField(blank=True)
    guidelines_updated_at = models.DateTimeField(null=True, blank=True)
    help_topic = models.ForeignKey(
        Topic,
        verbose_name=_("help topic"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    unanswered_minutes = models.PositiveIntegerField(
        _("minutes before an idea without replies counts as unanswered"),
        default=default_unanswered_minutes,
    )

    class Meta:
        verbose_name_plural = "jam communities"
        constraints = [
            models.CheckConstraint(
                condition=Q(unanswered_minutes__gte=1), name="community_unanswered_minutes_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"community of {self.jam_id}"


class GuidelinesAcceptance(models.Model):
    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    accepted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["jam", "user"], name="guidelines_accepted_once_per_jam"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} accepted {self.jam_id}"


class HelpReason(models.TextChoices):
    QUESTION = "question", _("Question")
    ASKS_FOR_HELP = "asks_for_help", _("Asks for help")
    UNANSWERED = "unanswered", _("No reply yet")


class HelpStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLAIMED = "claimed", _("Claimed")
    ANSWERED = "answered", _("Answered")
    RESOLVED = "resolved", _("Resolved")


ACTIVE_HELP = (HelpStatus.OPEN, HelpStatus.CLAIMED)


class HelpRequestQuerySet(models.QuerySet["HelpRequest"]):
    def active(self) -> HelpRequestQuerySet:
        return self.filter(status__in=ACTIVE_HELP)


class HelpRequest(models.Model):
    """A post on the facilitators' help radar: found when written (a
    question, a plea for help) or by the unanswered check."""

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="help_requests")
    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="help_request")
    reason = models.CharField(max_length=16, choices=HelpReason.choices)
    status = models.CharField(max_length=16, choices=HelpStatus.choices, default=HelpStatus.OPEN)
    detected_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = HelpRequestQuerySet.as_manager()

    class Meta:
        ordering = ["detected_at", "id"]
        indexes = [models.Index(fields=["jam", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=HelpStatus.values), name="help_request_status_known"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=HelpReason.values), name="help_request_reason_known"
            ),
        ]

    def __str__(self) -> str:
        return f"help {self.post_id} ({self.status})"


class FacilitatorShift(models.Model):
    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="facilitator_shifts")
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    handoff_note = models.TextField(_("hand-off note"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(started_at__lte=F("ended_at")),
                name="shift_starts_before_it_ends",
            ),
            models.UniqueConstraint(
                fields=["jam", "facilitator"],
                condition=Q(ended_at__isnull=True),
                name="shift_one_open_per_facilitator",
            ),
        ]

    def __str__(self) -> str:
        return f"shift of {self.facilitator_id} from {self.started_at:%Y-%m-%d %H:%M}"


class HostedSessionQuerySet(models.QuerySet["HostedSession"]):
    def live(self, now: object) -> HostedSessionQuerySet:
        return self.filter(starts_at__lte=now, ends_at__gt=now)


class HostedSession(models.Model):
    """A live Q&A with a host or guest in a topic. Its questions are replies
    in its own thread (``idea``), so the transcript stays in the topic."""

    jam = models.ForeignKey(Jam, on_delete=models.CASCADE, related_name="hosted_sessions")
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="+")
    idea = models.OneToOneField(Idea, on_delete=models.CASCADE, related_name="hosted_session")
    title = models.CharField(_("title"), max_length=200)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("host"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    guest = models.CharField(_("guest"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    # Set once, when the start was announced (lazily or by `session_alerts`).
    announced_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = HostedSessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(starts_at__lt=F("ends_at")), name="session_starts_before_it_ends"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class SessionAnswer(models.Model):
    """A session question (a reply in the session's thread) the host answered."""

    session = models.ForeignKey(HostedSession, on_delete=models.CASCADE, related_name="answers")
    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="+")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"answered {self.post_id}"


class EmailMode(models.TextChoices):
    IMMEDIATE = "immediate", _("Right away, one email each")
    DIGEST = "digest", _("A daily digest")
    OFF = "off", _("No email")


class NotificationPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email_mode = models.CharField(
        _("email"), max_length=16, choices=EmailMode.choices, default=EmailMode.DIGEST
    )
    # Alerts and session starts are jam-wide (no row per member): they count
    # as read up to this moment.
    alerts_read_at = models.DateTimeField(null=True, blank=True)
    # The digest covers what happened after this moment.
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(email_mode__in=EmailMode.values), name="notification_email_mode_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.email_mode}"


class EmailDelivery(models.Model):
    """One email per (person, key): what makes every email go out once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="email_delivery_once_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} to {self.user_id}"
