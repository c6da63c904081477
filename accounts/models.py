"""People who take part in jams. Email is the login; there is no username."""

from __future__ import annotations

import zoneinfo
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TAG_MAX_LENGTH = 40
TAGS_MAX = 12


def tags_normalize(value: str) -> str:
    """Expertise tags as one canonical string: lower case, single spaces,
    comma-separated, without duplicates, in the order first given."""
    seen: list[str] = []
    for raw in value.replace(";", ",").split(","):
        tag = " ".join(raw.split()).lower()[:TAG_MAX_LENGTH]
        if tag and tag not in seen:
            seen.append(tag)
    return ", ".join(seen[:TAGS_MAX])


def validate_time_zone(value: str) -> None:
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    language = models.CharField(_("language"), max_length=8, blank=True, choices=settings.LANGUAGES)
    time_zone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_time_zone]
    )
    # The public profile members of a shared jam see (community directory).
    # The photo is stored re-encoded (accounts.services.user_photo_set); without
    # one the avatar shows the initials.
    photo = models.ImageField(_("photo"), upload_to="photos/", blank=True)
    job_title = models.CharField(_("role"), max_length=120, blank=True)
    organization_unit = models.CharField(_("organization unit"), max_length=120, blank=True)
    location = models.CharField(_("location"), max_length=120, blank=True)
    # Normalized by tags_normalize: "data science, urban planning".
    expertise = models.CharField(_("expertise"), max_length=600, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        super().clean()
        self.email = self.email.lower()

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@", 1)[0]

    @property
    def initials(self) -> str:
        words = self.display_name.replace(".", " ").split()
        return "".join(w[0] for w in words[:2]).upper() or "?"

    @property
    def expertise_tags(self) -> list[str]:
        return [t for t in self.expertise.split(", ") if t]

    def get_full_name(self) -> str:
        return self.display_name

    def get_short_name(self) -> str:
        return self.display_name
