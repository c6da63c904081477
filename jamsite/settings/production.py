"""Production: secrets required, HTTPS, PostgreSQL and Redis.

`manage.py check --deploy` passes with these settings; the system checks in
jamsite/checks.py refuse DEBUG and the in-memory channel layer here.
"""

from .base import *  # noqa: F403
from .base import env, mailers_from

SECRET_KEY = env("SECRET_KEY")  # no default: refuses to start without it
# Required too: sign-up verification, password resets and invitations are mailed.
MAILERS = mailers_from(env.email_url("EMAIL_URL"))
DEBUG = False
JAM_PRODUCTION = True
JAM_ORGANIZER_MFA = env.bool("JAM_ORGANIZER_MFA", default=True)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"
