"""Voting pages: rounds, the organizer's ballot, the voter's form, the results.

They work without JavaScript (forms post); static/js/jam.js only keeps the
turnout figure live.
"""

from __future__ import annotations

import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ideas.models import Idea
from jams.responses import (
    actor_of,
    domain_errors,
    form_errors_to_messages,
    jam_for_request,
    jam_render,
)
from jams.rules import RESULTS_READY, Action, jam_check, jam_require
from jams.selectors import JamContext

from . import selectors, services
from .forms import BallotForm, IdeaPickForm, PairForm, RoundForm, ShortlistForm
from .methods import method_statement
from .models import Method, ResultsVisibility, VotingRound


@login_required
@domain_errors
def index(request: HttpRequest, slug: str) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    form = RoundForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            voting_round = services.round_create(
                actor=actor_of(request),
                jam=ctx.jam,
                title=form.cleaned_data["title"],
                method=form.cleaned_data["method"],
                parameters=form.parameters(),
                results_visibility=form.cleaned_data["results_visibility"],
            )
            messages.success(request, _("Round created. Put ideas on its ballot next."))
            return redirect("voting:ballot", slug=slug, round_id=voting_round.pk)
        form_errors_to_messages(request, form)
    rounds = selectors.rounds_for_jam(jam=ctx.jam)
    return jam_render(request, "voting/index.html", ctx, rounds=rounds, form=form)


@login_required
@domain_errors
def ballot_edit(request: HttpRequest, slug: str, round_id: int) -> HttpResponse:
    """The organizer's ballot: add and remove ideas, shortlist in bulk."""
    ctx = jam_for_request(request, slug, Action.MANAGE_JAM)
    voting_round = selectors.round_in_jam(jam=ctx.jam, round_id=round_id)
    if request.method == "POST":
        _ballot_post(request, ctx, voting_round)
        return redirect("voting:ballot", slug=slug, round_id=round_id)
    ideas = selectors.ballot_ideas(round=voting_round)
    candidates = selectors.shortlist_candidates(jam=ctx.jam, exclude=[i.pk for i in ideas])
    return jam_render(
        request,
        "voting/ballot.html",
        ctx,
        round=voting_round,
        ideas=ideas,
        candidates=candidates,
        shortlist_form=ShortlistForm(),
        statement=method_statement(voting_round.method, voting_round.parameters),
    )


def _ballot_post(request: HttpRequest, ctx: JamContext, voting_round: VotingRound) -> None:
    actor = actor_of(request)
    if "shortlist" in request.POST:
        shortlist = ShortlistForm(request.POST)
        if not shortlist.is_valid():
            form_errors_to_messages(request, shortlist)
            return
        added = services.shortlist_top(
            actor=actor,
            round=voting_round,
            by=shortlist.cleaned_data["by"],
            n=shortlist.cleaned_data["n"],
        )
        messages.success(request, _("%(n)d ideas added to the ballot.") % {"n": len(added)})
        return
    pick = IdeaPickForm(request.POST)
    if not pick.is_valid():
        form_errors_to_messages(request, pick)
        return
    idea = get_object_or_404(Idea, jam=ctx.jam, pk=pick.cleaned_data["idea"])
    if pick.cleaned_data["remove"]:
        services.ballot_item_remove(actor=actor, round=voting_round, idea=idea)
        messages.success(request, _("Removed from the ballot."))
    else:
        services.ballot_item_add(actor=actor, round=voting_round, idea=idea)
        messages.success(request, _("Added to the ballot."))


@login_required
@domain_errors
def round_vote(request: HttpRequest, slug: str, round_id: int) -> HttpResponse:
    """The voter's page: their own ballot, the form, the turnout."""
    ctx = jam_for_request(request, slug, Action.READ)
    voting_round = selectors.round_in_jam(jam=ctx.jam, round_id=round_id)
    actor = actor_of(request)
    ideas = selectors.ballot_ideas(round=voting_round, topics=False)
    pairwise = voting_round.method == Method.PAIRWISE
    ballot_form = functools.partial(
        BallotForm, method=voting_round.method, parameters=voting_round.parameters, ideas=ideas
    )
    form = None
    if not pairwise and request.method == "POST":
        # A bound form shows what was posted: the voter's saved ballot is
        # read below, only when the page is drawn (a GET or a refused post).
        form = ballot_form(request.POST)
        if form.is_valid():
            services.vote_cast(actor=actor, round=voting_round, choices=form.choices(), context=ctx)
            messages.success(
                request, _("Your vote is saved. You can change it until voting closes.")
            )
            return redirect(voting_round.get_absolute_url())
        form_errors_to_messages(request, form)
    own = {} if pairwise else selectors.own_ballot(round=voting_round, voter=actor)
    if not pairwise and form is None:
        form = ballot_form(initial=BallotForm.initial_for(own, voting_round.method))
    can_vote = jam_check(ctx, Action.VOTE)
    pair = None
    judged = 0
    if pairwise and can_vote:
        pair = selectors.pair_for_voter(round=voting_round, voter=actor)
        judged = selectors.own_judgment_count(round=voting_round, voter=actor)
    stage = ctx.state().stage
    live = voting_round.results_visibility == ResultsVisibility.LIVE or stage in RESULTS_READY
    totals = selectors.live_totals(round=voting_round) if live and not pairwise else {}
    return jam_render(
        request,
        "voting/round.html",
        ctx,
        round=voting_round,
        ideas=ideas,
        rows=[
            {"idea": idea, "mine": own.get(idea.pk), "totals": totals.get(idea.pk)}
            for idea in ideas
        ],
        form=form,
        pair=pair,
        judged=judged,
        can_vote=can_vote,
        show_totals=live and not pairwise,
        turnout=voting_round.voters,
        statement=method_statement(voting_round.method, voting_round.parameters),
    )


@require_POST
@login_required
@domain_errors
def pair_judge(request: HttpRequest, slug: str, round_id: int) -> HttpResponse:
    ctx = jam_for_request(request, slug, Action.READ)
    voting_round = selectors.round_in_jam(jam=ctx.jam, round_id=round_id)
    form = PairForm(request.POST)
    if form.is_valid():
        services.pairwise_judge(
            actor=actor_of(request),
            round=voting_round,
            first=form.cleaned_data["first"],
            second=form.cleaned_data["second"],
            outcome=form.cleaned_data["choice"],
            context=ctx,
        )
    else:
        form_errors_to_messages(request, form)
    return redirect(voting_round.get_absolute_url())


@login_required
@domain_errors
def results(request: HttpRequest, slug: str, round_id: int) -> HttpResponse:
    """The stored ranking; computed here the first time it is asked for."""
    ctx = jam_for_request(request, slug, Action.READ)
    voting_round = selectors.round_in_jam(jam=ctx.jam, round_id=round_id)
    jam_require(ctx, Action.READ_REPORT)
    view = selectors.ranking_for_round(round=voting_round)
    if view is None:
        services.ranking_compute(round=voting_round)
        view = selectors.ranking_for_round(round=voting_round)
    return jam_render(request, "voting/results.html", ctx, round=voting_round, ranking=view)
