"""Notifications: the badge and page, mark read, and email: immediate or
digest or off, each email sent once, with a working unsubscribe link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import signing
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from community import selectors, services
from community.models import EmailDelivery, EmailMode, NotificationPreference
from ideas import services as idea_services
from ideas.models import Idea, Notification
from jams.services import alert_send

from .helpers import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def thread(topic, participant):
    written = idea_services.idea_create(actor=participant, topic=topic, title="Trees", body="Plant")
    return Idea.objects.get(pk=written.idea_id)


def reply(actor, idea, body="Yes!"):
    return idea_services.reply_create(actor=actor, idea=idea, body=body)


def test_immediate_email_is_sent_once_after_commit(
    thread, participant, executive, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    services.notification_preference_set(user=participant, email_mode=EmailMode.IMMEDIATE)
    with django_capture_on_commit_callbacks(execute=True):
        reply(executive, thread)
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [participant.email]
    assert "reply" in mail.subject.lower()
    assert "Yes!" in mail.body
    assert mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The same notification never goes out twice (a retried callback, a rerun).
    notification = Notification.objects.get()
    assert services.notification_email_send(notification_id=notification.pk) is False
    assert len(mailoutbox) == 1
    assert EmailDelivery.objects.filter(user=participant).count() == 1


@pytest.mark.parametrize("mode", [EmailMode.DIGEST, EmailMode.OFF])
def test_no_immediate_email_otherwise(
    mode, thread, participant, executive, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    services.notification_preference_set(user=participant, email_mode=mode)
    with django_capture_on_commit_callbacks(execute=True):
        reply(executive, thread)
    assert mailoutbox == []


def test_digest_goes_out_once_with_replies_and_alerts(
    jam, thread, participant, executive, facilitator, mailoutbox
) -> None:
    services.notification_preference_set(user=participant, email_mode=EmailMode.DIGEST)
    services.notification_preference_set(user=executive, email_mode=EmailMode.OFF)
    services.notification_preference_set(user=facilitator, email_mode=EmailMode.IMMEDIATE)
    reply(executive, thread)
    alert_send(actor=facilitator, jam=jam, text="Ten minutes left")
    call_command("send_digests")
    assert [m.to for m in mailoutbox] == [[participant.email]]
    body = mailoutbox[0].body
    assert "Trees" in body and "Ten minutes left" in body
    call_command("send_digests")
    assert len(mailoutbox) == 1  # nothing new: no second digest
    preference = NotificationPreference.objects.get(user=participant)
    assert preference.digest_sent_at is not None


def test_the_unsubscribe_link_works_without_signing_in(
    thread, participant, executive, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    services.notification_preference_set(user=participant, email_mode=EmailMode.IMMEDIATE)
    with django_capture_on_commit_callbacks(execute=True):
        reply(executive, thread)
    link = re.search(r"http://\S+/notifications/unsubscribe/\S+/", mailoutbox[0].body)
    assert link is not None
    path = link.group(0).split("://", 1)[1].split("/", 1)[1]
    response = Client().get(f"/{path}")
    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    assert services.email_mode_of(participant) == EmailMode.OFF
    with django_capture_on_commit_callbacks(execute=True):
        reply(executive, thread, body="Another")
    assert len(mailoutbox) == 1
    # A mail client's one-click POST works too (no CSRF token).
    services.notification_preference_set(user=participant, email_mode=EmailMode.DIGEST)
    assert Client(enforce_csrf_checks=True).post(f"/{path}").status_code == 200
    assert services.email_mode_of(participant) == EmailMode.OFF


def test_a_tampered_token_is_404(participant) -> None:
    token = services.unsubscribe_token(participant)
    url = reverse("community:unsubscribe", args=[token[:-2] + "xx"])
    assert Client().get(url).status_code == 404


def test_badge_page_and_mark_read(jam, thread, participant, executive, facilitator) -> None:
    client = client_for(participant)
    reply(executive, thread)
    alert_send(actor=facilitator, jam=jam, text="Break time")
    assert selectors.unread_count(user=participant) == 2
    page = client.get(reverse("community:notifications"))
    html = page.content.decode()
    assert "Break time" in html and "Trees" in html
    assert client.get(reverse("community:notifications_unread")).json() == {"unread": 2}
    client.post(reverse("community:notifications_read"))
    assert selectors.unread_count(user=participant) == 0
    assert Notification.objects.get().read_at is not None
    # Alerts from jams one is not a member of never count.
    assert selectors.unread_count(user=executive) == 1  # the alert, not their own reply


def test_alerts_from_before_joining_are_not_news(jam, facilitator) -> None:
    alert_send(actor=facilitator, jam=jam, text="Old news")
    from tests.factories import member

    newcomer = member(jam)
    assert selectors.unread_count(user=newcomer) == 0


def test_email_settings_on_the_page(participant) -> None:
    client = client_for(participant)
    client.post(reverse("community:notifications"), {"email_mode": "immediate"})
    assert services.email_mode_of(participant) == EmailMode.IMMEDIATE


def test_session_start_counts_as_a_notification(jam, topic, organizer, participant) -> None:
    now = timezone.now()
    session = services.session_schedule(
        actor=organizer, jam=jam, topic=topic, title="Live", description="", host=organizer,
        guest="", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1),
    )  # fmt: skip
    services.sessions_announce(now=now)
    items = selectors.notifications_for_user(user=participant)
    assert [(i.kind, i.text) for i in items] == [("session", "Live")]
    assert session.pk


def test_alerts_are_emailed_at_once_to_members_who_want_it(
    jam, facilitator, participant, executive, mailoutbox, django_capture_on_commit_callbacks
) -> None:
    services.notification_preference_set(user=participant, email_mode=EmailMode.IMMEDIATE)
    services.notification_preference_set(user=executive, email_mode=EmailMode.DIGEST)
    with django_capture_on_commit_callbacks(execute=True):
        alert, _seq = alert_send(actor=facilitator, jam=jam, text="Session with the CEO at 3 pm")
    [mail] = mailoutbox
    assert mail.to == [participant.email]
    assert "Session with the CEO at 3 pm" in mail.body
    # The participant's own unsubscribe link (signed with a timestamp, so
    # not compared as text: the second may have turned since it was made).
    [token] = re.findall(r"/notifications/unsubscribe/([^/\s]+)/", mail.body)
    assert signing.loads(token, salt=services.UNSUBSCRIBE_SALT) == {"u": participant.pk}
    assert services.alert_emails_send(alert_id=alert.pk) == 0  # once only
