"""System checks that keep a production deployment honest."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def production_settings_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if not getattr(settings, "JAM_PRODUCTION", False):
        return []
    errors: list[checks.CheckMessage] = []
    if settings.DEBUG:
        errors.append(
            checks.Error("DEBUG must be off in production.", id="jam.E001", hint="Unset DEBUG.")
        )
    backend = str(settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", ""))
    if backend.endswith("InMemoryChannelLayer"):
        errors.append(
            checks.Error(
                "The in-memory channel layer makes every server process an island.",
                hint="Set REDIS_URL so the processes share a Redis channel layer.",
                id="jam.E002",
            )
        )
    if str(settings.DATABASES["default"]["ENGINE"]).endswith("sqlite3"):
        errors.append(
            checks.Warning(
                "SQLite in production serializes every write.",
                hint="Set DATABASE_URL to a PostgreSQL database.",
                id="jam.W003",
            )
        )
    return errors
