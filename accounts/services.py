from __future__ import annotations

from django.conf import settings

from jams.errors import Invalid

from .models import User


def user_language_set(*, user: User, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise Invalid("unknown language")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
