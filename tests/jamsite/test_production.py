"""Production settings: refuse to start without secrets, pass check --deploy,
refuse DEBUG and the in-memory channel layer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "jamsite.settings.production",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "jam.example.com",
    "DATABASE_URL": "postgres://jam@db.example.com:5432/jam",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "EMAIL_URL": "smtp+tls://jam:secret@smtp.example.com:587",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in PRODUCTION and k not in ("DEBUG", "CI")
    }
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_check_deploy_is_clean() -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_refuses_to_start_without_a_mail_server() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "EMAIL_URL"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr


def test_refuses_the_in_memory_layer() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "REDIS_URL"}
    result = manage("check", "--deploy", **env)
    assert result.returncode != 0
    assert "jam.E002" in result.stderr


def test_a_production_flag_refuses_debug() -> None:
    result = manage(
        "check",
        "--deploy",
        DJANGO_SETTINGS_MODULE="jamsite.settings.dev",
        JAM_PRODUCTION="1",
        DEBUG="1",
        REDIS_URL=PRODUCTION["REDIS_URL"],
    )
    assert result.returncode != 0
    assert "jam.E001" in result.stderr
    assert "jam.E002" not in result.stderr
