"""Community pages: who may open which (role x stage), cross-jam 404s, the
wall and its trending endpoint, the directory, profiles and "my input"."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from community import services
from ideas import services as idea_services
from jams.models import Role
from jams.phases import Stage
from jams.rules import Action, decide
from tests.factories import idea_in, jam_in_stage, member

from .helpers import client_for

pytestmark = pytest.mark.django_db

PAGES = {
    Action.VIEW_WALL: "community:wall",
    Action.HELP_RADAR: "community:help_radar",
    Action.MANAGE_GUIDELINES: "community:guidelines_edit",
    Action.VIEW_DIRECTORY: "community:directory",
    Action.READ: "community:my_input",
}
STATUS = {None: 200, "Forbidden": 403, "PhaseClosed": 400, "MfaRequired": 302}


@pytest.mark.parametrize("stage", [Stage.SETUP, Stage.DISCUSSION, Stage.PUBLISHED])
@pytest.mark.parametrize("role", list(Role))
def test_page_matrix(stage: Stage, role: Role) -> None:
    jam = jam_in_stage(stage)
    client = client_for(member(jam, role))
    for action, name in PAGES.items():
        denial = decide(action, subject=role, visibility=jam.visibility, stage=stage)
        expected = STATUS[denial.__name__ if denial else None]
        response = client.get(reverse(name, args=[jam.slug]))
        assert response.status_code == expected, (action, role, stage)


@pytest.mark.parametrize("name", [*PAGES.values(), "community:guidelines", "community:sessions",
                                  "community:help", "community:wall_trending"])  # fmt: skip
def test_outsiders_get_404_and_anonymous_visitors_sign_in(jam, name: str) -> None:
    stranger = member(jam_in_stage(Stage.DISCUSSION), Role.ORGANIZER)
    url = reverse(name, args=[jam.slug])
    assert client_for(stranger).get(url).status_code == 404
    assert Client().get(url).status_code == 302


def test_wall_shows_newest_posts_trending_and_alerts(jam, topic, participant, executive) -> None:
    written = idea_services.idea_create(actor=participant, topic=topic, title="Trees", body="Plant")
    from ideas.models import Idea

    idea = Idea.objects.get(pk=written.idea_id)
    idea_services.reply_create(actor=executive, idea=idea, body="Agreed")
    client = client_for(participant)
    html = client.get(reverse("community:wall", args=[jam.slug])).content.decode()
    assert "Agreed" in html and "Trees" in html
    assert f'data-seq="{jam.__class__.objects.get(pk=jam.pk).last_seq}"' in html
    assert "wall.js" in html and "jam.js" not in html  # its own client: no reload on phase end
    trending = client.get(reverse("community:wall_trending", args=[jam.slug])).json()
    assert trending == {"ideas": [{"id": idea.pk, "title": "Trees", "topic": topic.pk, "score": 1}]}


def test_wall_query_count_does_not_grow_with_posts(
    jam, topic, participant, django_assert_max_num_queries
) -> None:
    for i in range(15):
        idea_in(jam, title=f"Idea {i}", topic=topic, replies=2)
    client = client_for(participant)
    with django_assert_max_num_queries(20):
        client.get(reverse("community:wall", args=[jam.slug]))


def test_directory_search_by_name_and_expertise(jam, participant) -> None:
    expert = member(jam, Role.PARTICIPANT, name="Ada Lovelace")
    services.profile_update(
        actor=expert, job_title="Analyst", organization_unit="Research", location="Berlin",
        expertise="Data Science, urban planning,  data science",
    )  # fmt: skip
    expert.refresh_from_db()
    assert expert.expertise == "data science, urban planning"
    elsewhere = member(jam_in_stage(Stage.DISCUSSION), name="Ada Elsewhere")
    client = client_for(participant)
    url = reverse("community:directory", args=[jam.slug])
    html = client.get(url, {"q": "urban"}).content.decode()
    assert "Ada Lovelace" in html and html.count('class="person"') == 1
    assert "Ada Elsewhere" not in client.get(url, {"q": "Ada"}).content.decode()
    profile = client.get(reverse("community:member", args=[jam.slug, expert.pk])).content.decode()
    assert "Berlin" in profile and "urban planning" in profile
    assert client.get(reverse("community:member", args=[jam.slug, elsewhere.pk])).status_code == 404


def test_profile_form_on_the_account_page(participant) -> None:
    client = client_for(participant)
    assert "Your profile in jams" in client.get(reverse("accounts:profile")).content.decode()
    client.post(
        reverse("community:profile_edit"),
        {"job_title": "Nurse", "organization_unit": "Ward 3", "location": "Lyon",
         "expertise": "Care; Triage"},
    )  # fmt: skip
    user = User.objects.get(pk=participant.pk)
    assert (user.job_title, user.expertise) == ("Nurse", "care, triage")
    assert user.initials.startswith("P")


def test_my_input_lists_posts_themes_and_ranks() -> None:
    from analysis.models import AnalysisRun, PostTheme, RunStatus, Theme
    from ideas.models import Post
    from tests.factories import round_with_ballot
    from voting.models import RankedIdeaResult, RankingResult

    jam = jam_in_stage(Stage.PUBLISHED)
    person = member(jam)
    idea = idea_in(jam, title="Cool roofs", author=person)
    Post.objects.filter(idea=idea).update(author=person)
    other = idea_in(jam, title="Other")
    run = AnalysisRun.objects.create(jam=jam, status=RunStatus.DONE)
    theme = Theme.objects.create(run=run, number=1, label="heat, roofs")
    PostTheme.objects.create(
        run=run, post=Post.objects.get(idea=idea), theme=theme, computed_number=theme.number
    )
    voting_round = round_with_ballot(jam, [idea, other], title="Final")
    result = RankingResult.objects.create(
        round=voting_round, method="approval", ballots=3, entries=3
    )
    for rank, ranked in enumerate([other, idea], 1):
        RankedIdeaResult.objects.create(
            result=result, idea=ranked, rank=rank, score=1, low=0, high=1, total=1, count=1,
            squares=1, n=1, tie_group=rank, tied_with_previous=False,
        )  # fmt: skip
    html = client_for(person).get(reverse("community:my_input", args=[jam.slug])).content.decode()
    assert "Cool roofs" in html and "heat, roofs" in html
    assert "2 of 2" in html


def test_my_input_hides_ranks_until_published(jam, participant) -> None:
    html = client_for(participant).get(reverse("community:my_input", args=[jam.slug])).content
    assert b"Results appear here once they are published." in html


def test_jam_pages_link_the_community_pages(jam, participant, facilitator) -> None:
    html = client_for(participant).get(jam.get_absolute_url()).content.decode()
    for name in ("wall", "help", "directory", "guidelines", "my_input", "sessions"):
        assert reverse(f"community:{name}", args=[jam.slug]) in html
    assert reverse("community:notifications") in html
    assert reverse("community:help_radar", args=[jam.slug]) not in html
    staff = client_for(facilitator).get(jam.get_absolute_url()).content.decode()
    assert reverse("community:help_radar", args=[jam.slug]) in staff
