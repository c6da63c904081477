"""Development: DEBUG on, console email, SQLite and the in-memory layer by default."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
WHITENOISE_AUTOREFRESH = DEBUG
