from __future__ import annotations

from django.conf import settings
from django.db import transaction

from jams.errors import Invalid

from .models import User


def user_language_set(*, user: User, language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise Invalid("unknown language")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def user_profile_update(*, user: User, name: str, language: str, time_zone: str) -> User:
    user.name, user.language, user.time_zone = name.strip(), language, time_zone
    user.full_clean(exclude=["password", "email"])
    user.save(update_fields=["name", "language", "time_zone"])
    return user


def account_delete(*, user: User) -> None:
    """Delete a member's account. What they wrote stays, under a "deleted
    member" label (authors become null); their reactions and votes still
    count but are unlinked (null voter); their memberships, notifications,
    flags, sessions and email addresses go. The audit log keeps what was
    done but no longer who: its actor label becomes a pseudonym, the one
    change ever made to audit rows, and the deletion itself is logged."""
    from jams.models import AuditEntry
    from jams.realtime import user_signal
    from jams.services import audit_append

    pseudonym = f"deleted member {user.pk}"
    with transaction.atomic():
        AuditEntry.objects.filter(actor=user).update(actor_label=pseudonym)
        audit_append(jam=None, actor=None, action="account.deleted", target=pseudonym)
        user_id = user.pk
        user.delete()
        user_signal(user_id=user_id)  # open sockets re-check and close
