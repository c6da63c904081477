"""Voting pages: the organizer's ballot, the voter's forms, the results, secrecy."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ideas.models import Idea
from jams.models import Role
from jams.phases import Stage
from tests.factories import idea_in, jam_in_stage, member, round_with_ballot
from voting import services
from voting.models import BallotEntry, BallotItem, PairwiseJudgment, RankingResult, VotingRound

from .conftest import after_voting

pytestmark = pytest.mark.django_db


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def url(name: str, voting_round: VotingRound) -> str:
    return reverse(name, args=[voting_round.jam.slug, voting_round.pk])


def test_nav_and_index_list_rounds(jam, participant, ideas) -> None:
    voting_round = round_with_ballot(jam, ideas, title="Fund it")
    home = client_for(participant).get(jam.get_absolute_url()).content.decode()
    assert reverse("voting:index", args=[jam.slug]) in home
    response = client_for(participant).get(reverse("voting:index", args=[jam.slug]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Fund it" in html
    assert voting_round.get_absolute_url() in html
    assert "4 ideas on the ballot" in html
    assert "New round" not in html  # only organizers, and only before voting


def test_organizer_builds_a_ballot_through_the_pages() -> None:
    jam = jam_in_stage(Stage.CURATION)
    organizer = member(jam, Role.ORGANIZER)
    busy = idea_in(jam, title="Busy", replies=3)
    quiet = idea_in(jam, title="Quiet")
    idea_in(jam, title="Hidden one", hidden_at=jam.created_at)
    client = client_for(organizer)
    page = client.get(reverse("voting:index", args=[jam.slug])).content.decode()
    assert "New round" in page

    response = client.post(
        reverse("voting:index", args=[jam.slug]),
        {
            "title": "Budget round",
            "method": "budget",
            "max_approvals": 3,
            "points": 20,
            "results_visibility": "after_close",
        },
    )
    voting_round = VotingRound.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("voting:ballot", voting_round)
    assert voting_round.parameters["points"] == 20

    ballot_url = url("voting:ballot", voting_round)
    html = client.get(ballot_url).content.decode()
    assert "Busy" in html and "Quiet" in html
    assert "Hidden one" not in html
    client.post(ballot_url, {"shortlist": "1", "by": "discussed", "n": 1})
    assert list(BallotItem.objects.values_list("idea_id", flat=True)) == [busy.pk]
    client.post(ballot_url, {"idea": quiet.pk})
    client.post(ballot_url, {"idea": busy.pk, "remove": "on"})
    assert list(BallotItem.objects.values_list("idea_id", flat=True)) == [quiet.pk]


def test_ballot_page_is_for_organizers_and_frozen_once_voting_opens(
    jam, ideas, organizer, participant
) -> None:
    voting_round = round_with_ballot(jam, ideas[:1])
    assert client_for(participant).get(url("voting:ballot", voting_round)).status_code == 403
    client = client_for(organizer)
    html = client.get(url("voting:ballot", voting_round)).content.decode()
    assert "This ballot is frozen" in html
    response = client.post(url("voting:ballot", voting_round), {"idea": ideas[1].pk})
    assert response.status_code == 302
    assert BallotItem.objects.count() == 1


def test_participant_votes_through_the_approval_form(jam, ideas, participant) -> None:
    voting_round = round_with_ballot(jam, ideas, parameters={"max_approvals": 2})
    client = client_for(participant)
    page = client.get(voting_round.get_absolute_url()).content.decode()
    assert "Mark up to 2 ideas." in page
    assert re.search(r'data-turnout data-round="\d+">0<', page)
    response = client.post(
        voting_round.get_absolute_url(), {f"idea_{ideas[0].pk}": "on", f"idea_{ideas[2].pk}": "on"}
    )
    assert response.status_code == 302
    assert set(BallotEntry.objects.values_list("idea_id", "value")) == {
        (ideas[0].pk, 1),
        (ideas[2].pk, 1),
    }
    page = client.get(voting_round.get_absolute_url()).content.decode()
    assert re.search(r'data-turnout data-round="\d+">1<', page)
    assert f'name="idea_{ideas[0].pk}" id="id_idea_{ideas[0].pk}" checked' in page


def test_refused_votes_through_forms_change_nothing(jam, ideas, participant) -> None:
    budget = round_with_ballot(jam, ideas, method="budget", parameters={"points": 5})
    rating = round_with_ballot(jam, ideas, method="rating")
    client = client_for(participant)
    over = client.post(
        budget.get_absolute_url(),
        {f"idea_{ideas[0].pk}": "3", f"idea_{ideas[1].pk}": "3"},
        follow=True,
    )
    assert "You have 5 points to spread; this ballot uses 6." in over.content.decode()
    for value in ("abc", "2.5", "NaN", "-1", "9"):
        client.post(rating.get_absolute_url(), {f"idea_{ideas[0].pk}": value})
        client.post(budget.get_absolute_url(), {f"idea_{ideas[0].pk}": value})
    assert not BallotEntry.objects.exists()


def test_pairwise_page_shows_one_pair_and_records_the_choice(jam, ideas, participant) -> None:
    voting_round = round_with_ballot(jam, ideas[:2], method="pairwise")
    client = client_for(participant)
    html = client.get(voting_round.get_absolute_url()).content.decode()
    assert html.count('name="choice"') == 3
    assert "Can&#x27;t decide" in html or "Can't decide" in html
    response = client.post(
        url("voting:pair", voting_round),
        {"first": ideas[1].pk, "second": ideas[0].pk, "choice": "first"},
    )
    assert response.status_code == 302
    judgment = PairwiseJudgment.objects.get()
    assert (judgment.first_idea_id, judgment.outcome) == (ideas[0].pk, 0)
    assert "You have compared 0 pairs." in html
    assert (
        "You have compared 1 pair." in client.get(voting_round.get_absolute_url()).content.decode()
    )


@pytest.fixture
def voted(jam, ideas) -> VotingRound:  # type: ignore[no-untyped-def]
    voting_round = round_with_ballot(jam, ideas, parameters={"max_approvals": 2})
    for choices in ({ideas[0].pk: 1, ideas[1].pk: 1}, {ideas[0].pk: 1}, {ideas[2].pk: 1}):
        voter = member(jam, name="Secret Voter", email=f"secret{len(choices)}{id(choices)}@x.org")
        services.vote_cast(actor=voter, round=voting_round, choices=choices)
    return voting_round


@pytest.mark.parametrize("role", [Role.ORGANIZER, Role.EXECUTIVE])
def test_results_page_shows_the_ranking_and_no_voter(jam, voted, ideas, role) -> None:
    viewer = member(jam, role)
    with time_machine.travel(after_voting(), tick=False):
        response = client_for(viewer).get(url("voting:results", voted))
    html = response.content.decode()
    assert response.status_code == 200
    assert RankingResult.objects.filter(round=voted).count() == 1  # computed on demand
    assert "Wilson interval" in html
    assert "3 ballots" in html
    rows = re.findall(r'<tr data-idea="(\d+)">', html)
    assert rows == [str(ideas[0].pk), str(ideas[1].pk), str(ideas[2].pk), str(ideas[3].pk)]
    assert "0.208 \u2013 0.939" in html  # Wilson interval of 2 out of 3
    assert "tied" in html
    assert "Secret Voter" not in html and "secret" not in html


def test_organizer_and_executive_see_turnout_but_not_choices_while_voting(
    jam, voted, organizer, executive
) -> None:
    for viewer in (organizer, executive):
        html = client_for(viewer).get(voted.get_absolute_url()).content.decode()
        assert re.search(r'data-turnout data-round="\d+">3<', html)
        assert "Secret Voter" not in html and "secret" not in html
        assert "Total so far" not in html  # hidden until close by default


def test_live_rounds_show_running_totals(jam, ideas, participant) -> None:
    voting_round = round_with_ballot(jam, ideas, results_visibility="live")
    services.vote_cast(actor=participant, round=voting_round, choices={ideas[0].pk: 1})
    html = client_for(participant).get(voting_round.get_absolute_url()).content.decode()
    assert "Total so far" in html


def test_participants_read_results_only_once_published(jam, voted, participant) -> None:
    moment = after_voting()
    with time_machine.travel(moment, tick=False):
        assert client_for(participant).get(url("voting:results", voted)).status_code == 400
        voted.jam.results_published_at = moment
        voted.jam.save(update_fields=["results_published_at"])
        assert client_for(participant).get(url("voting:results", voted)).status_code == 200


def test_rounds_of_another_jam_are_not_found(jam, ideas, organizer) -> None:
    other = jam_in_stage(Stage.VOTING)
    foreign = round_with_ballot(other, [idea_in(other)])
    client = client_for(organizer)
    # Through this jam's address, and through the other jam's.
    for slug in (jam.slug, other.slug):
        for name in ("voting:round", "voting:ballot", "voting:results"):
            assert client.get(reverse(name, args=[slug, foreign.pk])).status_code == 404
        response = client.post(
            reverse("voting:round", args=[slug, foreign.pk]), {f"idea_{foreign.pk}": "on"}
        )
        assert response.status_code == 404
    assert not BallotEntry.objects.exists()


def test_anonymous_visitors_are_asked_to_sign_in(jam, ideas) -> None:
    voting_round = round_with_ballot(jam, ideas)
    response = Client().get(voting_round.get_absolute_url())
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_admin_shows_no_per_voter_rows() -> None:
    from django.contrib import admin

    from voting.models import Ballot, RankingResult

    assert RankingResult in admin.site._registry
    assert not {Ballot, BallotEntry, PairwiseJudgment} & set(admin.site._registry)


def _ballot(method: str, ideas: list[Idea], picked: int) -> dict[str, str]:
    """A ballot as a browser posts the round page's form: every number and
    radio field, only the ticked checkboxes; ``picked`` ideas chosen."""
    if method == "approval":
        return {f"idea_{idea.pk}": "on" for idea in ideas[:picked]}
    value = "2" if method == "budget" else "4"
    return {f"idea_{idea.pk}": (value if i < picked else "") for i, idea in enumerate(ideas)}


def _queries(send: object) -> tuple[int, object]:
    """The statements a request sends, without transaction control."""
    with CaptureQueriesContext(connection) as captured:
        response = send()  # type: ignore[operator]
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
    sent = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]
    return len(sent), response


# The round page, for any ballot size. A GET: session, user, jam, role,
# phases, round, the ballot's ideas (with their topics), the voter's entries.
# A POST changing a counted ballot: the same six before the ballot's ideas,
# then the vote (voting.services): on PostgreSQL lock and ballot items,
# check, ballot upsert, entries; elsewhere the ballot items, check, upsert,
# delete and insert. No pre-check: the page's own jam context stands in.
ROUND_PAGE_GET = 8


def _round_page_post() -> int:
    return 7 + (4 if connection.vendor == "postgresql" else 5)


@pytest.mark.parametrize("method", ["approval", "rating", "budget"])
def test_round_page_queries_do_not_grow_with_the_ballot(jam, participant, method) -> None:
    ideas = [idea_in(jam, title=f"Idea {n}") for n in range(30)]
    client = client_for(participant)
    counts = {}
    for size in (5, 30):
        voting_round = round_with_ballot(jam, ideas[:size], method=method, title=f"Of {size}")
        address = voting_round.get_absolute_url()
        assert client.post(address, _ballot(method, ideas[:size], 2)).status_code == 302
        get, page = _queries(lambda address=address: client.get(address))
        post, answer = _queries(
            lambda address=address, size=size: client.post(
                address, _ballot(method, ideas[:size], 3)
            )
        )
        assert page.status_code == 200  # type: ignore[attr-defined]
        assert answer.status_code == 302  # type: ignore[attr-defined]
        counts[size] = (get, post)
    assert counts[5] == counts[30] == (ROUND_PAGE_GET, _round_page_post())
