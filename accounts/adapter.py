"""allauth adapter: sign-up limited to the configured email domains."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def email_domain_allowed(email: str) -> bool:
    domains = settings.JAM_SIGNUP_EMAIL_DOMAINS
    if not domains:
        return True
    domain = email.rsplit("@", 1)[-1].lower()
    return domain in domains


class AccountAdapter(DefaultAccountAdapter):
    def clean_email(self, email: str) -> str:
        email = super().clean_email(email)
        if not email_domain_allowed(email):
            raise ValidationError(
                _("Sign-up is limited to addresses at: %(domains)s.")
                % {"domains": ", ".join(settings.JAM_SIGNUP_EMAIL_DOMAINS)}
            )
        return email
