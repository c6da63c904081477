"""The Django side of the analysis: runs persisted, skipped, forced, edits kept, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from analysis import selectors, services
from analysis.models import (
    AnalysisRun,
    GroupMember,
    OpinionGroup,
    PostTheme,
    RunStatus,
    Theme,
    ThemeEdit,
)
from analysis.pipeline import find_themes
from analysis.report import report_build
from ideas.models import Post
from ideas.search import parse_query
from ideas.services import post_hide, post_restore
from jams.errors import Forbidden
from jams.models import Event
from tests.analysis.jamdata import posts_add, small_jam
from tests.factories import TopicFactory

pytestmark = pytest.mark.django_db
START = datetime(2025, 3, 1, 9, tzinfo=UTC)
K = 5


@pytest.fixture
def posts(jam):
    return small_jam(jam, start=START)


def test_run_persists_themes_assignments_groups_and_timeline(jam, posts) -> None:
    run = services.analysis_run(jam=jam, k=K)
    assert run.status == RunStatus.DONE and run.progress == 100
    themes = list(run.themes.all())
    assert len(themes) == K
    assert sum(t.size for t in themes) == PostTheme.objects.filter(run=run).count()
    inputs = selectors.analysis_inputs(jam=jam)
    expected = find_themes(inputs.texts, k=K).assignments
    assert PostTheme.objects.filter(run=run).count() == (expected >= 0).sum() > 0.9 * len(posts)
    for theme in themes:
        assert theme.label and theme.terms
        assert set(theme.representative_post_ids) <= set(
            PostTheme.objects.filter(theme=theme).values_list("post_id", flat=True)
        )
        assert len(theme.share["values"]) == len(run.timeline["share"]["totals"])
    assert run.summary["posts"] == len(posts)
    assert run.summary["participants"] == 24 and run.summary["statements"] == 16
    groups = list(run.groups.all())
    assert len(groups) == 2 and sorted(g.size for g in groups) == [12, 12]
    assert GroupMember.objects.filter(run=run).count() == 24
    assert all(g.representative for g in groups)
    assert set(run.timings) >= {"load", "themes", "shifts", "groups", "save"}
    assert run.parameters == {"k": K} and len(run.input_hash) == 64


def test_same_inputs_reuse_the_run_and_force_recomputes(jam, posts) -> None:
    first = services.analysis_run(jam=jam, k=K)
    again = services.analysis_run(jam=jam, k=K)
    assert again.pk == first.pk
    newest = AnalysisRun.objects.filter(jam=jam).first()
    assert newest.status == RunStatus.UNCHANGED and newest.reused_id == first.pk
    assert Theme.objects.filter(run__jam=jam).count() == K
    forced = services.analysis_run(jam=jam, k=K, force=True)
    assert forced.pk != first.pk and forced.status == RunStatus.DONE
    assert forced.themes.count() == K
    # Different parameters are different results.
    assert services.analysis_run(jam=jam, k=K + 1).pk not in (first.pk, forced.pk)


@pytest.mark.parametrize("change", ["edit", "hide", "react"])
def test_any_change_in_inputs_is_recomputed(jam, posts, participant, change) -> None:
    from ideas.models import Reaction

    first = services.analysis_run(jam=jam, k=K)
    post = posts[3]
    if change == "edit":
        Post.objects.filter(pk=post.pk).update(edited_at=START + timedelta(days=1))
    elif change == "hide":
        Post.objects.filter(pk=post.pk).update(hidden_at=START + timedelta(days=1))
    else:
        Reaction.objects.create(post=post, user=participant, value="agree")
    second = services.analysis_run(jam=jam, k=K)
    assert second.pk != first.pk and second.input_hash != first.input_hash
    if change == "hide":
        assert not PostTheme.objects.filter(run=second, post=post).exists()


def test_progress_is_written_and_ready_event_recorded(jam, posts, monkeypatch) -> None:
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 3600)  # stage starts only
    seen: list[tuple[int, str]] = []
    run = services.analysis_run(jam=jam, k=K, progress=lambda p, s: seen.append((p, s)))
    percents = [p for p, _ in seen]
    assert percents == sorted(percents) and percents[-1] == 100
    assert [s for _, s in seen] == ["loading", "themes", "shifts", "groups", "saving", "done"]
    run.refresh_from_db()
    assert run.progress == 100 and run.stage == "done"
    events = list(Event.objects.filter(jam=jam, name__startswith="analysis.").order_by("seq"))
    assert [e.data["progress"] for e in events[:-1]] == [5, 15, 60, 70, 90]
    ready = events[-1]
    assert ready.name == "analysis.ready"
    assert ready.data == {
        "run": run.pk, "results": run.pk, "status": "done", "themes": K, "groups": 2,
    }  # fmt: skip


def test_progress_moves_inside_the_themes_stage(jam, posts, monkeypatch) -> None:
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 0)
    services.analysis_run(jam=jam)  # k chosen: one report per candidate
    events = Event.objects.filter(jam=jam, name="analysis.progress").order_by("seq")
    steps = [(e.data["progress"], e.data["stage"]) for e in events]
    inside = [percent for percent, stage in steps if stage == "themes"]
    assert inside[0] == 15 and len(inside) > 5 and max(inside) < 60
    assert [percent for percent, _ in steps] == sorted(percent for percent, _ in steps)
    assert len(set(inside)) == len(inside)  # only when the bar moves


def test_ready_event_is_broadcast_after_commit(jam, posts, events, monkeypatch) -> None:
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 3600)  # stage starts only
    with events.committed():
        run = services.analysis_run(jam=jam, k=K)
    received = [e for e in events.drain() if e["event"].startswith("analysis.")]
    assert [e["data"]["progress"] for e in received[:-1]] == [5, 15, 60, 70, 90]
    assert received[-1]["event"] == "analysis.ready" and received[-1]["data"]["run"] == run.pk


def test_unscored_posts_stay_null(jam, posts) -> None:
    german = [p for p in posts if p.language == "de"]
    assert german and all(p.sentiment is None for p in german)
    run = services.analysis_run(jam=jam, k=K)
    report = selectors.analysis_report_sections(jam=jam)
    by_id = {row["id"]: row for row in report["posts"]}
    assert all(by_id[p.pk]["sentiment"] is None for p in german)
    assert sum(run.timeline["counts"]) == sum(1 for p in posts if p.sentiment is not None)
    theme_of = dict(PostTheme.objects.filter(run=run).values_list("post_id", "theme_id"))
    for theme in run.themes.all():
        scored = [
            p.sentiment for p in posts if theme_of.get(p.pk) == theme.pk and p.sentiment is not None
        ]
        if scored:
            assert theme.sentiment == pytest.approx(sum(scored) / len(scored))
        else:
            assert theme.sentiment is None


def test_rename_survives_a_rerun_on_changed_inputs(jam, posts, organizer) -> None:
    run = services.analysis_run(jam=jam, k=K)
    theme = run.themes.get(number=1)
    members = set(PostTheme.objects.filter(theme=theme).values_list("post_id", flat=True))
    services.theme_rename(actor=organizer, theme=theme, label="Our label")
    assert Theme.objects.get(pk=theme.pk).display_label == "Our label"
    posts_add(jam, TopicFactory(jam=jam), ["Minimum wage and small business owners"] * 3,
              start=START + timedelta(hours=5))  # fmt: skip
    second = services.analysis_run(jam=jam, k=K)
    assert second.pk != run.pk
    renamed = second.themes.get(custom_label="Our label")
    overlap = {
        t.pk: len(
            members & set(PostTheme.objects.filter(theme=t).values_list("post_id", flat=True))
        )
        for t in second.themes.all()
    }
    assert overlap[renamed.pk] == max(overlap.values()) >= len(members) / 3
    assert second.summary["edits"] == [
        {"edit": ThemeEdit.objects.get().pk, "kind": "rename", "applied": True}
    ]


def test_merge_and_split_survive_a_forced_rerun(jam, posts, organizer) -> None:
    run = services.analysis_run(jam=jam, k=K)
    first, second = run.themes.get(number=0), run.themes.get(number=1)
    merged_posts = {
        *PostTheme.objects.filter(theme__in=[first, second]).values_list("post_id", flat=True)
    }
    merged = services.themes_merge(actor=organizer, themes=[first, second], label="Both")
    assert run.themes.count() == K - 1 and merged.size == len(merged_posts)
    services.theme_split(actor=organizer, theme=run.themes.get(number=2))
    assert run.themes.count() == K
    rerun = services.analysis_run(jam=jam, k=K, force=True)
    assert rerun.themes.count() == K  # K, minus one merged, plus one split
    both = rerun.themes.get(custom_label="Both")
    assert set(PostTheme.objects.filter(theme=both).values_list("post_id", flat=True)) == (
        merged_posts
    )
    assert [e["applied"] for e in rerun.summary["edits"]] == [True, True]
    assert sum(t.size for t in rerun.themes.all()) == PostTheme.objects.filter(run=rerun).count()


def test_a_rerun_carries_on_the_previous_themes(jam, posts, organizer, client) -> None:
    first = services.analysis_run(jam=jam)
    computed = dict(PostTheme.objects.filter(run=first).values_list("post_id", "theme__number"))
    assert computed == dict(
        PostTheme.objects.filter(run=first).values_list("post_id", "computed_number")
    )
    assert first.summary["previous_run"] is None and first.summary["themes_continued"] == 0
    posts_add(jam, TopicFactory(jam=jam), ["Bike lanes on every main street, please"] * 2,
              start=START + timedelta(hours=5))  # fmt: skip
    second = services.analysis_run(jam=jam)
    assert second.summary["previous_run"] == first.pk and second.summary["themes_seeded"]
    assert second.summary["k"] == first.summary["k"]
    themes = list(second.themes.select_related("continues"))
    assert all(t.continues is not None and t.continues.run_id == first.pk for t in themes)
    assert len({t.continues_id for t in themes}) == len(themes)
    for theme in themes:
        before = set(
            PostTheme.objects.filter(theme=theme.continues).values_list("post_id", flat=True)
        )
        now = set(PostTheme.objects.filter(theme=theme).values_list("post_id", flat=True))
        assert len(before & now) > len(before) / 2
    report = selectors.analysis_report_sections(jam=jam)
    assert {row["continues"] for row in report["themes"]} == {t.continues_id for t in themes}
    client.force_login(organizer)
    html = client.get(f"/jams/{jam.slug}/analysis/").content.decode()
    assert html.count("data-theme-change") == len(themes)
    assert "since the previous run" in html and "data-themes-ended" not in html


def test_a_rerun_after_a_merge_starts_from_the_computed_themes(jam, posts, organizer) -> None:
    run = services.analysis_run(jam=jam, k=K)
    first, second = run.themes.get(number=0), run.themes.get(number=1)
    merged = services.themes_merge(actor=organizer, themes=[first, second], label="Both")
    # The posts keep the theme the pipeline gave them; the next run starts from
    # those K themes, and the merge is applied to it again.
    numbers = set(PostTheme.objects.filter(theme=merged).values_list("computed_number", flat=True))
    assert numbers == {0, 1}
    rerun = services.analysis_run(jam=jam, k=K, force=True)
    assert rerun.summary["themes_seeded"] and rerun.themes.count() == K - 1
    both = rerun.themes.get(custom_label="Both")
    assert both.continues_id == merged.pk
    assert rerun.summary["themes_continued"] == K - 1


def _post_ids(theme: Theme) -> set[int]:
    return set(PostTheme.objects.filter(theme=theme).values_list("post_id", flat=True))


def test_a_pinned_theme_is_kept_as_it_is_by_later_runs(jam, posts, organizer) -> None:
    run = services.analysis_run(jam=jam, k=K)
    theme = run.themes.get(number=1)
    services.theme_rename(actor=organizer, theme=theme, label="Ours")
    services.theme_pin(actor=organizer, theme=theme)
    members = _post_ids(theme)
    like_it = [Post.objects.get(pk=pk).body for pk in theme.representative_post_ids]
    added = posts_add(jam, TopicFactory(jam=jam), [*like_it, "Bike lanes on every main street"],
                      start=START + timedelta(hours=5))  # fmt: skip
    second = services.analysis_run(jam=jam, k=K)
    (kept,) = second.themes.filter(pinned=True)
    assert kept.display_label == "Ours" and kept.label == theme.label
    assert kept.continues_id == theme.pk
    now = _post_ids(kept)
    # Every post it had, and new posts only besides: the copies of its own posts.
    assert members <= now and now - members <= {p.pk for p in added}
    assert {p.pk for p in added[:-1]} <= now
    assert second.themes.count() == K  # k counts the pinned theme
    # The rename is kept by the pin, not re-applied on top of it.
    assert second.summary["edits"] == [
        {"edit": ThemeEdit.objects.get().pk, "kind": "rename", "applied": False}
    ]
    report = selectors.analysis_report_sections(jam=jam)
    assert [row["pinned"] for row in report["themes"]].count(True) == 1
    services.theme_pin(actor=organizer, theme=kept, pinned=False)
    third = services.analysis_run(jam=jam, k=K, force=True)
    assert not third.themes.filter(pinned=True).exists()
    assert third.themes.filter(custom_label="Ours").count() == 1  # the rename applies again


def test_a_merged_theme_pinned_stays_merged_and_is_not_reshaped(jam, posts, organizer) -> None:
    from jams.errors import Invalid

    run = services.analysis_run(jam=jam, k=K)
    first, second = run.themes.get(number=0), run.themes.get(number=1)
    merged = services.themes_merge(actor=organizer, themes=[first, second], label="Both")
    both = _post_ids(merged)
    services.theme_pin(actor=organizer, theme=merged)
    with pytest.raises(Invalid, match="pinned"):
        services.theme_split(actor=organizer, theme=merged)
    with pytest.raises(Invalid, match="pinned"):
        services.themes_merge(actor=organizer, themes=[run.themes.get(number=2), merged])
    assert ThemeEdit.objects.count() == 1
    rerun = services.analysis_run(jam=jam, k=K, force=True)
    (kept,) = rerun.themes.filter(pinned=True)
    assert _post_ids(kept) == both and kept.display_label == "Both"
    assert rerun.themes.count() == K and rerun.summary["edits"][0]["applied"] is False
    others = set(
        PostTheme.objects.filter(run=rerun).exclude(theme=kept).values_list("post_id", flat=True)
    )
    assert not others & both


def test_pinning_needs_an_organizer_and_is_audited(jam, posts, facilitator, organizer) -> None:
    from jams.models import AuditEntry

    run = services.analysis_run(jam=jam, k=K)
    theme = run.themes.first()
    with pytest.raises(Forbidden):
        services.theme_pin(actor=facilitator, theme=theme)
    services.theme_pin(actor=organizer, theme=theme)
    services.theme_pin(actor=organizer, theme=theme)  # already pinned: nothing to record
    services.theme_pin(actor=organizer, theme=theme, pinned=False)
    actions = list(
        AuditEntry.objects.filter(action__startswith="analysis.theme_")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == ["analysis.theme_pin", "analysis.theme_unpin"]


def test_edits_need_an_organizer_and_the_latest_run(jam, posts, facilitator, organizer) -> None:
    from jams.errors import Invalid

    run = services.analysis_run(jam=jam, k=K)
    with pytest.raises(Forbidden):
        services.theme_rename(actor=facilitator, theme=run.themes.first(), label="x")
    newer = services.analysis_run(jam=jam, k=K, force=True)
    with pytest.raises(Invalid):
        services.theme_rename(actor=organizer, theme=run.themes.first(), label="x")
    assert not ThemeEdit.objects.exists() and newer.themes.filter(custom_label="").count() == K


def test_request_queues_once_and_the_task_executes_it(
    jam, posts, organizer, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.analysis_request(actor=organizer, jam=jam, k=K)
        assert services.analysis_request(actor=organizer, jam=jam, k=K).pk == run.pk
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED  # nothing runs before the commit
    for callback in callbacks:  # the broadcast, then the enqueue; the immediate
        callback()  # backend of the tests runs the task at once
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.themes.count() == K
    assert services.analysis_execute(run_id=run.pk) is None  # claimed once only


def test_request_needs_run_analysis_permission(jam, facilitator, participant) -> None:
    for person in (facilitator, participant):
        with pytest.raises(Forbidden):
            services.analysis_request(actor=person, jam=jam)
    assert not AnalysisRun.objects.exists()


def test_failed_run_is_marked_and_reraised(jam, posts, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "find_opinion_groups", broken)
    with pytest.raises(RuntimeError):
        services.analysis_run(jam=jam, k=K)
    run = AnalysisRun.objects.get()
    assert run.status == RunStatus.FAILED and "boom" in run.error
    assert not OpinionGroup.objects.exists() and not Theme.objects.exists()


def test_live_jams_are_requeued_after_the_interval(jam, posts) -> None:
    from datetime import timedelta as td

    from django.utils import timezone

    now = timezone.now()
    queued = services.analysis_queue_live(now=now, every=td(minutes=15))
    assert [r.jam_id for r in queued] == [jam.pk]
    assert services.analysis_queue_live(now=now, every=td(minutes=15)) == []  # pending
    run = services.run_claim_next()
    services.run_claimed_execute(run=run)
    assert services.analysis_queue_live(now=now + td(minutes=10), every=td(minutes=15)) == []
    again = services.analysis_queue_live(now=now + td(minutes=16), every=td(minutes=15))
    assert len(again) == 1


def test_an_organizers_number_of_themes_holds_for_the_periodic_runs(jam, posts) -> None:
    from datetime import timedelta as td

    from django.utils import timezone

    services.analysis_run(jam=jam, k=4)
    later = timezone.now() + td(minutes=16)
    (queued,) = services.analysis_queue_live(now=later, every=td(minutes=15))
    assert queued.parameters == {"k": 4}
    services.run_claimed_execute(run=services.run_claim_next())
    services.analysis_run(jam=jam, k=None, force=True)  # back to automatic
    (queued,) = services.analysis_queue_live(now=later + td(minutes=16), every=td(minutes=15))
    assert queued.parameters == {"k": None}


@pytest.mark.parametrize("k", [0, 1, 31, -3])
def test_a_number_of_themes_out_of_range_is_refused(jam, posts, organizer, k) -> None:
    from jams.errors import Invalid

    with pytest.raises(Invalid, match="between 2 and 30"):
        services.analysis_request(actor=organizer, jam=jam, k=k)
    with pytest.raises(Invalid):
        services.analysis_run(jam=jam, k=k)
    assert not AnalysisRun.objects.exists()


def test_reactions_on_hidden_posts_stay_in_the_matrix_but_are_never_reported(jam, posts) -> None:
    """Pol.is keeps a moderated-out comment's votes (they count as seen); the groups
    must never cite it, and the visible statements stay what they were."""
    hidden = posts[2]  # one of the 16 statements the two camps reacted to
    Post.objects.filter(pk=hidden.pk).update(hidden_at=START + timedelta(days=1))
    inputs = selectors.analysis_inputs(jam=jam)
    moderated_posts = {inputs.statement_post_ids[s] for s in inputs.moderated_statements}
    assert moderated_posts == {hidden.pk}
    assert inputs.counts["statements"] == 15 and inputs.counts["moderated_statements"] == 1
    assert inputs.votes.n_participants == 24

    run = services.analysis_run(jam=jam, k=K)
    groups = list(run.groups.all())
    assert len(groups) == 2 and sorted(g.size for g in groups) == [12, 12]
    cited = set()
    for group in groups:
        cited |= {stance["post"] for stance in group.representative}
        cited |= set(group.consensus_post_ids) | set(group.divisive_post_ids)
    assert cited and hidden.pk not in cited


def test_the_replies_of_a_hidden_thread_count_nowhere_until_it_is_restored(
    jam, posts, facilitator
) -> None:
    """Hiding an idea hides its opening post; its replies, out of sight with the
    thread, leave the analysis, the report's counts and the theme pages as the
    search leaves them, and come back with it."""
    opening = posts[0]
    replies = [
        Post.objects.create(
            jam=jam, topic=opening.topic, idea=opening.idea, parent=opening, depth=1,
            body=f"Replying about zebra crossings, {n}", body_html="", created_at=START,
        )
        for n in range(3)
    ]  # fmt: skip
    run = services.analysis_run(jam=jam, k=K)
    before = selectors.analysis_inputs(jam=jam)
    assert {opening.pk, *(reply.pk for reply in replies)} <= set(before.post_ids)
    posts_counted = report_build(jam=jam).participation.posts
    zebra = parse_query("zebra")
    assert selectors.words_in_themes(run=run, query=zebra).posts == 3
    theme = PostTheme.objects.get(run=run, post=replies[0]).theme
    listed = selectors.theme_post_rows(jam=jam, theme=theme, order="", query=zebra)
    assert replies[0].pk in {row[0] for row in listed}

    post_hide(actor=facilitator, post=opening, reason="Off topic")
    hidden = selectors.analysis_inputs(jam=jam)
    assert set(before.post_ids) - set(hidden.post_ids) == {opening.pk, *(r.pk for r in replies)}
    assert hidden.hidden_count == before.hidden_count + 4
    assert hidden.input_hash != before.input_hash
    assert report_build(jam=jam).participation.posts == posts_counted - 4
    assert selectors.words_in_themes(run=run, query=zebra).posts == 0
    assert not selectors.theme_post_rows(jam=jam, theme=theme, order="", query=zebra).exists()

    post_restore(actor=facilitator, post=Post.objects.get(pk=opening.pk))
    assert selectors.analysis_inputs(jam=jam).input_hash == before.input_hash
    assert report_build(jam=jam).participation.posts == posts_counted


def test_a_tone_shift_is_illustrated_by_different_posts(jam) -> None:
    # Two hours of praise, then two hours of complaint, one complaint pasted many times.
    topic = TopicFactory(jam=jam)
    praise = [f"Wonderful, inspiring proposal number {i}, I love it." for i in range(60)]
    complaints = [
        "This is a terrible, awful, useless waste of money."
        if i % 3
        else f"Disappointing and bad plan, version {i}."
        for i in range(60)
    ]
    posts_add(jam, topic, praise, start=START)
    posts_add(jam, topic, complaints, start=START + timedelta(hours=1))
    run = services.analysis_run(jam=jam, k=2)
    shift = run.shifts.get()
    assert shift.after < shift.before - 0.3
    texts = [Post.objects.get(pk=pk).body for pk in shift.post_ids]
    assert len(texts) == services.SHIFT_ILLUSTRATIONS and len(set(texts)) == len(texts)


def test_tone_is_kept_per_topic_and_per_theme_over_time(jam, posts, organizer) -> None:
    other = TopicFactory(jam=jam)
    later = posts_add(jam, other, ["Awful, broken, hopeless idea."] * 3 + ["Lovely plan."] * 2,
                      start=START + timedelta(hours=1))  # fmt: skip
    run = services.analysis_run(jam=jam, k=K)
    start = datetime.fromisoformat(run.timeline["start"])
    width = timedelta(seconds=run.timeline["width"])
    n = len(run.timeline["counts"])

    def expected(members: list[Post]) -> tuple[list[int], list[float | None]]:
        scored = [p for p in members if p.sentiment is not None]
        buckets = [min(n - 1, int((p.created_at - start) / width)) for p in scored]
        counts = [buckets.count(b) for b in range(n)]
        sums = [
            sum(p.sentiment for p, at in zip(scored, buckets, strict=True) if at == b)
            for b in range(n)
        ]
        return counts, [round(t / c, 4) if c else None for t, c in zip(sums, counts, strict=True)]

    rows = {row["topic"]: row for row in run.timeline["topics"]}
    by_topic = {posts[0].topic_id: list(posts), other.pk: later}
    assert set(rows) == set(by_topic)
    for topic, members in by_topic.items():
        counts, means = expected(members)
        assert rows[topic]["counts"] == counts
        assert rows[topic]["means"] == pytest.approx(means)
        assert rows[topic]["posts"] == len(members)
    theme = run.themes.get(number=0)
    members = list(
        Post.objects.filter(pk__in=PostTheme.objects.filter(theme=theme).values("post_id"))
    )
    assert theme.tone["counts"] == expected(members)[0]
    merged = services.themes_merge(actor=organizer, themes=[theme, run.themes.get(number=1)])
    members = list(
        Post.objects.filter(pk__in=PostTheme.objects.filter(theme=merged).values("post_id"))
    )
    assert Theme.objects.get(pk=merged.pk).tone["counts"] == expected(members)[0]
    report = selectors.analysis_report_sections(jam=jam)
    assert {row["id"] for row in report["topics"]} == set(by_topic)
    assert all(row["tone"]["start"] == run.timeline["start"] for row in report["topics"])
