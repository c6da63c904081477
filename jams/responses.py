"""How domain errors become HTTP responses, for every jam view."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from accounts.models import User

from .errors import (
    DomainError,
    Forbidden,
    GuidelinesRequired,
    LoginRequired,
    MfaRequired,
    NotFound,
)
from .models import Topic
from .rules import Action, jam_check, jam_require
from .selectors import JamContext, jam_context, phase_payload, topics_localize

View = Callable[..., HttpResponseBase]


def domain_errors(view: View) -> View:
    """Map domain errors: not found -> 404, sign-in -> login redirect,
    forbidden -> 403 page; anything else on a POST goes back with a message,
    on a GET as a 400 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except LoginRequired:
            return redirect_to_login(request.get_full_path())
        except Forbidden as exc:
            return render(request, "403.html", {"message": exc.message}, status=403)
        except MfaRequired as exc:
            messages.warning(request, exc.message)
            return redirect("mfa_index")
        except GuidelinesRequired as exc:
            messages.info(request, exc.message)
            guidelines = reverse("community:guidelines", kwargs={"slug": kwargs["slug"]})
            return redirect(f"{guidelines}?{urlencode({'next': back_to(request)})}")
        except DomainError as exc:
            if request.method == "POST":
                messages.error(request, exc.message)
                return redirect(back_to(request))
            return render(request, "400.html", {"message": exc.message}, status=400)

    return wrapper


def back_to(request: HttpRequest, default: str | None = None) -> str:
    """Where a form goes back to: its ``next``, else the page it was posted
    from, else ``default`` or its own address. Only addresses on this site
    (no open redirect), and only a path from the root or a full URL: a bare
    word such as ``0`` would be taken by ``redirect()`` for a view name
    (NoReverseMatch, a server error)."""
    for raw in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        candidate = (raw or "").strip()
        if candidate.startswith(("/", "http://", "https://")) and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return default or request.path


def actor_of(request: HttpRequest) -> User:
    """The signed-in user acting in this request, or ``LoginRequired``."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise LoginRequired
    return user


def jam_for_request(request: HttpRequest, slug: str, action: Action) -> JamContext:
    """The jam by slug as the requesting user sees it, if they may ``action``."""
    ctx = jam_context(slug=slug, user=request.user)
    jam_require(ctx, action)
    return ctx


def viewer_time_zone(ctx: JamContext) -> zoneinfo.ZoneInfo:
    """Where a jam page shows its times: the viewer's own time zone if they
    chose one, else the jam's."""
    chosen = getattr(ctx.user, "time_zone", "") if ctx.user.is_authenticated else ""
    return zoneinfo.ZoneInfo(chosen or ctx.jam.time_zone)


def jam_render(
    request: HttpRequest, template: str, ctx: JamContext, status: int = 200, **extra: Any
) -> HttpResponse:
    """Render a jam page with what every jam page needs: the jam, the
    viewer's role, the stage and countdown, and which actions they may take,
    with times in the viewer's time zone. A ``topic`` in ``extra`` is shown
    in the viewer's language (jams.selectors.topics_localize)."""
    topic = extra.get("topic")
    if isinstance(topic, Topic) and topic.localized is None:
        topics_localize([topic], jam=ctx.jam)
    state = ctx.state()
    context = {
        "jam": ctx.jam,
        "ctx": ctx,
        "role": ctx.role,
        "state": state,
        "phase_payload": phase_payload(state),
        "now": timezone.now(),
        "can": {action.value: jam_check(ctx, action) for action in Action},
        **extra,
    }
    with timezone.override(viewer_time_zone(ctx)):
        return render(request, template, context, status=status)


def form_errors_to_messages(request: HttpRequest, form: BaseForm) -> None:
    """A refused form on a page that redirects: its errors as messages."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))
