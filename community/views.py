"""Community pages. Each binds a form, calls one service and renders or
redirects; the live parts (wall, radar, session questions) are small
additions in static/js (wall.js, jam.js)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import PublicProfileForm
from accounts.models import User
from ideas.models import Post
from jams.errors import DomainError, NotFound
from jams.responses import (
    actor_of,
    domain_errors,
    form_errors_to_messages,
    jam_for_request,
    jam_render,
)
from jams.rules import Action, jam_check, jam_require
from jams.selectors import JamContext

from . import selectors, services
from .forms import (
    DirectorySearchForm,
    GuidelinesForm,
    HandoffForm,
    NotificationSettingsForm,
    QuestionForm,
    SessionForm,
)
from .models import HelpRequest, HostedSession

# --- Wall ----------------------------------------------------------------------------


@login_required
@domain_errors
def wall(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.VIEW_WALL)
    services.sessions_announce(jam=ctx.jam)
    ctx.jam.refresh_from_db(fields=["last_seq"])
    return jam_render(
        request,
        "community/wall.html",
        ctx,
        posts=selectors.wall_posts(jam=ctx.jam),
        trending=selectors.trending_ideas(jam=ctx.jam),
        alerts=selectors.recent_alerts(jam=ctx.jam),
    )


@require_GET
@login_required
@domain_errors
def wall_trending(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.VIEW_WALL)
    return JsonResponse({"ideas": selectors.trending_ideas(jam=ctx.jam)})


# --- Help: the topic, the radar, shifts -----------------------------------------------


@login_required
@domain_errors
def help_topic(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    community = selectors.community_for_jam(jam=ctx.jam)
    if community is not None and community.help_topic is not None:
        return redirect(community.help_topic)
    return jam_render(request, "community/help_missing.html", ctx)


@login_required
@domain_errors
def help_radar(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.HELP_RADAR)
    services.help_unanswered_scan(jam=ctx.jam)
    return jam_render(
        request,
        "community/help_radar.html",
        ctx,
        queue=selectors.help_queue(jam=ctx.jam),
        closed=selectors.help_recently_closed(jam=ctx.jam),
        shifts=selectors.shifts_for_jam(jam=ctx.jam, user=actor_of(request)),
        handoff_form=HandoffForm(),
        community=selectors.community_for_jam(jam=ctx.jam),
    )


@require_GET
@login_required
@domain_errors
def help_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """The queue alone, for the radar page's live refresh."""
    ctx = jam_for_request(request, slug, Action.HELP_RADAR)
    return jam_render(
        request, "community/_help_queue.html", ctx, queue=selectors.help_queue(jam=ctx.jam)
    )


def _help_request(ctx: JamContext, request_id: int) -> HelpRequest:
    return get_object_or_404(HelpRequest.objects.select_related("jam"), jam=ctx.jam, pk=request_id)


@require_POST
@login_required
@domain_errors
def help_claim(request: HttpRequest, slug: str, request_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.HELP_RADAR)
    services.help_claim(actor=actor_of(request), request=_help_request(ctx, request_id))
    return redirect("community:help_radar", slug=slug)


@require_POST
@login_required
@domain_errors
def help_resolve(request: HttpRequest, slug: str, request_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.HELP_RADAR)
    services.help_resolve(actor=actor_of(request), request=_help_request(ctx, request_id))
    return redirect("community:help_radar", slug=slug)


@require_POST
@login_required
@domain_errors
def shift(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.HELP_RADAR)
    if "end" in request.POST:
        form = HandoffForm(request.POST)
        if not form.is_valid():
            form_errors_to_messages(request, form)
            return redirect("community:help_radar", slug=slug)
        services.shift_end(
            actor=actor_of(request), jam=ctx.jam, handoff_note=form.cleaned_data["handoff_note"]
        )
        messages.success(request, _("Shift ended. Thank you."))
    else:
        services.shift_start(actor=actor_of(request), jam=ctx.jam)
        messages.success(request, _("You are on shift."))
    return redirect("community:help_radar", slug=slug)


# --- Guidelines ----------------------------------------------------------------------


@login_required
@domain_errors
def guidelines(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    if request.method == "POST":
        services.guidelines_accept(actor=actor_of(request), jam=ctx.jam)
        messages.success(request, _("Thank you. You can post now."))
        target = request.POST.get("next", "")
        if target.startswith(f"/jams/{ctx.jam.slug}/") and "//" not in target:
            return redirect(target)
        return redirect(ctx.jam)
    next_url = request.GET.get("next", "")
    return jam_render(
        request,
        "community/guidelines.html",
        ctx,
        community=selectors.community_for_jam(jam=ctx.jam),
        accepted=selectors.guidelines_accepted(jam=ctx.jam, user=request.user),
        next_url=next_url if next_url.startswith(f"/jams/{ctx.jam.slug}/") else "",
    )


@login_required
@domain_errors
def guidelines_edit(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_GUIDELINES)
    community = selectors.community_for_jam(jam=ctx.jam)
    initial = {
        "guidelines": community.guidelines if community else "",
        "help_topic": community.help_topic_id if community else None,
        "unanswered_minutes": community.unanswered_minutes
        if community
        else services.settings.COMMUNITY_HELP_UNANSWERED_MINUTES,
    }
    form = GuidelinesForm(request.POST or None, initial=initial, topics=ctx.jam.topics.all())
    if request.method == "POST":
        if "create_help_topic" in request.POST:
            services.help_topic_create(actor=actor_of(request), jam=ctx.jam)
            messages.success(request, _("Help topic created."))
            return redirect("community:guidelines_edit", slug=slug)
        if form.is_valid():
            services.guidelines_update(
                actor=actor_of(request),
                jam=ctx.jam,
                guidelines=form.cleaned_data["guidelines"],
                help_topic=form.cleaned_data["help_topic"],
                unanswered_minutes=form.cleaned_data["unanswered_minutes"],
            )
            messages.success(request, _("Saved."))
            return redirect("community:guidelines_edit", slug=slug)
    return jam_render(
        request, "community/guidelines_edit.html", ctx, form=form, community=community
    )


# --- Hosted sessions --------------------------------------------------------------------


def _session_form(ctx: JamContext, data: Any = None) -> SessionForm:
    return SessionForm(
        data,
        topics=ctx.jam.topics.all(),
        hosts=User.objects.filter(memberships__jam=ctx.jam).order_by("name", "email"),
        time_zone=ctx.jam.time_zone,
    )


@login_required
@domain_errors
def sessions(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    form = _session_form(ctx, request.POST or None)
    if request.method == "POST":
        jam_require(ctx, Action.MANAGE_SESSIONS)
        if form.is_valid():
            session = services.session_schedule(actor=actor_of(request), jam=ctx.jam,
                                                 **form.cleaned_data)  # fmt: skip
            messages.success(request, _("Session scheduled."))
            return redirect("community:session", slug=slug, session_id=session.pk)
        form_errors_to_messages(request, form)
    services.sessions_announce(jam=ctx.jam)
    return jam_render(
        request,
        "community/sessions.html",
        ctx,
        sessions=selectors.sessions_for_jam(jam=ctx.jam),
        form=form,
    )


def _session(ctx: JamContext, session_id: int) -> HostedSession:
    session = selectors.session_in_jam(jam=ctx.jam, session_id=session_id)
    if session is None:
        raise NotFound
    return session


@login_required
@domain_errors
def session(request: HttpRequest, slug: str, session_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    hosted = _session(ctx, session_id)
    form = QuestionForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            services.session_question_ask(
                actor=actor_of(request), session=hosted, body=form.cleaned_data["body"]
            )
            messages.success(request, _("Your question is in."))
            return redirect("community:session", slug=slug, session_id=hosted.pk)
        form_errors_to_messages(request, form)
    services.sessions_announce(jam=ctx.jam)
    return _session_page(request, ctx, hosted, "community/session.html", form=form)


def _session_page(
    request: HttpRequest, ctx: JamContext, hosted: HostedSession, template: str, **extra: Any
) -> HttpResponse:
    now = timezone.now()
    return jam_render(
        request,
        template,
        ctx,
        session=hosted,
        questions=selectors.session_questions(session=hosted, user_id=request.user.pk),
        live=hosted.starts_at <= now < hosted.ends_at,
        ended=hosted.ends_at <= now,
        can_answer=hosted.host_id == request.user.pk or jam_check(ctx, Action.MANAGE_SESSIONS),
        **extra,
    )


@require_GET
@login_required
@domain_errors
def session_questions(request: HttpRequest, slug: str, session_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    return _session_page(request, ctx, _session(ctx, session_id), "community/_questions.html")


def _question(hosted: HostedSession, post_id: int) -> Post:
    return get_object_or_404(Post.objects.select_related("jam"), idea_id=hosted.idea_id, pk=post_id)


@require_POST
@login_required
@domain_errors
def session_upvote(request: HttpRequest, slug: str, session_id: int, post_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    hosted = _session(ctx, session_id)
    services.session_question_upvote(
        actor=actor_of(request), session=hosted, post=_question(hosted, post_id)
    )
    return redirect("community:session", slug=slug, session_id=hosted.pk)


@require_POST
@login_required
@domain_errors
def session_answer(request: HttpRequest, slug: str, session_id: int, post_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    hosted = _session(ctx, session_id)
    services.session_question_answer(
        actor=actor_of(request), session=hosted, post=_question(hosted, post_id)
    )
    return redirect("community:session", slug=slug, session_id=hosted.pk)


# --- Directory, profiles, my input ------------------------------------------------------


@login_required
@domain_errors
def directory(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.VIEW_DIRECTORY)
    form = DirectorySearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    return jam_render(
        request,
        "community/directory.html",
        ctx,
        form=form,
        query=query,
        members=selectors.directory(jam=ctx.jam, query=query),
    )


@login_required
@domain_errors
def member(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.VIEW_DIRECTORY)
    membership = selectors.member_in_jam(jam=ctx.jam, user_id=user_id)
    if membership is None:
        raise Http404
    return jam_render(
        request,
        "community/member.html",
        ctx,
        membership=membership,
        person=membership.user,
        posts=selectors.member_posts(jam=ctx.jam, user_id=user_id),
    )


@login_required
@domain_errors
def my_input(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    return jam_render(
        request,
        "community/my_input.html",
        ctx,
        mine=selectors.my_input(
            jam=ctx.jam, user=actor_of(request), include_ranks=jam_check(ctx, Action.READ_REPORT)
        ),
    )


@require_POST
@login_required
def profile_edit(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    form = PublicProfileForm(request.POST, instance=User.objects.get(pk=user.pk))
    if form.is_valid():
        try:
            services.profile_update(actor=user, **form.cleaned_data)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your profile is saved."))
    else:
        form_errors_to_messages(request, form)
    return redirect("accounts:profile")


# --- Notifications -------------------------------------------------------------------


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    form = NotificationSettingsForm(
        request.POST or None, initial={"email_mode": services.email_mode_of(user)}
    )
    if request.method == "POST" and form.is_valid():
        services.notification_preference_set(user=user, email_mode=form.cleaned_data["email_mode"])
        messages.success(request, _("Your email settings are saved."))
        return redirect("community:notifications")
    services.sessions_announce()
    return render(
        request,
        "community/notifications.html",
        {"items": selectors.notifications_for_user(user=user), "form": form},
    )


@require_GET
@login_required
def notifications_unread(request: HttpRequest) -> HttpResponse:
    """The header badge's count, fetched by jam.js: pages render without
    counting (no queries added to every page)."""
    return JsonResponse({"unread": selectors.unread_count(user=actor_of(request))})


@require_POST
@login_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    raw = request.POST.get("notification", "")
    services.notifications_mark_read(
        user=actor_of(request), notification_id=int(raw) if raw.isdigit() else None
    )
    target = request.POST.get("next", "")
    if raw.isdigit() and target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("community:notifications")


@csrf_exempt  # the signed token is the credential; mail clients POST one-click (RFC 8058)
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """One click from any email: no sign-in. Email is turned off at once;
    the page offers to turn it back on."""
    try:
        user = services.unsubscribe(token=token)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "community/unsubscribed.html", {"person": user})
