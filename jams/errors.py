"""Domain errors with stable codes, shared by HTTP views and the WebSocket protocol."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "invalid"
    default_message: str | Promise = _("The request is not valid.")

    def __init__(self, message: str | Promise | None = None) -> None:
        self.message = str(message if message is not None else self.default_message)
        super().__init__(self.message)


class Invalid(DomainError):
    code = "invalid"


class NotFound(DomainError):
    code = "not_found"
    default_message = _("Not found.")


class LoginRequired(DomainError):
    code = "login_required"
    default_message = _("Please sign in.")


class Forbidden(DomainError):
    code = "forbidden"
    default_message = _("You may not do that in this jam.")


class PhaseClosed(DomainError):
    code = "phase_closed"
    default_message = _("That is not possible in the jam's current phase.")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    default_message = _("That change of phase is not allowed now.")


class RateLimited(DomainError):
    code = "rate_limited"
    default_message = _("Too many requests; please slow down.")


class TooLarge(DomainError):
    code = "too_large"
    default_message = _("That is too large.")


class MfaRequired(DomainError):
    code = "mfa_required"
    default_message = _("Organizers must turn on two-factor authentication first.")


class GuidelinesRequired(DomainError):
    """The jam has participation guidelines the member has not accepted yet."""

    code = "guidelines_required"
    default_message = _("Please read and accept the jam's guidelines before you post.")
