"""Profile photos: re-encoded square JPEGs without metadata; non-images and
oversize files refused; removed with the account."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from accounts.services import account_delete, user_photo_set
from jams.errors import Invalid, TooLarge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def png(width: int, height: int) -> SimpleUploadedFile:
    buffer = BytesIO()
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera maker
    image.save(buffer, format="PNG", exif=exif)
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


def test_a_photo_is_stored_square_small_and_without_metadata(participant, media_root) -> None:
    user_photo_set(user=participant, upload=png(800, 500))
    participant.refresh_from_db()
    path = media_root / participant.photo.name
    with Image.open(path) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (256, 256)
        assert not stored.getexif()


def test_replacing_a_photo_removes_the_old_file(participant, media_root) -> None:
    user_photo_set(user=participant, upload=png(300, 300))
    first = media_root / participant.photo.name
    user_photo_set(user=participant, upload=png(300, 300))
    assert not first.exists()
    assert (media_root / participant.photo.name).exists()


def test_a_non_image_is_refused(participant) -> None:
    fake = SimpleUploadedFile("me.png", b"<script>alert(1)</script>", content_type="image/png")
    with pytest.raises(Invalid):
        user_photo_set(user=participant, upload=fake)
    participant.refresh_from_db()
    assert not participant.photo


def test_an_oversize_upload_is_refused(participant) -> None:
    big = SimpleUploadedFile("big.png", b"0" * (5 * 1024 * 1024 + 1), content_type="image/png")
    with pytest.raises(TooLarge):
        user_photo_set(user=participant, upload=big)


def test_upload_through_the_profile_page_and_shown_in_the_directory(
    jam, participant, facilitator
) -> None:
    client = Client()
    client.force_login(participant)
    response = client.post("/me/photo/", {"photo": png(100, 100)})
    assert response.status_code == 302
    participant.refresh_from_db()
    assert participant.photo
    viewer = Client()
    viewer.force_login(facilitator)
    page = viewer.get(f"/jams/{jam.slug}/people/").content.decode()
    assert participant.photo.url in page


def test_deleting_the_account_deletes_the_photo(
    participant, media_root, django_capture_on_commit_callbacks
) -> None:
    user_photo_set(user=participant, upload=png(100, 100))
    path = media_root / participant.photo.name
    with django_capture_on_commit_callbacks(execute=True):
        account_delete(user=participant)
    assert not path.exists()
