"""Fixtures for tests against real server processes (tests/servers.py).

One prepared database per test session (migrated and seeded with the demo
jam); each module starts the server processes it needs and stops them at the
end. Server logs land in the session's temporary directory; a failing test
prints their tails.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Deployment, Server

PASSWORD = "e2e-Jam-pass-2026"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def e2e_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def deployment(e2e_workdir: Path) -> Iterator[Deployment]:
    """The database (and Redis slice, when REDIS_URL is set) the server
    processes of this session share, migrated and seeded."""
    deployment = Deployment.create(e2e_workdir, password=PASSWORD)
    try:
        deployment.prepare()
        yield deployment
    finally:
        deployment.close()
        for log in e2e_workdir.glob("*.log"):
            shutil.copy(log, ARTIFACTS / f"server-{log.name}")


@contextlib.contextmanager
def own_server(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *,
    phase: str,
    kind: str = "daphne",
    participants: int = 0,
) -> Iterator[Server]:
    """A deployment of a module's own, seeded in ``phase``, and one server
    process on it, for tests that need the demo jam in another phase."""
    deployment = Deployment.create(tmp_path_factory.mktemp(f"e2e-{name}"), password=PASSWORD)
    try:
        deployment.prepare(participants=participants, phase=phase)
        yield deployment.server(kind, name=f"{kind}-{name}")
    finally:
        deployment.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots and copies of server logs for humans (gitignored)."""
    return ARTIFACTS


@contextlib.contextmanager
def chromium_page(base_url: str, **context_options: Any) -> Iterator[tuple[Any, list[str]]]:
    """A page of headless Chromium on ``base_url`` and the errors it logs to the
    console (each with the URL it came from) or raises."""
    import shutil

    from playwright.sync_api import sync_playwright

    from .test_browser import CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(base_url=base_url, **context_options)
        context.set_default_timeout(10_000)
        page = context.new_page()
        errors: list[str] = []
        page.on(
            "console",
            lambda m: m.type == "error" and errors.append(f"{m.text} ({m.location.get('url')})"),
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page, errors
        context.close()
        browser.close()


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Through the real allauth form."""
    page.goto("/accounts/login/")
    form = page.locator("form").filter(has=page.locator("input[name=login]"))
    form.locator("input[name=login]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
