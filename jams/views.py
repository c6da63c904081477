"""Jam pages. Each view binds a form, calls one service and renders or redirects."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language_info
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import (
    InvitationForm,
    JamEditForm,
    JamForm,
    PhaseForm,
    RoleForm,
    TextForm,
    TopicForm,
    TransitionForm,
)
from .models import Jam, JamText, Membership, Phase, Role, Topic, TopicText
from .responses import (
    actor_of,
    domain_errors,
    form_errors_to_messages,
    jam_for_request,
    jam_render,
)
from .rules import Action
from .selectors import JamContext


def jam_list(request: HttpRequest) -> HttpResponse:
    items = selectors.jams_for_user(user=request.user)
    can_create = request.user.is_authenticated and request.user.has_perm("jams.create_jam")
    return render(request, "jams/list.html", {"items": items, "can_create": can_create})


@login_required
@domain_errors
def jam_create(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("jams.create_jam"):
        return render(request, "403.html", {"message": _("You may not create jams.")}, status=403)
    form = JamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        jam = services.jam_create(actor=actor_of(request), **form.cleaned_data)
        messages.success(request, _("Jam created. Add topics and a schedule next."))
        return redirect("jams:console", slug=jam.slug)
    return render(request, "jams/create.html", {"form": form})


@domain_errors
def jam_home(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.VIEW_JAM)
    if not ctx.is_member:
        return jam_render(request, "jams/landing.html", ctx)
    return jam_render(request, "jams/home.html", ctx, topics=selectors.topics_for_jam(jam=ctx.jam))


@require_POST
@login_required
@domain_errors
def jam_join(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = selectors.jam_context(slug=slug, user=request.user)
    services.jam_join(user=actor_of(request), jam=ctx.jam)
    messages.success(request, _("Welcome to %(jam)s.") % {"jam": ctx.jam.title})
    return redirect(ctx.jam)


@require_POST
@login_required
@domain_errors
def jam_leave(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    membership = Membership.objects.get(jam=ctx.jam, user=actor_of(request))
    services.membership_remove(actor=actor_of(request), membership=membership)
    messages.success(request, _("You have left %(jam)s.") % {"jam": ctx.jam.title})
    return redirect("jams:list")


# --- Organizer console -------------------------------------------------------


@login_required
@domain_errors
def console(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_JAM)
    jam = ctx.jam
    if request.method == "POST" and "text_language" in request.POST:
        language = request.POST["text_language"]
        form = TextForm(request.POST, prefix=f"text-{language}")
        if form.is_valid():
            services.jam_text_set(
                actor=actor_of(request), jam=jam, language=language, **form.cleaned_data
            )
            messages.success(request, _texts_saved(language))
        else:
            form_errors_to_messages(request, form)
        return redirect("jams:console", slug=jam.slug)
    edit_form = JamEditForm(request.POST or None, instance=jam, prefix="jam")
    if request.method == "POST" and edit_form.is_valid():
        data = {name: edit_form.cleaned_data[name] for name in services.JAM_EDITABLE_FIELDS}
        services.jam_update(
            actor=actor_of(request), jam=jam, reason=edit_form.cleaned_data["reason"], **data
        )
        messages.success(request, _("Jam saved."))
        return redirect("jams:console", slug=jam.slug)
    jam.refresh_from_db()
    return jam_render(
        request,
        "jams/console.html",
        ctx,
        edit_form=edit_form,
        phase_form=PhaseForm(time_zone=jam.time_zone, prefix="phase"),
        topic_form=TopicForm(facilitator_choices=_facilitator_choices(ctx), prefix="topic"),
        topics=selectors.topics_for_jam(jam=jam),
        text_forms=_text_forms(jam, selectors.jam_texts(jam=jam)),
        audit=selectors.audit_for_jam(jam=jam, limit=50),
    )


def _text_forms(
    jam: Jam, texts: dict[str, JamText] | dict[str, TopicText]
) -> list[tuple[str, TextForm]]:
    """One small form per language other than the jam's default, filled with
    what is written in it so far."""
    forms = []
    for code, _name in settings.LANGUAGES:
        if code == jam.language:
            continue
        text = texts.get(code)
        initial = {"title": text.title, "description": text.description} if text else {}
        forms.append((code, TextForm(initial=initial, prefix=f"text-{code}")))
    return forms


def _texts_saved(language: str) -> str:
    name = get_language_info(language)["name_translated"]
    return _("The texts in %(language)s are saved.") % {"language": name}


def _facilitator_choices(ctx: JamContext) -> list[tuple[int, str]]:
    members = ctx.jam.memberships.filter(role__in=[Role.FACILITATOR, Role.ORGANIZER])
    return [(m.user_id, m.user.display_name) for m in members.select_related("user")]


@require_POST
@login_required
@domain_errors
def phase_add(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_JAM)
    form = PhaseForm(request.POST, time_zone=ctx.jam.time_zone, prefix="phase")
    if form.is_valid():
        services.phase_add(actor=actor_of(request), jam=ctx.jam, **form.cleaned_data)
        messages.success(request, _("Phase added."))
    else:
        form_errors_to_messages(request, form)
    return redirect("jams:console", slug=slug)


@login_required
@domain_errors
def phase_edit(request: HttpRequest, slug: str, phase_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_JAM)
    phase = get_object_or_404(Phase, jam=ctx.jam, pk=phase_id)
    tz = ctx.jam.time_zone
    initial = {
        "kind": phase.kind,
        "starts_at": timezone.localtime(phase.starts_at, timezone=zoneinfo.ZoneInfo(tz)),
        "ends_at": timezone.localtime(phase.ends_at, timezone=zoneinfo.ZoneInfo(tz)),
    }
    form = PhaseForm(request.POST or None, time_zone=tz, initial=initial)
    form.fields["kind"].disabled = True
    if request.method == "POST":
        if "delete" in request.POST:
            services.phase_delete(
                actor=actor_of(request), phase=phase, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("Phase removed."))
            return redirect("jams:console", slug=slug)
        if form.is_valid():
            services.phase_edit(
                actor=actor_of(request),
                phase=phase,
                starts_at=form.cleaned_data["starts_at"],
                ends_at=form.cleaned_data["ends_at"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, _("Phase rescheduled."))
            return redirect("jams:console", slug=slug)
    return jam_render(request, "jams/phase_edit.html", ctx, form=form, phase=phase)


@require_POST
@login_required
@domain_errors
def transition(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = selectors.jam_context(slug=slug, user=request.user)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        form_errors_to_messages(request, form)
        return redirect("jams:console", slug=slug)
    services.jam_transition(
        actor=actor_of(request),
        jam=ctx.jam,
        transition=form.cleaned_data["transition"],
        phase_id=form.cleaned_data["phase"],
        minutes=form.cleaned_data["minutes"],
        reason=form.cleaned_data["reason"],
    )
    messages.success(request, _("Done: the schedule is updated."))
    return redirect("jams:console", slug=slug)


@require_POST
@login_required
@domain_errors
def topic_add(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_JAM)
    form = TopicForm(request.POST, facilitator_choices=_facilitator_choices(ctx), prefix="topic")
    if form.is_valid():
        services.topic_create(
            actor=actor_of(request),
            jam=ctx.jam,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            facilitator_ids=form.cleaned_data["facilitators"],
        )
        messages.success(request, _("Topic added."))
    else:
        form_errors_to_messages(request, form)
    return redirect("jams:console", slug=slug)


@login_required
@domain_errors
def topic_edit(request: HttpRequest, slug: str, topic_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_JAM)
    topic = get_object_or_404(Topic, jam=ctx.jam, pk=topic_id)
    if request.method == "POST" and "text_language" in request.POST:
        language = request.POST["text_language"]
        text_form = TextForm(request.POST, prefix=f"text-{language}")
        if text_form.is_valid():
            services.topic_text_set(
                actor=actor_of(request), topic=topic, language=language, **text_form.cleaned_data
            )
            messages.success(request, _texts_saved(language))
        else:
            form_errors_to_messages(request, text_form)
        return redirect("jams:topic_edit", slug=slug, topic_id=topic.pk)
    initial = {"facilitators": list(topic.facilitators.values_list("id", flat=True))}
    form = TopicForm(
        request.POST or None,
        instance=topic,
        initial=initial,
        facilitator_choices=_facilitator_choices(ctx),
    )
    if request.method == "POST" and form.is_valid():
        services.topic_update(
            actor=actor_of(request),
            topic=topic,
            title=form.cleaned_data["title"],
            description=form.cleaned_data["description"],
            facilitator_ids=form.cleaned_data["facilitators"],
        )
        messages.success(request, _("Topic saved."))
        return redirect("jams:console", slug=slug)
    return jam_render(
        request,
        "jams/topic_edit.html",
        ctx,
        form=form,
        topic=topic,
        text_forms=_text_forms(ctx.jam, selectors.topic_texts(topic=topic)),
    )


# --- Members -----------------------------------------------------------------


@login_required
@domain_errors
def members(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_MEMBERS)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.invitation_create(actor=actor_of(request), jam=ctx.jam, **form.cleaned_data)
        messages.success(
            request, _("Invitation sent to %(email)s.") % {"email": form.cleaned_data["email"]}
        )
        return redirect("jams:members", slug=slug)
    return jam_render(
        request,
        "jams/members.html",
        ctx,
        form=form,
        members=selectors.members_for_jam(jam=ctx.jam),
        invitations=selectors.invitations_for_jam(jam=ctx.jam),
        role_counts=selectors.role_counts(jam=ctx.jam),
        roles=Role.choices,
    )


@require_POST
@login_required
@domain_errors
def invitation_link_create(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_MEMBERS)
    services.invitation_create(actor=actor_of(request), jam=ctx.jam)
    messages.success(request, _("A new invitation link is ready to share."))
    return redirect("jams:members", slug=slug)


@require_POST
@login_required
@domain_errors
def invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_MEMBERS)
    invitation = get_object_or_404(ctx.jam.invitations, pk=invitation_id)
    services.invitation_revoke(actor=actor_of(request), invitation=invitation)
    messages.success(request, _("Invitation revoked."))
    return redirect("jams:members", slug=slug)


@require_POST
@login_required
@domain_errors
def member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_MEMBERS)
    membership = get_object_or_404(ctx.jam.memberships, pk=membership_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        services.membership_set_role(
            actor=actor_of(request), membership=membership, **form.cleaned_data
        )
        messages.success(request, _("Role changed."))
    else:
        form_errors_to_messages(request, form)
    return redirect("jams:members", slug=slug)


@require_POST
@login_required
@domain_errors
def member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MANAGE_MEMBERS)
    membership = get_object_or_404(ctx.jam.memberships, pk=membership_id)
    services.membership_remove(
        actor=actor_of(request), membership=membership, reason=request.POST.get("reason", "")
    )
    messages.success(request, _("Member removed."))
    return redirect("jams:members", slug=slug)


@domain_errors
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_by_token(token=token)
    selectors.jams_localize([invitation.jam])
    if not invitation.usable(timezone.now()):
        return render(request, "jams/invitation.html", {"invitation": invitation, "usable": False})
    if not request.user.is_authenticated:
        return render(request, "jams/invitation.html", {"invitation": invitation, "usable": True})
    if request.method == "POST":
        services.invitation_accept(user=actor_of(request), token=token)
        messages.success(request, _("Welcome to %(jam)s.") % {"jam": invitation.jam.title})
        return redirect(invitation.jam)
    return render(request, "jams/invitation.html", {"invitation": invitation, "usable": True})
