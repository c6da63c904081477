"""Analysis pages: the analysis of the latest run, theme edits, the facilitators' pulse.

Views only queue analyses (``analysis_request``); a worker runs them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from ideas.forms import POST_ORDER_LABELS, WORDS_ORDER_LABELS, WordsForm
from ideas.models import Post
from ideas.search import ParsedQuery
from jams import services as jam_services
from jams.errors import Invalid
from jams.phases import Transition
from jams.protocol import MAX_ID
from jams.responses import (
    actor_of,
    domain_errors,
    form_errors_to_messages,
    jam_for_request,
    jam_render,
)
from jams.rules import Action
from jams.selectors import JamContext

from . import charts, selectors, services
from . import report as report_data
from .forms import MergeForm, RenameForm, RunForm
from .models import Theme


def _theme_change(theme: Theme) -> str:
    """How a theme differs from the one it continues in the previous run."""
    if theme.continues is None:
        return _("New since the previous run")
    delta = theme.size - theme.continues.size
    if delta == 0:
        return _("Same size as in the previous run")
    return ngettext(
        "%(delta)+d post since the previous run",
        "%(delta)+d posts since the previous run",
        abs(delta),
    ) % {"delta": delta}


def _tone_chart(tone: dict[str, Any], chart_id: str, label: str) -> SafeString:
    scored = sum(tone.get("counts") or [])
    return charts.tone_sparkline(
        tone,
        chart_id=chart_id,
        title=_("Tone over time: %(label)s") % {"label": label},
        desc=_(
            "Mean sentiment of %(n)d scored posts per time bucket, from -1 (negative) to +1 "
            "(positive); the dashed line is neutral."
        )
        % {"n": scored},
    )


@login_required
@domain_errors
def analysis(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.VIEW_PULSE)
    page = selectors.analysis_page(jam=ctx.jam)
    words = WordsForm(request.GET or None)
    query = words.query()
    found = None
    if page.run is not None and query.terms:
        found = selectors.words_in_themes(run=page.run, query=query)
    themes = [
        {
            "theme": theme,
            "chart": charts.share_sparkline(
                theme.share,
                chart_id=f"theme-{theme.pk}-share",
                title=_("Share of posts over time: %(label)s") % {"label": theme.display_label},
                desc=_("%(n)d posts; peak share %(peak)d %%.")
                % {
                    "n": theme.size,
                    "peak": round(100 * max(theme.share.get("values") or [0.0])),
                },
            ),
            "posts": [page.posts[pk] for pk in theme.representative_post_ids if pk in page.posts],
            "change": _theme_change(theme) if page.compared else "",
            "trend": page.trends.get(theme.pk),
            "with_words": found.by_theme.get(theme.pk, 0) if found else None,
        }
        for theme in page.themes
    ]
    timeline = None
    if page.run is not None:
        shifts = [
            (
                shift.at,
                shift.before,
                shift.after,
                _("Tone shift: %(before)+.2f to %(after)+.2f")
                % {"before": shift.before, "after": shift.after},
            )
            for shift in page.shifts
        ]
        timeline = charts.sentiment_timeline(
            page.run.timeline,
            shifts=shifts,
            markers=page.markers,
            chart_id="sentiment-timeline",
            title=_("Sentiment over time"),
            desc=_(
                "Mean sentiment of scored posts per time bucket, from -1 (negative) to +1 "
                "(positive). %(shifts)d tone shift(s) marked as red lines; %(events)d phase "
                "change(s) and alert(s) marked along the top."
            )
            % {"shifts": len(shifts), "events": len(page.markers)},
        )
    groups = [
        {
            "group": group,
            "representative": [
                (page.posts[item["post"]], item) for item in group.representative
                if item["post"] in page.posts
            ],
        }
        for group in page.groups
    ]  # fmt: skip
    topics = [
        {
            "topic": topic,
            "chart": _tone_chart(topic.tone, f"topic-{topic.id}-tone", topic.title),
        }
        for topic in page.topics
    ]
    merge_form = MergeForm(
        choices=[(theme.pk, theme.display_label) for theme in page.themes if not theme.pinned],
        prefix="merge",
    )
    return jam_render(
        request,
        "analysis/analysis.html",
        ctx,
        page=page,
        themes=themes,
        words=words,
        found=found,
        timeline=timeline,
        shifts=[
            (s, [page.posts[pk] for pk in s.post_ids if pk in page.posts]) for s in page.shifts
        ],
        groups=groups,
        topics=topics,
        consensus=[page.posts[pk] for pk in page.consensus if pk in page.posts],
        divisive=[page.posts[pk] for pk in page.divisive if pk in page.posts],
        merge_form=merge_form,
        rename_form=RenameForm(),
    )


@require_POST
@login_required
@domain_errors
def run_request(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.RUN_ANALYSIS)
    form = RunForm(request.POST)
    if not form.is_valid():
        form_errors_to_messages(request, form)
        return redirect("analysis:analysis", slug=slug)
    run = services.analysis_request(actor=actor_of(request), jam=ctx.jam, k=form.cleaned_data["k"])
    if run.is_pending:
        messages.success(request, _("Analysis queued; this page updates when it is ready."))
    else:
        messages.success(request, _("Analysis finished."))
    return redirect("analysis:analysis", slug=slug)


def _theme(ctx: JamContext, theme_id: int) -> Theme:
    return get_object_or_404(Theme.objects.select_related("run"), run__jam=ctx.jam, pk=theme_id)


@require_POST
@login_required
@domain_errors
def theme_rename(request: HttpRequest, slug: str, theme_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.RUN_ANALYSIS)
    theme = _theme(ctx, theme_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        services.theme_rename(
            actor=actor_of(request), theme=theme, label=form.cleaned_data["label"]
        )
        messages.success(request, _("Theme renamed."))
    else:
        form_errors_to_messages(request, form)
    return redirect("analysis:analysis", slug=slug)


@require_POST
@login_required
@domain_errors
def themes_merge(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.RUN_ANALYSIS)
    run = selectors.run_latest_done(jam=ctx.jam)
    choices = [(t.pk, t.display_label) for t in run.themes.filter(pinned=False)] if run else []
    form = MergeForm(request.POST, choices=choices, prefix="merge")
    if form.is_valid():
        themes = [_theme(ctx, pk) for pk in form.cleaned_data["themes"]]
        services.themes_merge(
            actor=actor_of(request), themes=themes, label=form.cleaned_data["label"]
        )
        messages.success(request, _("Themes merged."))
    else:
        form_errors_to_messages(request, form)
    return redirect("analysis:analysis", slug=slug)


@require_POST
@login_required
@domain_errors
def theme_split(request: HttpRequest, slug: str, theme_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.RUN_ANALYSIS)
    services.theme_split(actor=actor_of(request), theme=_theme(ctx, theme_id))
    messages.success(request, _("Theme split in two."))
    return redirect("analysis:analysis", slug=slug)


@require_POST
@login_required
@domain_errors
def theme_pin(request: HttpRequest, slug: str, theme_id: int, pinned: bool) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.RUN_ANALYSIS)
    services.theme_pin(actor=actor_of(request), theme=_theme(ctx, theme_id), pinned=pinned)
    messages.success(
        request,
        _("Theme pinned: the next runs keep it as it is.")
        if pinned
        else _("Theme unpinned: the next run clusters its posts afresh."),
    )
    return redirect("analysis:analysis", slug=slug)


@login_required
@domain_errors
def theme(request: HttpRequest, slug: str, theme_id: int) -> HttpResponse:
    """One theme and its posts, a page at a time, for reading what people said."""
    ctx = jam_for_request(request, slug, Action.VIEW_PULSE)
    words = WordsForm(request.GET or None)
    detail = selectors.theme_detail(
        jam=ctx.jam,
        theme=_theme(ctx, theme_id),
        order=request.GET.get("order", ""),
        page=request.GET.get("page"),
        query=words.query(),
    )
    tone = selectors.theme_tone(run=detail.theme.run, theme=detail.theme)
    chart = _tone_chart(tone, f"theme-{detail.theme.pk}-tone", detail.theme.display_label)
    return jam_render(
        request,
        "analysis/theme.html",
        ctx,
        detail=detail,
        orders=WORDS_ORDER_LABELS if detail.query.words else POST_ORDER_LABELS,
        tone_chart=chart,
        words=words,
    )


def _words(request: HttpRequest) -> ParsedQuery:
    """The words of ``?q=`` (none for no ``q``); Invalid, with the reason, for a bad one."""
    words = WordsForm(request.GET)
    if not words.is_valid():
        raise Invalid(" ".join(str(error) for error in words.errors["q"]))
    query: ParsedQuery = words.cleaned_data["q"]
    return query


def _topic_id(value: str) -> int | None:
    """A topic id from the query string, None for none; an unknown one finds no posts."""
    if not value:
        return None
    if not value.isdigit() or int(value) > MAX_ID:
        raise Invalid(_("No such topic."))
    return int(value)


def _posts_csv(
    request: HttpRequest, slug: str, rows: QuerySet[Post, tuple[Any, ...]], filename: str
) -> StreamingHttpResponse:
    def post_url(idea_id: int, post_id: int) -> str:
        path = reverse("ideas:idea", args=[slug, idea_id])
        return request.build_absolute_uri(f"{path}#post-{post_id}")

    response = StreamingHttpResponse(
        report_data.theme_posts_csv(rows.iterator(chunk_size=2000), post_url=post_url),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@domain_errors
def theme_csv(request: HttpRequest, slug: str, theme_id: int) -> StreamingHttpResponse:
    """A theme's visible posts as CSV, in the order the theme page shows them."""
    ctx = jam_for_request(request, slug, Action.VIEW_PULSE)
    theme = _theme(ctx, theme_id)
    rows = services.theme_export(
        actor=actor_of(request),
        theme=theme,
        order=request.GET.get("order", ""),
        query=_words(request),
    )
    return _posts_csv(request, slug, rows, f"{slug}-theme-{theme.pk}.csv")


@login_required
@domain_errors
def words_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    """The jam's visible posts with some words as CSV, in the search page's order."""
    ctx = jam_for_request(request, slug, Action.VIEW_PULSE)
    rows = services.words_export(
        actor=actor_of(request),
        jam=ctx.jam,
        query=_words(request),
        order=request.GET.get("order", ""),
        topic_id=_topic_id(request.GET.get("topic", "")),
    )
    return _posts_csv(request, slug, rows, f"{slug}-posts-with-words.csv")


@login_required
@domain_errors
def pulse(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.VIEW_PULSE)
    return jam_render(request, "analysis/pulse.html", ctx, pulse=selectors.jam_pulse(jam=ctx.jam))


# --- The outcome report ----------------------------------------------------------


@login_required
@domain_errors
def report(request: HttpRequest, slug: str) -> HttpResponse:
    """The outcome report: organizers and executives from the close of voting (a preview
    until published), participants and facilitators once it is published."""
    ctx = jam_for_request(request, slug, Action.READ_REPORT)
    return jam_render(
        request, "analysis/report.html", ctx, report=report_data.report_build(jam=ctx.jam)
    )


@require_POST
@login_required
@domain_errors
def report_publish(request: HttpRequest, slug: str) -> HttpResponse:
    """Publish or withdraw the report from its own page (the jam's publish transition)."""
    ctx = jam_for_request(request, slug, Action.PUBLISH_RESULTS)
    transition = request.POST.get("transition", "")
    if transition not in (Transition.PUBLISH, Transition.UNPUBLISH):
        messages.error(request, _("Choose to publish or to withdraw the report."))
        return redirect("analysis:report", slug=slug)
    jam_services.jam_transition(
        actor=actor_of(request),
        jam=ctx.jam,
        transition=transition,
        reason=request.POST.get("reason", "")[:500],
    )
    if transition == Transition.PUBLISH:
        messages.success(request, _("Report published; members are being notified."))
    else:
        messages.success(request, _("Report withdrawn; only organizers and executives see it."))
    return redirect("analysis:report", slug=slug)


@login_required
@domain_errors
def report_download(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """The report as PDF, the ranking as CSV or everything as JSON; every export is logged."""
    if fmt not in report_data.EXPORT_FORMATS:
        raise Http404
    ctx = jam_for_request(request, slug, Action.EXPORT_REPORT)
    file = report_data.report_export(actor=actor_of(request), jam=ctx.jam, fmt=fmt)
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
