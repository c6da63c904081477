"""Analysis pages: who may run, see and edit; pages render with accessible SVG."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from analysis import selectors, services
from analysis.models import AnalysisRun, PostTheme, RunStatus, ThemeEdit
from analysis.pdf import report_html
from analysis.report import report_build
from ideas.models import Post
from jams.models import Event, Role
from jams.phases import Stage
from jams.services import alert_send
from tests.analysis.jamdata import mix_texts, posts_add, small_jam
from tests.factories import TopicFactory, jam_in_stage, member

pytestmark = pytest.mark.django_db
START = datetime(2025, 3, 1, 9, tzinfo=UTC)


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


@pytest.fixture
def analysed(jam, organizer):
    small_jam(jam, n_posts=60, start=START)
    alert_send(actor=organizer, jam=jam, text="Ten minutes left")
    # Posts are dated START onwards; place the alert among them (and one outside).
    Event.objects.filter(jam=jam, name="alert").update(created_at=START + timedelta(minutes=30))
    alert_send(actor=organizer, jam=jam, text="Long after")
    return services.analysis_run(jam=jam, k=3)


def test_only_organizers_queue_an_analysis(jam, organizer, facilitator, participant, executive):
    url = reverse("analysis:run", args=[jam.slug])
    for person in (facilitator, participant, executive):
        assert client_for(person).post(url).status_code == 403
    assert not AnalysisRun.objects.exists()
    assert Client().post(url).status_code == 302 and not AnalysisRun.objects.exists()
    response = client_for(organizer).post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("analysis:analysis", args=[jam.slug])
    run = AnalysisRun.objects.get()
    assert run.status == RunStatus.QUEUED and run.requested_by == organizer


def test_run_button_refused_before_the_jam_starts(db) -> None:
    jam = jam_in_stage(Stage.SETUP)
    organizer = member(jam, Role.ORGANIZER)
    response = client_for(organizer).post(reverse("analysis:run", args=[jam.slug]))
    assert response.status_code == 302 and not AnalysisRun.objects.exists()


def test_staff_see_pulse_and_analysis_participants_do_not(jam, facilitator, participant, organizer):
    for name in ("analysis:pulse", "analysis:analysis"):
        url = reverse(name, args=[jam.slug])
        assert client_for(participant).get(url).status_code == 403
        assert client_for(member(jam, Role.EXECUTIVE)).get(url).status_code == 403
        for person in (facilitator, organizer):
            response = client_for(person).get(url)
            assert response.status_code == 200
            assert "<progress" not in response.content.decode()  # no run yet
    html = client_for(organizer).get(reverse("analysis:pulse", args=[jam.slug])).content.decode()
    assert "Run analysis" in html
    html = client_for(facilitator).get(reverse("analysis:pulse", args=[jam.slug])).content.decode()
    assert "Run analysis" not in html and "Posts in the last hour" in html


def test_other_jams_are_404(jam, organizer, analysed) -> None:
    other = jam_in_stage(Stage.DISCUSSION)
    stranger = member(other, Role.ORGANIZER)
    theme = analysed.themes.first()
    client = client_for(stranger)
    for url in (
        reverse("analysis:analysis", args=[jam.slug]),
        reverse("analysis:pulse", args=[jam.slug]),
    ):
        assert client.get(url).status_code == 404
    for url in (
        reverse("analysis:run", args=[jam.slug]),
        reverse("analysis:rename", args=[jam.slug, theme.pk]),
        reverse("analysis:split", args=[jam.slug, theme.pk]),
        reverse("analysis:pin", args=[jam.slug, theme.pk]),
        reverse("analysis:unpin", args=[jam.slug, theme.pk]),
    ):
        assert client.post(url, {"label": "x"}).status_code == 404
    # A theme of another jam through this organizer's own jam: 404 as well.
    assert (
        client.post(
            reverse("analysis:rename", args=[other.slug, theme.pk]), {"label": "x"}
        ).status_code
        == 404
    )
    assert not ThemeEdit.objects.exists()


def test_analysis_page_renders_themes_timeline_and_groups(jam, organizer, analysed) -> None:
    html = client_for(organizer).get(reverse("analysis:analysis", args=[jam.slug])).content.decode()
    for theme in analysed.themes.all():
        assert theme.label in html
    svgs = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    topics = analysed.timeline["topics"]
    assert len(svgs) == analysed.themes.count() + 1 + sum(1 for t in topics if t["scored"])
    for svg in svgs:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
        assert "style=" not in svg and "<script" not in svg
    timeline = next(svg for svg in svgs if 'class="timeline"' in svg)
    assert "alert: Ten minutes left" in timeline and "Long after" not in timeline
    assert "Group 1" in html and "Group 2" in html
    assert 'value="100"' in html and "<progress" in html
    assert f'action="{reverse("analysis:merge", args=[jam.slug])}"' in html
    assert "style=" not in html.split("<main", 1)[1]


def test_facilitator_sees_analysis_without_edit_forms(jam, facilitator, analysed) -> None:
    html = (
        client_for(facilitator).get(reverse("analysis:analysis", args=[jam.slug])).content.decode()
    )
    assert analysed.themes.first().label in html
    assert "/rename/" not in html and "/merge/" not in html


def test_organizer_renames_merges_and_splits(jam, organizer, facilitator, analysed) -> None:
    first, second = list(analysed.themes.all()[:2])
    url = reverse("analysis:rename", args=[jam.slug, first.pk])
    assert client_for(facilitator).post(url, {"label": "Nope"}).status_code == 403
    assert client_for(organizer).post(url, {"label": "Cost of living"}).status_code == 302
    first.refresh_from_db()
    assert first.custom_label == "Cost of living"
    merge = reverse("analysis:merge", args=[jam.slug])
    response = client_for(organizer).post(
        merge, {"merge-themes": [first.pk, second.pk], "merge-label": "Money"}
    )
    assert response.status_code == 302
    assert analysed.themes.count() == 2
    split = reverse("analysis:split", args=[jam.slug, first.pk])
    assert client_for(organizer).post(split).status_code == 302
    assert analysed.themes.count() == 3
    assert list(ThemeEdit.objects.values_list("kind", flat=True)) == ["rename", "merge", "split"]


def test_console_has_the_run_button_and_nav_has_pulse(jam, organizer, facilitator) -> None:
    html = client_for(organizer).get(reverse("jams:console", args=[jam.slug])).content.decode()
    assert reverse("analysis:run", args=[jam.slug]) in html
    assert reverse("analysis:pulse", args=[jam.slug]) in html
    home = client_for(facilitator).get(jam.get_absolute_url()).content.decode()
    assert reverse("analysis:pulse", args=[jam.slug]) in home
    participant = member(jam, Role.PARTICIPANT)
    home = client_for(participant).get(jam.get_absolute_url()).content.decode()
    assert reverse("analysis:pulse", args=[jam.slug]) not in home


QUERIES = 13  # session, user, jam, role, phases, 2 runs, themes, shifts, groups, posts, events,
# topic titles
# A run after the first also reads the previous run's themes no theme continues.
THEME_PAGE_QUERIES = 9  # session, user, jam, membership, phases, theme, count, posts, latest run


def test_analysis_page_query_count_does_not_grow_with_themes(
    jam, organizer, analysed, django_assert_num_queries
) -> None:
    client = client_for(organizer)
    url = reverse("analysis:analysis", args=[jam.slug])
    client.get(url)
    with django_assert_num_queries(QUERIES):
        client.get(url)
    services.analysis_run(jam=jam, k=6, force=True)
    with django_assert_num_queries(QUERIES + 1):
        client.get(url)
    services.analysis_run(jam=jam, k=9, force=True)
    with django_assert_num_queries(QUERIES + 1):
        client.get(url)


def test_analysis_page_compares_themes_with_the_previous_run(jam, organizer, analysed) -> None:
    client = client_for(organizer)
    url = reverse("analysis:analysis", args=[jam.slug])
    assert "data-theme-change" not in client.get(url).content.decode()  # a first run
    rerun = services.analysis_run(jam=jam, k=6, force=True)
    html = client.get(url).content.decode()
    themes = list(rerun.themes.select_related("continues"))
    new = [t for t in themes if t.continues is None]
    assert 0 < len(new) < len(themes)
    assert html.count("New since the previous run") == len(new)
    for theme in [t for t in themes if t.continues is not None]:
        delta = theme.size - theme.continues.size
        plural = "post" if abs(delta) == 1 else "posts"
        expected = f"{delta:+d} {plural} since the previous run" if delta else "Same size as"
        assert expected in html
    continued = {t.continues_id for t in themes}
    ended = [t for t in analysed.themes.all() if t.pk not in continued]
    assert ended  # three themes became six: some fell apart
    assert "No longer a theme of its own since the previous run" in html
    assert all(escape(t.display_label) in html for t in ended)


def test_a_subject_that_arrives_late_is_emerging_on_the_pages(jam, organizer, facilitator):
    # Two and a half hours of five conversations, then an hour of a sixth.
    rows = mix_texts()
    late_source = "scoop-hivemind.biodiversity"
    early = [text for text, source in rows if source != late_source][:150]
    late = [text for text, source in rows if source == late_source]
    topic = TopicFactory(jam=jam)
    posts_add(jam, topic, early, start=START)
    arrived = START + timedelta(minutes=len(early))
    late_posts = posts_add(jam, topic, late, start=arrived)
    run = services.analysis_run(jam=jam, k=6)
    theme_of = dict(PostTheme.objects.filter(run=run).values_list("post_id", "theme_id"))
    counts = Counter(theme_of[p.pk] for p in late_posts if p.pk in theme_of)
    newcomer, held = counts.most_common(1)[0]
    assert held > 0.6 * len(late_posts)

    report = selectors.analysis_report_sections(jam=jam)
    trend = next(t["trend"] for t in report["themes"] if t["id"] == newcomer)
    assert trend is not None and trend["direction"] == "emerging"
    assert trend["recent_share"] > 3 * trend["earlier_share"]
    width = timedelta(seconds=run.timeline["share"]["width"])
    assert abs(trend["since"] - arrived) <= width

    page = client_for(organizer).get(reverse("analysis:analysis", args=[jam.slug]))
    row = re.search(rf'<tr id="theme-{newcomer}">.*?</tr>', page.content.decode(), re.S)
    assert row and 'data-trend="emerging"' in row.group(0) and "Emerging since" in row.group(0)
    pulse = client_for(facilitator).get(reverse("analysis:pulse", args=[jam.slug])).content.decode()
    moving = re.search(r"<ul data-moving-themes>.*?</ul>", pulse, re.S)
    theme_url = reverse("analysis:theme", args=[jam.slug, newcomer])
    assert moving and theme_url in moving.group(0).split("</li>")[0]
    # The outcome report's themes table says it too (rendered as the PDF is).
    built = report_build(jam=jam)
    row = next(theme for theme in built.themes if theme.id == newcomer)
    assert row.trend is not None and row.trend.direction == "emerging"
    assert "Emerging since" in report_html(built)


def test_a_theme_page_lists_its_visible_posts(jam, organizer, facilitator, participant, analysed):
    theme = analysed.themes.get(number=0)
    url = reverse("analysis:theme", args=[jam.slug, theme.pk])
    assert client_for(participant).get(url).status_code == 403
    assert client_for(member(jam, Role.EXECUTIVE)).get(url).status_code == 403
    other = jam_in_stage(Stage.DISCUSSION)
    stranger = client_for(member(other, Role.ORGANIZER))
    assert stranger.get(reverse("analysis:theme", args=[other.slug, theme.pk])).status_code == 404
    members = set(PostTheme.objects.filter(theme=theme).values_list("post_id", flat=True))
    hidden = Post.objects.get(pk=min(members))
    Post.objects.filter(pk=hidden.pk).update(hidden_at=START)
    html = client_for(facilitator).get(url).content.decode()
    listed = {int(pk) for pk in re.findall(r'<li id="post-(\d+)">', html)}
    assert listed == members - {hidden.pk}
    assert f"of {len(members) - 1} visible" in html
    assert (
        reverse("analysis:theme", args=[jam.slug, theme.pk])
        in client_for(organizer).get(reverse("analysis:analysis", args=[jam.slug])).content.decode()
    )


@pytest.mark.parametrize(
    ("order", "key"),
    [
        ("newest", lambda p: (-p.created_at.timestamp(), -p.pk)),
        ("oldest", lambda p: (p.created_at.timestamp(), p.pk)),
        ("agreed", lambda p: (-p.agree_count, -p.pk)),
        ("negative", lambda p: (p.sentiment is None, p.sentiment or 0, p.pk)),
        ("positive", lambda p: (p.sentiment is None, -(p.sentiment or 0), p.pk)),
        ("bogus", lambda p: (-p.created_at.timestamp(), -p.pk)),  # falls back to newest
        ("relevant", lambda p: (-p.created_at.timestamp(), -p.pk)),  # so does it without words
    ],
)
def test_a_theme_page_orders_and_pages_its_posts(
    jam, facilitator, analysed, monkeypatch, order, key
) -> None:
    monkeypatch.setattr(selectors, "THEME_POSTS_PER_PAGE", 4)
    theme = analysed.themes.get(number=0)
    posts = list(
        Post.objects.filter(pk__in=PostTheme.objects.filter(theme=theme).values("post_id"))
    )
    expected = [p.pk for p in sorted(posts, key=key)]
    assert len(expected) > 8
    client = client_for(facilitator)
    url = reverse("analysis:theme", args=[jam.slug, theme.pk])
    seen = []
    for page in range(1, -(-len(expected) // 4) + 1):
        html = client.get(url, {"order": order, "page": page}).content.decode()
        seen += [int(pk) for pk in re.findall(r'<li id="post-(\d+)">', html)]
    assert seen == expected
    # A page number that is not one shows the first or last page, not an error.
    first = client.get(url, {"order": order, "page": "x"}).content.decode()
    assert [int(pk) for pk in re.findall(r'<li id="post-(\d+)">', first)] == expected[:4]
    last = client.get(url, {"order": order, "page": 999}).content.decode()
    assert re.findall(r'<li id="post-(\d+)">', last)[-1] == str(expected[-1])


def test_a_theme_page_reads_a_fixed_number_of_queries(
    jam, facilitator, analysed, django_assert_num_queries
) -> None:
    client = client_for(facilitator)
    small, large = sorted(analysed.themes.all(), key=lambda t: t.size)[::2][:2]
    assert large.size > small.size
    client.get(reverse("analysis:theme", args=[jam.slug, small.pk]))
    counts = []
    for theme in (small, large):
        with django_assert_num_queries(THEME_PAGE_QUERIES) as captured:
            client.get(reverse("analysis:theme", args=[jam.slug, theme.pk]))
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_a_theme_of_an_older_run_says_so(jam, facilitator, analysed) -> None:
    old = analysed.themes.first()
    services.analysis_run(jam=jam, k=4, force=True)
    html = client_for(facilitator).get(reverse("analysis:theme", args=[jam.slug, old.pk]))
    assert "from an older analysis" in html.content.decode()


@pytest.mark.parametrize(("posted", "expected"), [({"k": "8"}, 8), ({"k": ""}, None), ({}, None)])
def test_the_run_button_takes_a_number_of_themes(jam, organizer, posted, expected) -> None:
    small_jam(jam, n_posts=30, start=START)
    response = client_for(organizer).post(reverse("analysis:run", args=[jam.slug]), posted)
    assert response.status_code == 302
    assert AnalysisRun.objects.get().parameters == {"k": expected}


@pytest.mark.parametrize("value", ["1", "31", "abc", "4.5"])
def test_a_bad_number_of_themes_is_refused_with_a_reason(jam, organizer, value) -> None:
    client = client_for(organizer)
    response = client.post(reverse("analysis:run", args=[jam.slug]), {"k": value}, follow=True)
    assert response.status_code == 200
    assert not AnalysisRun.objects.exists()
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "number" in shown.lower() or "between 2 and 30" in shown


def test_tone_by_topic_and_a_themes_tone_are_shown(jam, organizer, analysed) -> None:
    from jams.models import Topic

    client = client_for(organizer)
    html = client.get(reverse("analysis:analysis", args=[jam.slug])).content.decode()
    topics = analysed.timeline["topics"]
    assert topics
    for row in topics:
        assert f'data-topic-tone="{row["topic"]}"' in html
        assert escape(Topic.objects.get(pk=row["topic"]).title) in html
    theme = analysed.themes.first()
    page = client.get(reverse("analysis:theme", args=[jam.slug, theme.pk])).content.decode()
    assert f'id="theme-{theme.pk}-tone-title"' in page


def test_organizer_pins_and_unpins_a_theme(jam, organizer, facilitator, analysed) -> None:
    first, second, _third = list(analysed.themes.all())
    page = reverse("analysis:analysis", args=[jam.slug])
    pin = reverse("analysis:pin", args=[jam.slug, first.pk])
    assert client_for(facilitator).post(pin).status_code == 403
    assert client_for(organizer).get(pin).status_code == 405
    response = client_for(organizer).post(pin, follow=True)
    assert response.redirect_chain == [(page, 302)]
    html = response.content.decode()
    assert "Theme pinned" in html and html.count("data-theme-pinned") == 1
    first.refresh_from_db()
    assert first.pinned
    row = html.split(f'id="theme-{first.pk}"', 1)[1].split("</tr>", 1)[0]
    assert reverse("analysis:unpin", args=[jam.slug, first.pk]) in row
    assert reverse("analysis:split", args=[jam.slug, first.pk]) not in row
    # The merge form offers the other two themes only; a forged merge is refused.
    merge_form = html.split('action="' + reverse("analysis:merge", args=[jam.slug]), 1)[1]
    assert f'value="{first.pk}"' not in merge_form.split("</form>", 1)[0]
    response = client_for(organizer).post(
        reverse("analysis:merge", args=[jam.slug]), {"merge-themes": [first.pk, second.pk]}
    )
    assert response.status_code == 302 and analysed.themes.count() == 3
    theme_page = client_for(facilitator).get(reverse("analysis:theme", args=[jam.slug, first.pk]))
    assert "data-theme-pinned" in theme_page.content.decode()
    unpin = reverse("analysis:unpin", args=[jam.slug, first.pk])
    assert "Theme unpinned" in client_for(organizer).post(unpin, follow=True).content.decode()
    first.refresh_from_db()
    assert not first.pinned
    assert not ThemeEdit.objects.exists()


def _csv_rows(response) -> list[dict[str, str]]:
    import csv
    import io

    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff"))))


def test_a_themes_posts_download_as_csv_in_the_pages_order(
    jam, organizer, facilitator, participant, analysed
) -> None:
    from jams.models import AuditEntry

    theme = analysed.themes.get(number=0)
    members = set(PostTheme.objects.filter(theme=theme).values_list("post_id", flat=True))
    hidden, formula = sorted(members)[:2]
    Post.objects.filter(pk=hidden).update(hidden_at=START)
    Post.objects.filter(pk=formula).update(body='=HYPERLINK("http://evil.example")')
    url = reverse("analysis:theme_csv", args=[jam.slug, theme.pk])
    assert client_for(participant).get(url).status_code == 403
    page = client_for(facilitator).get(reverse("analysis:theme", args=[jam.slug, theme.pk]))
    assert f'{url}?order=newest"' in page.content.decode()
    response = client_for(facilitator).get(url, {"order": "oldest"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="{jam.slug}-theme-{theme.pk}.csv"' in response["Content-Disposition"]
    rows = _csv_rows(response)
    posts = {p.pk: p for p in Post.objects.filter(pk__in=members).select_related("topic")}
    expected = sorted(members - {hidden}, key=lambda pk: (posts[pk].created_at, pk))
    assert [int(row["post_id"]) for row in rows] == expected
    by_id = {int(row["post_id"]): row for row in rows}
    assert by_id[formula]["text"] == '\'=HYPERLINK("http://evil.example")'
    sample = posts[expected[-1]]
    row = by_id[sample.pk]
    assert row["topic"] == sample.topic.title and int(row["agrees"]) == sample.agree_count
    assert row["created_at"] == sample.created_at.isoformat()
    assert row["sentiment"] == ("" if sample.sentiment is None else str(round(sample.sentiment, 4)))
    assert (
        row["url"] == f"http://testserver/jams/{jam.slug}/ideas/{sample.idea_id}/#post-{sample.pk}"
    )
    entry = AuditEntry.objects.get(action="analysis.theme_exported")
    assert entry.actor == facilitator and entry.data["order"] == "oldest"


def test_a_theme_page_and_its_csv_narrow_to_posts_with_some_words(jam, facilitator, analysed):
    from jams.models import AuditEntry

    theme = analysed.themes.get(number=0)
    members = sorted(PostTheme.objects.filter(theme=theme).values_list("post_id", flat=True))
    wanted, hidden, without = members[:3]
    Post.objects.filter(pk=wanted).update(body='Paint a "zebra" crossing & more')
    Post.objects.filter(pk=hidden).update(body="zebra crossings", hidden_at=START)
    Post.objects.filter(pk=without).update(body="a crossing without stripes")
    elsewhere = PostTheme.objects.exclude(theme=theme).values_list("post_id", flat=True)[0]
    Post.objects.filter(pk=elsewhere).update(body="zebra crossing in another theme")
    client = client_for(facilitator)
    url = reverse("analysis:theme", args=[jam.slug, theme.pk])
    html = client.get(url, {"q": '"zebra cross"', "order": "oldest"}).content.decode()
    assert [int(pk) for pk in re.findall(r'<li id="post-(\d+)">', html)] == [wanted]
    assert "of 1 visible with these words" in html
    assert "Paint a &quot;<mark>zebra</mark>&quot; <mark>crossing</mark> &amp; more" in html
    csv_url = reverse("analysis:theme_csv", args=[jam.slug, theme.pk])
    assert f'{csv_url}?order=oldest&amp;q=%22zebra%20cross%22"' in html
    rows = _csv_rows(client.get(csv_url, {"order": "oldest", "q": '"zebra cross"'}))
    assert [int(row["post_id"]) for row in rows] == [wanted]
    assert AuditEntry.objects.get(action="analysis.theme_exported").data["words"] == (
        '"zebra cross"'
    )
    # Words left out: every visible post but those.
    html = client.get(url, {"q": "crossing -zebra"}).content.decode()
    assert [int(pk) for pk in re.findall(r'<li id="post-(\d+)">', html)] == [without]
    # Nothing to look for: the reason, and every visible post.
    html = client.get(url, {"q": "-zebra"}).content.decode()
    assert "at least one word" in html and 'aria-invalid="true"' in html
    listed = {int(pk) for pk in re.findall(r'<li id="post-(\d+)">', html)}
    assert listed == set(members) - {hidden}
    assert client.get(csv_url, {"q": "-zebra"}).status_code == 400


def test_the_analysis_page_counts_the_posts_with_some_words_in_each_theme(
    jam, facilitator, analysed
) -> None:
    first, second = analysed.themes.get(number=0), analysed.themes.get(number=1)
    ids = {
        theme: sorted(PostTheme.objects.filter(theme=theme).values_list("post_id", flat=True))
        for theme in (first, second)
    }
    Post.objects.filter(pk__in=ids[first][:3]).update(body="a zebra crossing")
    Post.objects.filter(pk=ids[first][3]).update(body="zebras", hidden_at=START)
    Post.objects.filter(pk=ids[second][0]).update(body="Zebra!")
    unthemed = Post.objects.create(
        jam=jam, topic=Post.objects.get(pk=ids[first][0]).topic,
        idea=Post.objects.get(pk=ids[first][0]).idea, body="zebra, since the run",
        body_html="",
    )  # fmt: skip
    assert not PostTheme.objects.filter(post=unthemed).exists()
    client = client_for(facilitator)
    url = reverse("analysis:analysis", args=[jam.slug])
    html = client.get(url, {"q": "zebra"}).content.decode()
    assert "5 visible posts have “zebra”, 4 of them in a theme of this analysis." in html
    csv_url = reverse("analysis:words_csv", args=[jam.slug])
    assert f'href="{csv_url}?q=zebra" download data-words-csv' in html
    cells = dict(re.findall(r'<tr id="theme-(\d+)">.*?<td data-with-words>(.*?)</td>', html, re.S))
    theme_url = reverse("analysis:theme", args=[jam.slug, first.pk])
    assert cells[str(first.pk)] == f'<a href="{theme_url}?q=zebra">3</a>'
    assert re.search(r">1</a>$", cells[str(second.pk)])
    assert all(
        cells[str(pk)] == "0"
        for pk in analysed.themes.exclude(pk__in=[first.pk, second.pk]).values_list("pk", flat=True)
    )
    # Without words, or with nothing to find, the table is as it was.
    for params in ({}, {"q": "-zebra"}):
        html = client.get(url, params).content.decode()
        assert "data-with-words" not in html and "in a theme of this analysis" not in html
    assert "at least one word" in html


def test_the_posts_with_some_words_download_as_csv(jam, organizer, facilitator, participant):
    from jams.models import AuditEntry

    first, second = TopicFactory(jam=jam, title="First"), TopicFactory(jam=jam, title="Second")
    posts = posts_add(
        jam, first, ["cheap bus tickets", "=bus fare formula", "no match"], start=START
    )
    posts += posts_add(jam, second, ["bus lanes", "hidden bus"], start=START + timedelta(hours=1))
    Post.objects.filter(pk=posts[-1].pk).update(hidden_at=START)
    url = reverse("analysis:words_csv", args=[jam.slug])
    assert client_for(participant).get(url, {"q": "bus"}).status_code == 403
    response = client_for(facilitator).get(url, {"q": "bus", "order": "oldest"})
    assert response.status_code == 200 and response.streaming
    assert f'filename="{jam.slug}-posts-with-words.csv"' in response["Content-Disposition"]
    rows = _csv_rows(response)
    assert [int(row["post_id"]) for row in rows] == [posts[0].pk, posts[1].pk, posts[3].pk]
    assert rows[1]["text"] == "'=bus fare formula" and rows[2]["topic"] == "Second"
    entry = AuditEntry.objects.get(action="analysis.posts_exported")
    assert entry.actor == facilitator
    assert entry.data == {"words": "bus", "order": "oldest", "topic": None}
    rows = _csv_rows(client_for(facilitator).get(url, {"q": "bus", "topic": second.pk}))
    assert [int(row["post_id"]) for row in rows] == [posts[3].pk]
    # No words, nothing to find, or a topic that is no number: refused, nothing logged.
    for params in ({}, {"q": "-bus"}, {"q": "bus", "topic": "x"}):
        assert client_for(facilitator).get(url, params).status_code == 400
    assert AuditEntry.objects.filter(action="analysis.posts_exported").count() == 2
    # Linked from the search page for those who may download, with its order and topic.
    search = reverse("ideas:search", args=[jam.slug])
    html = client_for(organizer).get(search, {"q": "bus", "topic": second.pk}).content.decode()
    assert f'href="{url}?q=bus&amp;order=relevant&amp;topic={second.pk}" download' in html
    html = client_for(participant).get(search, {"q": "bus"}).content.decode()
    assert "data-words-csv" not in html and "<mark>bus</mark>" in html
