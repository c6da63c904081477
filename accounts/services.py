from __future__ import annotations

import secrets
from io import BytesIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from jams.errors import Invalid, TooLarge

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
    from jams.models import AuditEntry, Membership
    from jams.realtime import user_signal
    from jams.services import audit_append

    pseudonym = f"deleted member {user.pk}"
    photo = user.photo.name if user.photo else ""
    storage = user.photo.storage
    with transaction.atomic():
        AuditEntry.objects.filter(actor=user).update(actor_label=pseudonym)
        audit_append(jam=None, actor=None, action="account.deleted", target=pseudonym)
        user_id = user.pk
        jam_ids = list(Membership.objects.filter(user_id=user_id).values_list("jam_id", flat=True))
        user.delete()
        user_signal(user_id=user_id, jam_ids=jam_ids)  # open sockets re-check and close
        if photo:
            transaction.on_commit(lambda: storage.delete(photo))


PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_SIZE = 256
# Decompression bombs: refuse images of more than 40 megapixels.
PHOTO_MAX_PIXELS = 40_000_000


def user_photo_set(*, user: User, upload: UploadedFile) -> User:
    """Store a profile photo: decoded and re-encoded by Pillow (whatever the
    upload claimed to be), turned upright, cropped to a centred square,
    256 px, JPEG, without its metadata (no camera or location data)."""
    if upload.size is not None and upload.size > PHOTO_MAX_BYTES:
        raise TooLarge(_("A photo may be at most 5 MB."))
    try:
        with Image.open(upload) as image:
            if image.width * image.height > PHOTO_MAX_PIXELS:
                raise TooLarge(_("That image is too large."))
            square = ImageOps.fit(
                ImageOps.exif_transpose(image).convert("RGB"), (PHOTO_SIZE, PHOTO_SIZE)
            )
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise Invalid(_("That file is not an image we can read.")) from exc
    buffer = BytesIO()
    square.save(buffer, format="JPEG", quality=85, optimize=True)
    old = user.photo.name if user.photo else ""
    user.photo.save(f"{secrets.token_hex(16)}.jpg", ContentFile(buffer.getvalue()), save=False)
    user.save(update_fields=["photo"])
    if old:
        user.photo.storage.delete(old)
    return user


def user_photo_remove(*, user: User) -> User:
    if user.photo:
        user.photo.delete(save=False)
        user.save(update_fields=["photo"])
    return user
