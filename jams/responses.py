"""How domain errors become HTTP responses, for every jam view."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User

from .errors import DomainError, Forbidden, LoginRequired, MfaRequired, NotFound

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
