from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from jams.responses import actor_of, domain_errors, form_errors_to_messages

from .forms import DeleteAccountForm, PhotoForm, ProfileForm, PublicProfileForm
from .selectors import account_data
from .services import (
    account_delete,
    user_language_set,
    user_photo_remove,
    user_photo_set,
    user_profile_update,
)


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Switch the interface language; remembered on the account when signed in."""
    language = request.POST.get("language", "")
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target)
    if language and check_for_language(language):
        if request.user.is_authenticated:
            user_language_set(user=actor_of(request), language=language)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
        )
    return response


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        user_profile_update(user=user, **form.cleaned_data)
        messages.success(request, _("Your settings are saved."))
        return redirect("accounts:profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "public_profile_form": PublicProfileForm(instance=user),
            "photo_form": PhotoForm(),
        },
    )


@require_POST
@login_required
@domain_errors
def photo(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    if "remove" in request.POST:
        user_photo_remove(user=user)
        messages.success(request, _("Your photo is removed."))
        return redirect("accounts:profile")
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        user_photo_set(user=user, upload=form.cleaned_data["photo"])
        messages.success(request, _("Your photo is saved."))
    else:
        form_errors_to_messages(request, form)
    return redirect("accounts:profile")


@login_required
def data_download(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    body = json.dumps(account_data(user=user), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="jam-my-data-{stamp}.json"'
    return response


@login_required
def delete(request: HttpRequest) -> HttpResponse:
    user = actor_of(request)
    form = DeleteAccountForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        logout(request)
        account_delete(user=user)
        messages.success(request, _("Your account is deleted. What you wrote stays, unsigned."))
        return redirect("jams:list")
    return render(request, "accounts/delete.html", {"form": form})
