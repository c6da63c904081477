"""Sign-up, email verification, login by email, domain restriction, admin login."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.test import Client, override_settings

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "email": "new@example.com",
    "password1": "a-Long-secret-77",
    "password2": "a-Long-secret-77",
}


def test_signup_sends_a_verification_email(mailoutbox) -> None:
    response = Client().post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert not EmailAddress.objects.get(user=user).verified
    [message] = mailoutbox
    assert message.to == ["new@example.com"]
    assert "/accounts/confirm-email/" in message.body


@override_settings(JAM_SIGNUP_EMAIL_DOMAINS=["corp.example"])
def test_signup_restricted_to_listed_domains() -> None:
    response = Client().post("/accounts/signup/", SIGNUP)
    assert response.status_code == 200
    assert "Sign-up is limited to addresses at: corp.example." in response.content.decode()
    assert not User.objects.exists()
    ok = SIGNUP | {"email": "Someone@CORP.example"}
    assert Client().post("/accounts/signup/", ok).status_code == 302
    assert User.objects.filter(email="someone@corp.example").exists()


def test_login_by_email_and_logout() -> None:
    user = UserFactory(email="me@example.com")
    client = Client()
    response = client.post(
        "/accounts/login/", {"login": "me@example.com", "password": "pw-secret-123"}
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    client.post("/accounts/logout/")
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_refused() -> None:
    UserFactory(email="me@example.com")
    client = Client()
    response = client.post("/accounts/login/", {"login": "me@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_password_reset_mails_a_link(mailoutbox) -> None:
    UserFactory(email="me@example.com")
    Client().post("/accounts/password/reset/", {"email": "me@example.com"})
    [message] = mailoutbox
    assert "/accounts/password/reset/key/" in message.body


def test_admin_login_goes_through_allauth() -> None:
    response = Client().get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/m/ip"})
def test_login_failures_are_rate_limited() -> None:
    UserFactory(email="me@example.com")
    client = Client()
    for _ in range(3):
        client.post("/accounts/login/", {"login": "me@example.com", "password": "bad"})
    # Even the right password is refused until the window passes.
    response = client.post(
        "/accounts/login/", {"login": "me@example.com", "password": "pw-secret-123"}
    )
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()


@override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/m/ip"})
def test_rotating_x_forwarded_for_does_not_dodge_the_throttle() -> None:
    UserFactory(email="me@example.com")
    client = Client()
    for n in range(3):
        client.post(
            "/accounts/login/",
            {"login": "me@example.com", "password": "bad"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )
    response = client.post(
        "/accounts/login/",
        {"login": "me@example.com", "password": "pw-secret-123"},
        HTTP_X_FORWARDED_FOR="198.51.100.77",
    )
    assert "_auth_user_id" not in client.session
    assert "Too many failed login attempts" in response.content.decode()
