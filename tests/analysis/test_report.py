"""The outcome report: its numbers against the database, who may preview, publish, read
and export it in which stage, the exports (escaping, keys, audit) and the notifications
sent when it is published."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis import report as report_module
from analysis.models import PostTheme
from analysis.report import csv_cell, report_build, report_published_notify
from analysis.services import analysis_run
from ideas.models import Idea, Post, Reaction
from jams.models import AuditEntry, Event, Jam, Membership, Role
from jams.phases import Stage, Transition
from jams.services import jam_transition
from tests.analysis.jamdata import small_jam
from tests.factories import TopicFactory, idea_in, jam_in_stage, member, round_with_ballot
from voting.models import Ballot, RankedIdeaResult
from voting.services import ranking_compute, vote_cast

pytestmark = pytest.mark.django_db
START = datetime(2025, 3, 1, 9, tzinfo=UTC)
XSS = "<script>alert('x')</script>"
ROLES = (Role.PARTICIPANT, Role.FACILITATOR, Role.ORGANIZER, Role.EXECUTIVE)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def voting_time(jam: Jam) -> datetime:
    voting = jam.phases.get(kind="voting")
    return voting.starts_at + timedelta(minutes=30)


@pytest.fixture
def finished(db: None) -> dict[str, Any]:
    """A closed jam: 60 posts in one topic (camps reacting to 16 of them), one hidden post,
    an approval round over 6 of its ideas with 10 ballots, its ranking and an analysis."""
    jam = jam_in_stage(Stage.CLOSED)
    people = {role: member(jam, role) for role in ROLES}
    posts = small_jam(jam, n_posts=60, start=START)
    Post.objects.filter(pk=posts[-1].pk).update(hidden_at=timezone.now())
    # Reactions within the discussion hour, as in a real jam.
    Reaction.objects.filter(post__jam=jam).update(created_at=START + timedelta(minutes=45))
    ideas = [Idea.objects.get(pk=p.idea_id) for p in posts[:6]]
    ideas[0].title = XSS
    ideas[0].save(update_fields=["title"])
    ideas[1].title = '=HYPERLINK("http://evil")'
    ideas[1].save(update_fields=["title"])
    voting_round = round_with_ballot(jam, ideas, parameters={"max_approvals": 3})
    voters = list(Membership.objects.filter(jam=jam).order_by("id"))[:10]
    at = voting_time(jam)
    for n, membership in enumerate(voters):
        choices = {ideas[0].pk: 1, ideas[n % 3 + 1].pk: 1}
        if n % 2:
            choices[ideas[5].pk] = 1
        vote_cast(actor=membership.user, round=voting_round, choices=choices, now=at)
    ranking_compute(round=voting_round)
    run = analysis_run(jam=jam, k=3)
    return {"jam": jam, "people": people, "round": voting_round, "run": run, "ideas": ideas}


# --- Content -----------------------------------------------------------------------


def test_participation_matches_the_database(finished) -> None:
    jam = finished["jam"]
    report = report_build(jam=jam)
    p = report.participation
    visible = Post.objects.filter(jam=jam, hidden_at__isnull=True)
    reactions = Reaction.objects.filter(post__jam=jam, post__hidden_at__isnull=True)
    assert p.members == Membership.objects.filter(jam=jam).count()
    assert p.posts == visible.count() == 59
    assert p.reactions == reactions.count()
    assert p.voters == Ballot.objects.filter(round=finished["round"], size__gt=0).count() == 10
    assert p.votes == finished["round"].result.entries == 25
    authors = set(visible.values_list("author_id", flat=True))
    reactors = set(reactions.values_list("user_id", flat=True))
    voters = set(Ballot.objects.filter(round__jam=jam).values_list("voter_id", flat=True))
    assert p.people == len(authors | reactors | voters)
    # Per topic: the one topic holds everything.
    (row,) = p.by_topic
    assert (row.posts, row.reactions, row.votes) == (59, p.reactions, 25)
    assert row.people == len(authors | reactors)
    # Per hour: the posts were written 09:00-09:59 on START's day.
    by_hour = {h.start: h for h in p.by_hour}
    assert by_hour[START].posts == 59
    assert sum(h.posts for h in p.by_hour) == 59
    assert sum(h.reactions for h in p.by_hour) == p.reactions
    ballot_hour = voting_time(jam).replace(minute=0, second=0, microsecond=0)
    assert by_hour[ballot_hour].ballots == 10
    # Posts (2025) and ballots (now) are more than 31 days apart: active hours only.
    assert [h.start for h in p.by_hour] == [START, ballot_hour]
    # Turnout: ballots over members.
    (voting_round,) = report.rounds
    assert voting_round.turnout == 10 / p.members
    assert voting_round.turnout_percent == round(100 * 10 / p.members)


def test_people_posts_and_reactions_per_topic_and_hour_in_two_topics(db) -> None:
    """A person counts once per topic they posted or reacted in, and once in all; hidden
    posts, their reactions and deleted accounts count for no one."""
    jam = jam_in_stage(Stage.CLOSED)
    first, second = TopicFactory(jam=jam, title="First"), TopicFactory(jam=jam, title="Second")
    ann, ben, cat, dan = (member(jam) for _ in range(4))

    def post(topic: Any, author: Any, at: datetime, **fields: Any) -> Post:
        idea = Idea.objects.create(
            jam=jam, topic=topic, author=author, title="t", created_at=at, last_activity_at=at
        )
        return Post.objects.create(
            jam=jam, topic=topic, idea=idea, author=author, body="b", body_html="b",
            created_at=at, **fields,
        )  # fmt: skip

    def react(target: Post, user: Any, minutes: int) -> None:
        at = START + timedelta(minutes=minutes)
        Reaction.objects.create(post=target, user=user, value="agree", created_at=at, updated_at=at)

    in_first = post(first, ann, START)
    post(first, ann, START + timedelta(minutes=70))
    in_second = post(second, ben, START + timedelta(minutes=5))
    hidden = post(second, dan, START, hidden_at=START)
    post(second, None, START + timedelta(minutes=6))  # a deleted account's post
    react(in_first, ann, 1)  # ann posted in the first topic already
    react(in_second, ann, 2)
    react(in_first, cat, 65)
    react(hidden, cat, 3)  # on a hidden post: not counted
    react(in_second, None, 4)  # a deleted account's reaction: counted, nobody's

    p = report_build(jam=jam).participation
    rows = {row.label: (row.people, row.posts, row.reactions) for row in p.by_topic}
    assert rows == {"First": (2, 2, 2), "Second": (2, 2, 2)}  # {ann, cat}, {ben, ann}
    assert (p.people, p.posts, p.reactions) == (3, 4, 4)  # ann, ben, cat
    assert [(h.start, h.posts, h.reactions) for h in p.by_hour] == [
        (START, 3, 3),
        (START + timedelta(hours=1), 1, 1),
    ]
    # The same from the database's rows.
    visible = Reaction.objects.filter(post__jam=jam, post__hidden_at__isnull=True)
    for topic in (first, second):
        authors = set(
            Post.objects.filter(topic=topic, hidden_at__isnull=True)
            .exclude(author=None)
            .values_list("author_id", flat=True)
        )
        reactors = set(
            visible.filter(post__topic=topic).exclude(user=None).values_list("user_id", flat=True)
        )
        assert rows[topic.title][0] == len(authors | reactors)


def test_bridging_leaves_out_hidden_and_merged_ideas(finished) -> None:
    jam = finished["jam"]
    before = report_build(jam=jam)
    assert len(before.bridging) >= 3
    hidden, merged, kept = (row.idea_id for row in before.bridging[:3])
    Idea.objects.filter(pk=hidden).update(hidden_at=timezone.now())
    Idea.objects.filter(pk=merged).update(merged_into=kept)
    after = report_build(jam=jam)
    assert after.bridging_candidates == before.bridging_candidates - 2
    shown = [row.idea_id for row in after.bridging]
    assert hidden not in shown and merged not in shown
    assert shown[0] == kept
    by_post = {row.post_id: row for row in before.bridging}
    for row in after.bridging:  # the counts of the ideas still shown do not change
        if row.post_id in by_post:
            assert row.rates == by_post[row.post_id].rates
            assert row.score == by_post[row.post_id].score


def test_ranking_order_intervals_and_ties_match_the_stored_result(finished) -> None:
    report = report_build(jam=finished["jam"])
    (voting_round,) = report.rounds
    stored = list(RankedIdeaResult.objects.filter(result__round=finished["round"]).order_by("rank"))
    assert [r.idea_id for r in voting_round.ideas] == [s.idea_id for s in stored]
    assert [(r.rank, r.score, r.low, r.high, r.n) for r in voting_round.ideas] == [
        (s.rank, s.score, s.low, s.high, s.n) for s in stored
    ]
    assert voting_round.ideas[0].idea_id == finished["ideas"][0].pk  # approved by all 10
    spans: dict[int, list[int]] = {}
    for s in stored:
        spans.setdefault(s.tie_group, []).append(s.rank)
    for row in voting_round.ideas:
        ranks = spans[row.tie_group]
        assert (row.tie_first, row.tie_last) == (min(ranks), max(ranks))
        assert row.tied == (len(ranks) > 1)
        if row.tied:
            assert row.tie_label == f"tied {min(ranks)}\u2013{max(ranks)}"
    assert any(row.tied for row in voting_round.ideas)  # 10 ballots: wide intervals
    assert voting_round.ballots == 10 and voting_round.method == "approval"
    top = voting_round.ideas[0]
    assert top.evidence_text == "10 of 10 ballots"
    assert len(top.summary.split()) <= report_module.SUMMARY_WORDS + 1


def test_summary_is_plain_text_of_the_first_30_words() -> None:
    body = "<p>" + " ".join(f"w{i}" for i in range(40)) + " <em>x</em></p>"
    assert report_module.summary_text(body) == " ".join(f"w{i}" for i in range(30)) + " …"
    assert report_module.summary_text("<p>Fish &amp; <b>chips</b></p>") == "Fish & chips"


def test_themes_groups_bridging_and_dissent_come_from_the_run(finished) -> None:
    run = finished["run"]
    report = report_build(jam=finished["jam"])
    themes = list(run.themes.all())
    assert [(t.id, t.size) for t in report.themes] == [(t.pk, t.size) for t in themes]
    for theme in themes:
        assert theme.size == PostTheme.objects.filter(theme=theme).count()
    assert all(len(t.quotes) <= report_module.QUOTES_PER_THEME for t in report.themes)
    groups = list(run.groups.all())
    assert report.groups == [(g.number + 1, g.size) for g in groups]
    assert len(groups) >= 2
    for row in report.bridging:
        assert len(row.rates) == len(groups)
        product = 1.0
        for rate in row.rates:
            assert rate.reactions > 0
            product *= (rate.agree + 1) / (rate.reactions + 2)
        assert row.score == pytest.approx(product)
    scores = [row.score for row in report.bridging]
    assert scores == sorted(scores, reverse=True)
    assert [d.post_id for d in report.dissent] == [
        pk for pk in groups[0].divisive_post_ids[: report_module.DISSENT_SHOWN]
    ]


def test_group_rates_count_each_groups_reactions(finished) -> None:
    from analysis.models import GroupMember

    run = finished["run"]
    report = report_build(jam=finished["jam"])
    assert report.bridging
    row = report.bridging[0]
    number_of = {g.pk: g.number + 1 for g in run.groups.all()}
    group_of = {
        user: number_of[group]
        for user, group in GroupMember.objects.filter(run=run).values_list("user_id", "group_id")
    }
    agree: Counter[int] = Counter()
    total: Counter[int] = Counter()
    for user, value in Reaction.objects.filter(post_id=row.post_id).values_list("user_id", "value"):
        if user in group_of:
            total[group_of[user]] += 1
            agree[group_of[user]] += value == "agree"
    assert [(r.agree, r.reactions) for r in row.rates] == [
        (agree[g], total[g]) for g in range(1, len(number_of) + 1)
    ]


def test_report_page_renders_charts_escaped_text_and_few_queries(
    finished, django_assert_max_num_queries
) -> None:
    client = client_for(finished["people"][Role.EXECUTIVE])
    url = reverse("analysis:report", args=[finished["jam"].slug])
    client.get(url)
    with django_assert_max_num_queries(40):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert XSS not in html and "&lt;script&gt;alert(" in html
    assert html.count('role="img"') >= 3  # ranking, timeline, activity
    assert "<title" in html and "<desc" in html
    assert ' style="' not in html and "<script>" not in html.replace(XSS, "")
    assert "Preview: not yet published" in html
    assert "tied " in html
    assert "Publish the report" not in html  # executives may not publish
    assert reverse("analysis:report_download", args=[finished["jam"].slug, "pdf"]) in html


def test_the_hourly_table_is_in_utc_as_its_heading_says(finished) -> None:
    """Jam pages show the jam's time zone; the activity table's hours are
    UTC, like its chart (a jam in Kolkata once saw 14:30 for 09:00 UTC)."""
    jam = finished["jam"]
    Jam.objects.filter(pk=jam.pk).update(time_zone="Asia/Kolkata")
    client = client_for(finished["people"][Role.EXECUTIVE])
    html = client.get(reverse("analysis:report", args=[jam.slug])).content.decode()
    table = html[html.index('<table class="by-hour">') :]
    assert "Hour (UTC)" in table
    first = re.search(r'<th scope="row"><time datetime="([^"]+)">([^<]+)</time>', table)
    assert first is not None
    assert first.groups() == (START.isoformat(), "2025-03-01 09:00")


# --- Permissions -------------------------------------------------------------------

STAGES = (Stage.SETUP, Stage.DISCUSSION, Stage.VOTING, Stage.CLOSED, Stage.PUBLISHED)
READERS = {
    Role.ORGANIZER: {Stage.CLOSED, Stage.PUBLISHED},
    Role.EXECUTIVE: {Stage.CLOSED, Stage.PUBLISHED},
    Role.PARTICIPANT: {Stage.PUBLISHED},
    Role.FACILITATOR: {Stage.PUBLISHED},
}


@pytest.mark.parametrize("stage", STAGES)
def test_read_matrix(stage: Stage) -> None:
    jam = jam_in_stage(stage)
    url = reverse("analysis:report", args=[jam.slug])
    for role, stages in READERS.items():
        response = client_for(member(jam, role)).get(url)
        assert response.status_code == (200 if stage in stages else 400), (role, stage)
    outsider = member(jam_in_stage(stage), Role.ORGANIZER)
    assert client_for(outsider).get(url).status_code == 404
    response = Client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("stage", STAGES)
def test_export_matrix(stage: Stage) -> None:
    jam = jam_in_stage(stage)
    url = reverse("analysis:report_download", args=[jam.slug, "csv"])
    allowed = stage in (Stage.CLOSED, Stage.PUBLISHED)
    for role in (Role.ORGANIZER, Role.EXECUTIVE):
        assert client_for(member(jam, role)).get(url).status_code == (200 if allowed else 400)
    for role in (Role.PARTICIPANT, Role.FACILITATOR):
        assert client_for(member(jam, role)).get(url).status_code == 403
    assert client_for(member(jam_in_stage(stage), Role.EXECUTIVE)).get(url).status_code == 404
    assert Client().get(url).status_code == 302
    exported = AuditEntry.objects.filter(jam=jam, action="report.exported").count()
    assert exported == (2 if allowed else 0)


@pytest.mark.parametrize("stage", STAGES)
def test_publish_matrix(stage: Stage) -> None:
    jam = jam_in_stage(stage)
    url = reverse("analysis:report_publish", args=[jam.slug])
    for role in (Role.PARTICIPANT, Role.FACILITATOR, Role.EXECUTIVE):
        assert client_for(member(jam, role)).post(url, {"transition": "publish"}).status_code == 403
    assert client_for(member(jam_in_stage(stage), Role.ORGANIZER)).post(url).status_code == 404
    assert Client().post(url, {"transition": "publish"}).status_code == 302
    organizer = member(jam, Role.ORGANIZER)
    transition = "unpublish" if stage is Stage.PUBLISHED else "publish"
    response = client_for(organizer).post(url, {"transition": transition, "reason": "done"})
    assert response.status_code == 302
    jam.refresh_from_db()
    if stage is Stage.CLOSED:
        assert jam.results_published_at is not None
        assert response["Location"] == reverse("analysis:report", args=[jam.slug])
        assert AuditEntry.objects.filter(jam=jam, action="phase.publish", reason="done").exists()
    elif stage is Stage.PUBLISHED:
        assert jam.results_published_at is None
    else:
        assert jam.results_published_at is None
        assert not AuditEntry.objects.filter(jam=jam, action="phase.publish").exists()


def test_unknown_download_format_is_404(finished) -> None:
    client = client_for(finished["people"][Role.ORGANIZER])
    url = reverse("analysis:report_download", args=[finished["jam"].slug, "xlsx"])
    assert client.get(url).status_code == 404


# --- Exports -----------------------------------------------------------------------


def test_csv_escapes_formulas_and_keeps_text(finished) -> None:
    client = client_for(finished["people"][Role.EXECUTIVE])
    response = client.get(reverse("analysis:report_download", args=[finished["jam"].slug, "csv"]))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0]) == list(report_module.CSV_COLUMNS)
    assert len(rows) == 6
    titles = {row["title"] for row in rows}
    assert XSS in titles  # plain text in a CSV; the formula guard is what matters there
    assert '\'=HYPERLINK("http://evil")' in titles
    assert not any(v.startswith(("=", "+", "-", "@")) for row in rows for v in row.values())
    assert [int(row["rank"]) for row in rows] == list(range(1, 7))
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert csv_cell(value) == "'" + value
    assert csv_cell("fine") == "fine" and csv_cell(-1.5) == -1.5


def test_json_has_every_section_and_no_voter(finished) -> None:
    client = client_for(finished["people"][Role.ORGANIZER])
    response = client.get(reverse("analysis:report_download", args=[finished["jam"].slug, "json"]))
    raw = response.content.decode()
    assert "<script>" not in raw and "\\u003cscript\\u003e" in raw
    data = json.loads(raw)
    for key in ("jam", "rankings", "themes", "posts", "shifts", "groups", "participation"):
        assert key in data
    assert "bridging" in data and "dissent" in data
    assert data["jam"]["slug"] == finished["jam"].slug
    ideas = data["rankings"][0]["ideas"]
    assert ideas[0]["title"] == XSS
    assert {"id", "rank", "score", "interval", "tie_group", "summary"} <= set(ideas[0])
    assert len(data["posts"]) == 59
    assert data["participation"]["voters"] == 10
    voter_ids = set(
        Ballot.objects.filter(round=finished["round"]).values_list("voter_id", flat=True)
    )
    assert not {"voter", "voter_id", "ballot", "ballot_id", "user", "author"} & set(keys_of(data))
    emails = Membership.objects.filter(jam=finished["jam"]).values_list("user__email", flat=True)
    assert not any(email in raw for email in emails)
    assert voter_ids  # (and none of them is named in the file, checked by email above)


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_pdf_has_a_title_page_numbers_and_escaped_text(finished, tmp_path: Path) -> None:
    client = client_for(finished["people"][Role.EXECUTIVE])
    response = client.get(reverse("analysis:report_download", args=[finished["jam"].slug, "pdf"]))
    assert response["Content-Type"] == "application/pdf" and response.content[:5] == b"%PDF-"
    path = tmp_path / "report.pdf"
    path.write_bytes(response.content)
    first = pdf_text(path, page=1)
    assert finished["jam"].title in first and "Outcome report" in first
    assert re.search(r"\b2\s*/\s*\d+\b", pdf_text(path, page=2))  # page numbers from @page
    text = pdf_text(path)
    assert XSS in text  # shown as text, never markup


def test_every_export_is_audited(finished) -> None:
    jam = finished["jam"]
    client = client_for(finished["people"][Role.ORGANIZER])
    for fmt in ("csv", "json"):
        client.get(reverse("analysis:report_download", args=[jam.slug, fmt]))
    entries = AuditEntry.objects.filter(jam=jam, action="report.exported").order_by("id")
    assert [(e.target, e.actor) for e in entries] == [
        ("csv", finished["people"][Role.ORGANIZER]),
        ("json", finished["people"][Role.ORGANIZER]),
    ]


def test_command_writes_json_csv_and_pdf(finished, tmp_path: Path) -> None:
    jam = finished["jam"]
    for fmt in ("json", "csv", "pdf"):
        call_command("jam_report", jam.slug, "--format", fmt, "--output", str(tmp_path / fmt))
    data = json.loads((tmp_path / "json").read_text())
    assert {"jam", "rankings", "themes", "posts", "shifts", "groups"} <= set(data)
    assert {"participation", "bridging", "dissent"} <= set(data)
    assert (tmp_path / "csv").read_text(encoding="utf-8-sig").startswith("round,method,rank")
    assert (tmp_path / "pdf").read_bytes()[:5] == b"%PDF-"
    entries = AuditEntry.objects.filter(jam=jam, action="report.exported")
    assert sorted(e.target for e in entries) == ["csv", "json", "pdf"]
    assert all(e.actor is None and e.actor_label == "system" for e in entries)


def keys_of(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for key, item in value.items() for k in (key, *keys_of(item))]
    if isinstance(value, list):
        return [k for item in value for k in keys_of(item)]
    return []


def pdf_text(path: Path, *, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    command = [str(shutil.which("pdftotext")), *pages, str(path), "-"]
    return subprocess.run(command, capture_output=True, check=True).stdout.decode()  # noqa: S603


# --- Publishing --------------------------------------------------------------------


def test_publishing_notifies_every_member_once_on_commit(
    finished, django_capture_on_commit_callbacks
) -> None:
    jam = finished["jam"]
    organizer = finished["people"][Role.ORGANIZER]
    members = list(Membership.objects.filter(jam=jam).values_list("user_id", "user__email"))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        jam_transition(actor=organizer, jam=jam, transition=Transition.PUBLISH)
    assert mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(email for _, email in members)
    assert all(len(m.to) == 1 for m in mail.outbox)
    assert "/report/" in mail.outbox[0].body and jam.title in mail.outbox[0].subject
    told = Counter(
        Event.objects.filter(jam=jam, name="notification").values_list("recipient_id", flat=True)
    )
    assert told == Counter({user_id: 1 for user_id, _ in members})
    event = Event.objects.filter(jam=jam, name="notification").first()
    assert event is not None and event.data["kind"] == "report.published"
    # Withdrawn and published again: nobody is mailed twice.
    jam_transition(actor=organizer, jam=jam, transition=Transition.UNPUBLISH)
    with django_capture_on_commit_callbacks(execute=True):
        jam_transition(actor=organizer, jam=jam, transition=Transition.PUBLISH)
    assert len(mail.outbox) == len(members)
    # A member who joins later hears of it when it is next published.
    late = member(jam, Role.PARTICIPANT)
    report_published_notify(jam)
    assert mail.outbox[-1].to == [late.email] and len(mail.outbox) == len(members) + 1


def test_published_report_reaches_participants(finished, django_capture_on_commit_callbacks):
    jam = finished["jam"]
    participant = finished["people"][Role.PARTICIPANT]
    url = reverse("analysis:report", args=[jam.slug])
    assert client_for(participant).get(url).status_code == 400
    organizer = client_for(finished["people"][Role.ORGANIZER])
    assert "Publish the report" in organizer.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        organizer.post(
            reverse("analysis:report_publish", args=[jam.slug]), {"transition": "publish"}
        )
    html = client_for(participant).get(url).content.decode()
    assert "Published" in html and "Preview" not in html
    assert len(mail.outbox) == Membership.objects.filter(jam=jam).count()


def test_an_empty_jam_has_a_report_too(db) -> None:
    jam = jam_in_stage(Stage.CLOSED)
    idea_in(jam, title="Lonely idea")
    organizer = member(jam, Role.ORGANIZER)
    html = client_for(organizer).get(reverse("analysis:report", args=[jam.slug])).content
    assert b"No ranking yet" in html and b"no themes yet" in html
