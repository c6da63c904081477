"""Analysis pages: the analysis of the latest run, theme edits, the facilitators' pulse.

Views only queue analyses (``analysis_request``); a worker runs them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jams import selectors as jam_selectors
from jams.responses import actor_of, domain_errors
from jams.rules import Action, jam_check, jam_require
from jams.selectors import JamContext

from . import charts, selectors, services
from .forms import MergeForm, RenameForm
from .models import Theme


def _ctx(request: HttpRequest, slug: str, action: Action) -> JamContext:
    ctx = jam_selectors.jam_context(slug=slug, user=request.user)
    jam_require(ctx, action)
    return ctx


def _render(request: HttpRequest, template: str, ctx: JamContext, **extra: Any) -> HttpResponse:
    return render(
        request,
        template,
        {
            "jam": ctx.jam,
            "ctx": ctx,
            "role": ctx.role,
            "state": ctx.state(),
            "now": timezone.now(),
            "can": {action.value: jam_check(ctx, action) for action in Action},
            **extra,
        },
    )


def _errors(request: HttpRequest, form: Any) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@login_required
@domain_errors
def analysis(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = _ctx(request, slug, Action.VIEW_PULSE)
    page = selectors.analysis_page(jam=ctx.jam)
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
    merge_form = MergeForm(
        choices=[(theme.pk, theme.display_label) for theme in page.themes], prefix="merge"
    )
    return _render(
        request,
        "analysis/analysis.html",
        ctx,
        page=page,
        themes=themes,
        timeline=timeline,
        shifts=[
            (s, [page.posts[pk] for pk in s.post_ids if pk in page.posts]) for s in page.shifts
        ],
        groups=groups,
        consensus=[page.posts[pk] for pk in page.consensus if pk in page.posts],
        divisive=[page.posts[pk] for pk in page.divisive if pk in page.posts],
        merge_form=merge_form,
        rename_form=RenameForm(),
    )


@require_POST
@login_required
@domain_errors
def run_request(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = _ctx(request, slug, Action.RUN_ANALYSIS)
    run = services.analysis_request(actor=actor_of(request), jam=ctx.jam)
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
    ctx = _ctx(request, slug, Action.RUN_ANALYSIS)
    theme = _theme(ctx, theme_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        services.theme_rename(
            actor=actor_of(request), theme=theme, label=form.cleaned_data["label"]
        )
        messages.success(request, _("Theme renamed."))
    else:
        _errors(request, form)
    return redirect("analysis:analysis", slug=slug)


@require_POST
@login_required
@domain_errors
def themes_merge(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = _ctx(request, slug, Action.RUN_ANALYSIS)
    run = selectors.run_latest_done(jam=ctx.jam)
    choices = [(t.pk, t.display_label) for t in run.themes.all()] if run else []
    form = MergeForm(request.POST, choices=choices, prefix="merge")
    if form.is_valid():
        themes = [_theme(ctx, pk) for pk in form.cleaned_data["themes"]]
        services.themes_merge(
            actor=actor_of(request), themes=themes, label=form.cleaned_data["label"]
        )
        messages.success(request, _("Themes merged."))
    else:
        _errors(request, form)
    return redirect("analysis:analysis", slug=slug)


@require_POST
@login_required
@domain_errors
def theme_split(request: HttpRequest, slug: str, theme_id: int) -> HttpResponse:
    ctx = _ctx(request, slug, Action.RUN_ANALYSIS)
    services.theme_split(actor=actor_of(request), theme=_theme(ctx, theme_id))
    messages.success(request, _("Theme split in two."))
    return redirect("analysis:analysis", slug=slug)


@login_required
@domain_errors
def pulse(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = _ctx(request, slug, Action.VIEW_PULSE)
    return _render(request, "analysis/pulse.html", ctx, pulse=selectors.jam_pulse(jam=ctx.jam))
