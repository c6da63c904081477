"""Settings shared by every environment, read from environment variables.

Development defaults need nothing installed: SQLite and the in-memory channel
layer. Production sets DATABASE_URL and REDIS_URL (see production.py).
"""

import os
from pathlib import Path

import django_stubs_ext
import environ
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

# Lets typed generics such as ModelAdmin[Jam] work at run time.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

SECRET_KEY = env("SECRET_KEY", default="dev-insecure-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # SearchVectorField (ideas.Post.search_words)
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "accounts",
    "jams",
    "ideas",
    "voting",
    "analysis",
    "community",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "jams.middleware.ViewerTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "jamsite.urls"
ASGI_APPLICATION = "jamsite.asgi.application"
WSGI_APPLICATION = "jamsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["jams.templatetags.jam_tags"],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# No persistent connections under ASGI: each sync_to_async thread would keep one.
DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A per-process psycopg pool instead: every database_sync_to_async call
    # opened a new PostgreSQL connection (a backend fork, TLS/auth, ~15-25 % of
    # a socket connect's CPU); with the pool, Django's close() hands the
    # connection back (CONN_MAX_AGE stays 0, as the pool requires). A process
    # runs at most the default thread pool's workers (min(32, cores + 4)) plus
    # the one thread-sensitive thread at once, so the default leaves room for
    # both (and for the hub's heartbeat); a smaller pool makes threads wait on
    # each other. Size PostgreSQL's max_connections for it times the processes.
    # A request waits at most DATABASE_POOL_TIMEOUT seconds for a connection,
    # then fails like a database outage (the socket answers ``unavailable``).
    # With more connections than threads, waiting at all means PostgreSQL is
    # unreachable; while it is, every session load of a handshake waits this
    # long on Channels' one thread-sensitive thread, so keep it short.
    # Health checks (one empty round trip per checkout) drop connections a
    # PostgreSQL restart killed instead of failing a request on each.
    DATABASES["default"].setdefault("OPTIONS", {})
    _pool_max = env.int(
        "DATABASE_POOL_MAX", default=max(10, min(32, (os.cpu_count() or 1) + 4) + 4)
    )
    if _pool_max > 0:
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": min(env.int("DATABASE_POOL_MIN", default=2), _pool_max),
            "max_size": _pool_max,
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=2.0),
        }
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool(
            "DATABASE_HEALTH_CHECKS", default=True
        )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock
    # at BEGIN so concurrent writers queue instead of failing to upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REDIS_URL = env("REDIS_URL", default="")
# The channel layer: "memory" (one process only), "redis-pubsub" (a group
# message is published once and each process that joined the group receives
# it once) or "redis" (channels_redis's core layer, one list push per group
# member). Default: the pub/sub layer with REDIS_URL, else memory. The
# benchmarks (docs/benchmarks.md) compare all three.
CHANNEL_LAYER = env("CHANNEL_LAYER", default="redis-pubsub" if REDIS_URL else "memory")
# redis-py's async pool refuses the 101st concurrent connection ("Too many
# connections"), so a connect storm (every socket joins its user's group)
# failed handshakes with HTTP 500 (docs/PITFALLS). Size it for storms.
REDIS_MAX_CONNECTIONS = env.int("REDIS_MAX_CONNECTIONS", default=2000)
if CHANNEL_LAYER not in ("memory", "redis", "redis-pubsub"):
    raise ValueError(f"CHANNEL_LAYER={CHANNEL_LAYER!r}: use memory, redis or redis-pubsub")
if CHANNEL_LAYER != "memory" and not REDIS_URL:
    raise ValueError(f"CHANNEL_LAYER={CHANNEL_LAYER!r} needs REDIS_URL")
if CHANNEL_LAYER == "redis-pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [{"address": REDIS_URL, "max_connections": REDIS_MAX_CONNECTIONS}]},
        }
    }
elif CHANNEL_LAYER == "redis":
    # One hub channel per process receives every event of its jams: give it
    # room for bursts (the default capacity of 100 drops silently).
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "max_connections": REDIS_MAX_CONNECTIONS}],
                "capacity": 10_000,
            },
        }
    }
else:
    # Same capacity reasoning as the core Redis layer.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 10_000, "expiry": 60},
        }
    }
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Accounts (django-allauth)
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
}
# Client IPs for rate limits: X-Forwarded-For is ignored unless the number of
# trusted proxies in front of the servers is set, so a client cannot dodge
# the login throttle by rotating the header.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
LOGIN_REDIRECT_URL = "jams:list"
LOGIN_URL = "account_login"
# Sign-up restricted to these email domains when set (an internal jam).
JAM_SIGNUP_EMAIL_DOMAINS = [d.lower() for d in env.list("JAM_SIGNUP_EMAIL_DOMAINS", default=[])]

# Email: console in development, any SMTP server from EMAIL_URL in production
# (smtp+tls://user:password@host:587).
_EMAIL_OPTIONS = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_TIMEOUT": "timeout",
}


def mailers_from(email: dict[str, object]) -> dict[str, dict[str, object]]:
    """Django 6.1's MAILERS from django-environ's parsed EMAIL_URL."""
    smtp = str(email["EMAIL_BACKEND"]).endswith("smtp.EmailBackend")
    options = {
        option: email[key]
        for key, option in _EMAIL_OPTIONS.items()
        if smtp and email.get(key) not in ("", None)
    }
    return {"default": {"BACKEND": email["EMAIL_BACKEND"], "OPTIONS": options}}


MAILERS = mailers_from(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Jam <jam@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("de", _("German")),
]
# The translation catalogs. JAM_LOCALE_DIR points makemessages at a copy
# (tests/test_i18n.py checks a fresh extraction against the committed ones).
LOCALE_PATHS = [Path(env("JAM_LOCALE_DIR", default=str(BASE_DIR / "locale")))]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Uploaded files (profile photos). In development the site serves them; in
# production let the proxy serve MEDIA_ROOT at MEDIA_URL (docs/operations.md).
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# WhiteNoise serves static files from the ASGI server itself (daphne, uvicorn).
WHITENOISE_USE_FINDERS = True

# Content-Security-Policy: no inline script anywhere; scripts carry a nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# Production flag: the system checks in jamsite/checks.py refuse DEBUG and
# the in-memory channel layer when it is set.
JAM_PRODUCTION = env.bool("JAM_PRODUCTION", default=False)
# Organizer-only actions need two-factor authentication (allauth MFA). On by
# default in production; off in development so the demo works at once.
JAM_ORGANIZER_MFA = env.bool("JAM_ORGANIZER_MFA", default=False)

# Live transport
JAM_WS_MAX_MESSAGE_BYTES = env.int("JAM_WS_MAX_MESSAGE_BYTES", default=64 * 1024)
JAM_WS_MESSAGES_PER_SECOND = env.float("JAM_WS_MESSAGES_PER_SECOND", default=5.0)
JAM_WS_MESSAGE_BURST = env.float("JAM_WS_MESSAGE_BURST", default=20.0)
# Admission control for connect storms (jams/consumers.py): at most this many
# sockets per process take their snapshot at once; one that waited longer
# than JAM_WS_CONNECT_WAIT_SECONDS for its turn is refused at once (clients
# retry with jittered backoff) instead of every handshake timing out.
JAM_WS_CONNECTS_IN_FLIGHT = env.int("JAM_WS_CONNECTS_IN_FLIGHT", default=32)
JAM_WS_CONNECT_WAIT_SECONDS = env.float("JAM_WS_CONNECT_WAIT_SECONDS", default=3.0)
# Socket tickets (jams/tickets.py): how long a member's signed pass opens
# the jam socket without the session, and how long a process may reuse a
# jam's connect snapshot (while no event has passed since it was read).
JAM_WS_TICKET_SECONDS = env.int("JAM_WS_TICKET_SECONDS", default=300)
JAM_WS_SNAPSHOT_SECONDS = env.float("JAM_WS_SNAPSHOT_SECONDS", default=2.0)
# The hub's heartbeat to sockets and its group-membership refresh (jams/hub.py).
# The heartbeat also reads each jam's latest seq and sends the events this
# process was not told of. With the in-memory layer that is the only way the
# events of other processes (the analysis worker's progress, a management
# command's import) reach this process's sockets, so it beats more often.
JAM_HUB_TICK_SECONDS = env.float(
    "JAM_HUB_TICK_SECONDS", default=3.0 if CHANNEL_LAYER == "memory" else 20.0
)
JAM_HUB_REFRESH_SECONDS = env.float("JAM_HUB_REFRESH_SECONDS", default=30.0)
# How often each process reports who is online (jams/presence.py).
JAM_HUB_PRESENCE_SECONDS = env.float("JAM_HUB_PRESENCE_SECONDS", default=5.0)
# How long each process collects turnout changes of a jam's voting rounds
# before it reads the counters and pushes them (jams/hub.py).
JAM_HUB_TURNOUT_SECONDS = env.float("JAM_HUB_TURNOUT_SECONDS", default=1.0)
JAM_SITE_URL = env("JAM_SITE_URL", default="http://127.0.0.1:8000")
# The garbage collector of server processes (jamsite/serverprocess.py): the
# objects of start-up are frozen out of its scans, and collections wait for
# this many allocations ("gen0,gen1,gen2"; Python's own are 700,10,10, empty
# keeps them): a connect storm spent half its CPU in full collections.
JAM_GC_FREEZE = env.bool("JAM_GC_FREEZE", default=True)
JAM_GC_THRESHOLD = env("JAM_GC_THRESHOLD", default="50000,10,10")

# Background tasks (django.tasks). Django 6.1 ships only the immediate and the
# dummy backend, so by default the task is only recorded: the AnalysisRun row
# is the durable queue, executed by `manage.py run_analysis_worker`, which also
# re-queues live jams every ANALYSIS_LIVE_RERUN_MINUTES (docs/analysis.md).
TASKS = {
    "default": {"BACKEND": env("TASKS_BACKEND", default="django.tasks.backends.dummy.DummyBackend")}
}
ANALYSIS_LIVE_RERUN_MINUTES = env.int("ANALYSIS_LIVE_RERUN_MINUTES", default=15)

# Community (docs/community.md): an idea without replies joins the help radar
# after this many minutes (per jam, this is the default); new members get
# notification emails in this mode (immediate, digest or off).
COMMUNITY_HELP_UNANSWERED_MINUTES = env.int("COMMUNITY_HELP_UNANSWERED_MINUTES", default=30)
COMMUNITY_EMAIL_DEFAULT = env("COMMUNITY_EMAIL_DEFAULT", default="digest")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
