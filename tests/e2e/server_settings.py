"""Settings of the server processes that tests/servers.py starts: the
development settings (DEBUG off through the environment), a fast password
hasher, and a channel-layer prefix of the test run's own.

Redis pub/sub channels are global to a Redis server, whatever the database
number, so two runs sharing a Redis would otherwise hear each other's
``jam.<id>`` groups (both seed a jam with the same id).
"""

from jamsite.settings.dev import *  # noqa: F403
from jamsite.settings.dev import CHANNEL_LAYERS, env

# Seeding and signing in hash passwords; the slow hasher adds seconds per
# test run and tests nothing here (as in jamsite/settings/test.py).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

_prefix = env("JAM_E2E_LAYER_PREFIX", default="")
if _prefix and CHANNEL_LAYERS["default"]["BACKEND"].startswith("channels_redis"):
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = _prefix
