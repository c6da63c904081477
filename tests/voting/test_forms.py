"""The ballot form as the round page draws it (``BallotForm.rows`` in
templates/voting/round.html) is the markup Django's ``as_div`` gives it:
labels, values, checked states, errors and their ``aria-describedby``."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.test.html import parse_html
from django.utils import translation

from ideas.models import Idea
from jams.models import Jam
from tests.factories import idea_in, member, round_with_ballot
from voting import selectors, services
from voting.forms import BallotForm
from voting.models import VotingRound

pytestmark = pytest.mark.django_db

# The form's own attributes (data-ballot and the like, for jam.js) are not
# the form's fields: the opening tag is compared without them.
FORM = re.compile(r'<form method="post" class="stacked"[^>]*>(.*?)</form>', re.DOTALL)
TOKEN = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*"')


def _drawn(html: str) -> str:
    match = FORM.search(html)
    assert match is not None
    return TOKEN.sub(r'\1"', f'<form method="post" class="stacked">{match.group(1)}</form>')


def _as_div(voting_round: VotingRound, ideas: list[Idea], data: dict[str, str] | None) -> str:
    form = BallotForm(
        data,
        method=voting_round.method,
        parameters=voting_round.parameters,
        ideas=ideas,
        initial={} if data else BallotForm.initial_for({ideas[0].pk: 3}, voting_round.method),
    )
    return (
        '<form method="post" class="stacked">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="">'
        f'{form.as_div()}<button type="submit">{translation.gettext("Save my vote")}</button>'
        "</form>"
    )


@pytest.fixture
def titled(jam: Jam) -> list[Idea]:
    """Titles that test escaping and the label suffix (none after "?")."""
    return [idea_in(jam, title=title) for title in ("Alpha", "Why not <b>this</b>?", "C & D")]


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(
    ("method", "posted"),
    [
        ("approval", None),
        ("rating", None),
        ("rating", ["4", "9", ""]),
        ("budget", None),
        ("budget", ["3", "abc", "99"]),
    ],
)
def test_round_page_draws_the_ballot_as_django_would(
    jam: Jam, titled: list[Idea], method: str, posted: list[str] | None, language: str
) -> None:
    voting_round = round_with_ballot(jam, titled, method=method)
    voter = member(jam)
    services.vote_cast(
        actor=voter, round=voting_round, choices={titled[0].pk: 3 if method != "approval" else 1}
    )
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(voter)
    data = None
    # The page activates the language for this thread; override restores
    # the one before, so later tests do not run in French.
    with translation.override(language):
        if posted is None:
            response = client.get(voting_round.get_absolute_url())
        else:
            data = {f"idea_{idea.pk}": value for idea, value in zip(titled, posted, strict=True)}
            response = client.post(voting_round.get_absolute_url(), data)
        ideas = selectors.ballot_ideas(round=voting_round, topics=False)
        expected = _as_div(voting_round, ideas, data)
    assert response.status_code == 200
    assert parse_html(_drawn(response.content.decode())) == parse_html(expected)
