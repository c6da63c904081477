"""How domain errors become HTTP responses, for every jam view."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.forms import BaseForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User

from .errors import DomainError, Forbidden, LoginRequired, MfaRequired, NotFound
from .rules import Action, jam_check, jam_require
from .selectors import JamContext, jam_context, phase_payload

View = Callable[..., HttpResponse]


def domain_errors(view: View) -> View:
    """Map domain errors: not found -> 404, sign-in -> login redirect,
    forbidden -> 403 page; anything else on a POST goes back with a message,
    on a GET as a 400 page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
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
        except DomainError as exc:
            if request.method == "POST":
                messages.error(request, exc.message)
                return redirect(_back(request))
            return render(request, "400.html", {"message": exc.message}, status=400)

    return wrapper


def _back(request: HttpRequest) -> str:
    """Where a refused form goes back to: its ``next``, else the page it was
    posted from, else its own address."""
    for candidate in (request.POST.get("next"), request.META.get("HTTP_REFERER")):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return request.path


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


def jam_render(request: HttpRequest, template: str, ctx: JamContext, **extra: Any) -> HttpResponse:
    """Render a jam page with what every jam page needs: the jam, the
    viewer's role, the stage and countdown, and which actions they may take."""
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
    return render(request, template, context)


def form_errors_to_messages(request: HttpRequest, form: BaseForm) -> None:
    """A refused form on a page that redirects: its errors as messages."""
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))
