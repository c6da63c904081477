"""Show times in the signed-in member's own time zone on every page."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone


class ViewerTimeZoneMiddleware:
    """Activate the member's chosen time zone for the request; without one
    pages show the site's (UTC), and jam pages the jam's
    (jams.responses.jam_render)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        chosen = getattr(user, "time_zone", "") if user and user.is_authenticated else ""
        if not chosen:
            return self.get_response(request)
        timezone.activate(zoneinfo.ZoneInfo(chosen))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
