"""Topic and thread pages. They work without JavaScript (forms post); the
live layer (static/js/jam.js) adds new posts and counts as they happen."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jams.protocol import MAX_ID
from jams.responses import (
    actor_of,
    back_to,
    domain_errors,
    form_errors_to_messages,
    jam_for_request,
    jam_render,
)
from jams.rules import Action, jam_check
from jams.selectors import topics_localize
from jams.services import alert_send

from . import search as post_search
from . import selectors, services
from .forms import (
    AlertForm,
    EditForm,
    IdeaForm,
    MergeForm,
    ReactForm,
    ReasonForm,
    ReplyForm,
    SearchForm,
)
from .models import Idea, Post
from .templatetags.thread_tags import TreeSlot


def _client_id(form: IdeaForm | ReplyForm) -> str | None:
    value = form.cleaned_data.get("client_id")
    return str(value) if value else None


@domain_errors
def topic(request: HttpRequest, slug: str, topic_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    topic = get_object_or_404(ctx.jam.topics.prefetch_related("facilitators"), pk=topic_id)
    form = IdeaForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            written = services.idea_create(
                actor=actor_of(request),
                topic=topic,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                client_id=str(form.cleaned_data["client_id"])
                if form.cleaned_data["client_id"]
                else None,
            )
            return redirect("ideas:idea", slug=slug, idea_id=written.idea_id)
        form_errors_to_messages(request, form)
    staff = jam_check(ctx, Action.MODERATE)
    ideas = selectors.ideas_for_topic(topic=topic, staff=staff)
    return jam_render(request, "ideas/topic.html", ctx, topic=topic, ideas=ideas, form=form)


@domain_errors
def idea(request: HttpRequest, slug: str, idea_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    idea = get_object_or_404(
        Idea.objects.select_related("topic", "merged_into"), jam=ctx.jam, pk=idea_id
    )
    staff = jam_check(ctx, Action.MODERATE)
    if idea.hidden_at is not None and not staff:
        return jam_render(request, "ideas/hidden.html", ctx, idea=idea)
    form = ReplyForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            parent = None
            if form.cleaned_data["parent"]:
                parent = get_object_or_404(Post, idea=idea, pk=form.cleaned_data["parent"])
            written = services.reply_create(
                actor=actor_of(request),
                idea=idea,
                parent=parent,
                body=form.cleaned_data["body"],
                client_id=str(form.cleaned_data["client_id"])
                if form.cleaned_data["client_id"]
                else None,
            )
            return redirect(f"{idea.get_absolute_url()}#post-{written.id}")
        form_errors_to_messages(request, form)
    thread = selectors.thread_for_idea(idea=idea, user_id=request.user.pk)
    tree_slot = TreeSlot()
    response = jam_render(
        request, "ideas/idea.html", ctx, idea=idea, thread=thread, staff=staff, form=form,
        merge_form=MergeForm(), reasons=ReasonForm(), tree_slot=tree_slot,
    )  # fmt: skip
    return tree_slot.fill(response)


@login_required
@domain_errors
def post_edit(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.POST)
    post = get_object_or_404(Post.objects.select_related("idea"), jam=ctx.jam, pk=post_id)
    initial = {"body": post.body, "title": post.idea.title if post.is_opening else ""}
    form = EditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.post_edit(
            actor=actor_of(request),
            post=post,
            body=form.cleaned_data["body"],
            title=form.cleaned_data["title"] if post.is_opening else None,
        )
        messages.success(request, _("Your post is updated."))
        return redirect(post.get_absolute_url())
    return jam_render(request, "ideas/edit.html", ctx, post=post, form=form)


def _post_for(request: HttpRequest, slug: str, post_id: int) -> Post:
    ctx = jam_for_request(request, slug, Action.READ)
    return get_object_or_404(Post.objects.select_related("idea", "jam"), jam=ctx.jam, pk=post_id)


@require_POST
@login_required
@domain_errors
def post_react(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    post = _post_for(request, slug, post_id)
    form = ReactForm(request.POST)
    if form.is_valid():
        services.reaction_set(actor=actor_of(request), post=post, value=form.cleaned_data["value"])
    else:
        form_errors_to_messages(request, form)
    return redirect(post.get_absolute_url())


@require_POST
@login_required
@domain_errors
def post_flag(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    post = _post_for(request, slug, post_id)
    form = ReasonForm(request.POST)
    form.is_valid()
    services.post_flag(
        actor=actor_of(request), post=post, reason=form.cleaned_data.get("reason", "")
    )
    messages.success(request, _("Thank you. A facilitator will look at it."))
    return redirect(post.get_absolute_url())


@require_POST
@login_required
@domain_errors
def post_hide(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    post = _post_for(request, slug, post_id)
    form = ReasonForm(request.POST)
    form.is_valid()
    reason = form.cleaned_data.get("reason", "")
    if "restore" in request.POST:
        services.post_restore(actor=actor_of(request), post=post, reason=reason)
        messages.success(request, _("Post restored."))
    else:
        services.post_hide(actor=actor_of(request), post=post, reason=reason)
        messages.success(request, _("Post hidden."))
    return redirect(back_to(request, post.get_absolute_url()))


@require_POST
@login_required
@domain_errors
def idea_pin(request: HttpRequest, slug: str, idea_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    idea = get_object_or_404(Idea, jam=ctx.jam, pk=idea_id)
    services.idea_pin(actor=actor_of(request), idea=idea, pinned=idea.pinned_at is None)
    return redirect(idea.get_absolute_url())


@require_POST
@login_required
@domain_errors
def idea_merge(request: HttpRequest, slug: str, idea_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    idea = get_object_or_404(Idea, jam=ctx.jam, pk=idea_id)
    form = MergeForm(request.POST)
    if not form.is_valid():
        form_errors_to_messages(request, form)
        return redirect(idea.get_absolute_url())
    into = get_object_or_404(Idea, jam=ctx.jam, pk=form.cleaned_data["into"])
    services.idea_merge(
        actor=actor_of(request), idea=idea, into=into, reason=form.cleaned_data["reason"]
    )
    messages.success(request, _("Merged into “%(title)s”.") % {"title": into.title})
    return redirect(into.get_absolute_url())


@login_required
@domain_errors
def moderation(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.MODERATE)
    if request.method == "POST":
        post_id = request.POST.get("post", "")
        if not post_id.isdigit() or int(post_id) > MAX_ID:
            raise Http404
        post = get_object_or_404(Post, jam=ctx.jam, pk=int(post_id))
        services.flags_resolve(actor=actor_of(request), post=post)
        messages.success(request, _("Flags dismissed."))
        return redirect("ideas:moderation", slug=slug)
    queue = selectors.flag_queue(jam_id=ctx.jam.pk)
    return jam_render(request, "ideas/moderation.html", ctx, queue=queue, reasons=ReasonForm())


@require_POST
@login_required
@domain_errors
def alert(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.ALERT)
    form = AlertForm(request.POST)
    if form.is_valid():
        alert_send(actor=actor_of(request), jam=ctx.jam, text=form.cleaned_data["text"])
        messages.success(request, _("Alert sent."))
    else:
        form_errors_to_messages(request, form)
    return redirect(back_to(request, ctx.jam.get_absolute_url()))


@domain_errors
def search(request: HttpRequest, slug: str) -> HttpResponse:
    """The jam's visible posts that have some words, a page at a time."""
    ctx = jam_for_request(request, slug, Action.READ)
    topics = list(ctx.jam.topics.all())
    topics_localize(topics, jam=ctx.jam)
    form = SearchForm(request.GET or None, topics=topics)
    results = None
    if form.is_valid() and form.cleaned_data["q"].terms:
        results = post_search.search(
            jam=ctx.jam,
            query=form.cleaned_data["q"],
            topics=topics,
            topic_id=form.cleaned_data["topic"],
            order=form.cleaned_data["order"],
            page=request.GET.get("page"),
            over_time=form.cleaned_data["when"],
        )
    return jam_render(request, "ideas/search.html", ctx, form=form, results=results)
