"""Organizer-only actions require two-factor authentication when configured."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from jams import services
from jams.errors import MfaRequired
from jams.phases import PhaseKind, Transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def mfa_required(settings: object) -> None:
    settings.JAM_ORGANIZER_MFA = True  # type: ignore[attr-defined]


def test_organizer_without_mfa_is_sent_to_set_it_up(jam, organizer, mfa_required) -> None:
    client = Client()
    client.force_login(organizer)
    response = client.get(reverse("jams:console", args=[jam.slug]))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
    with pytest.raises(MfaRequired):
        services.jam_transition(
            actor=organizer,
            jam=jam,
            transition=Transition.CLOSE_NOW,
            phase_id=jam.phases.get(kind=PhaseKind.DISCUSSION).pk,
        )


def test_organizer_with_totp_may_act(jam, organizer, mfa_required) -> None:
    Authenticator.objects.create(user=organizer, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client = Client()
    client.force_login(organizer)
    assert client.get(reverse("jams:console", args=[jam.slug])).status_code == 200


def test_participants_are_not_asked_for_mfa(jam, participant, topic, mfa_required) -> None:
    client = Client()
    client.force_login(participant)
    assert client.get(jam.get_absolute_url()).status_code == 200
