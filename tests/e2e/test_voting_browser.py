"""Voting in headless Chromium on a real server: the round page's ballot goes
over the jam socket (static/js/jam.js), without a page load, and a second
voter's page shows the turnout change live.

A deployment of its own, seeded with ``seed_demo --phase voting
--participants 2``: an open approval round (up to 3 ideas) over the demo
ideas; participant1 and participant2 have not voted yet.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import Server

from .conftest import own_server
from .test_browser import CHROMIUM_ARGS
from .test_report_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

SAVED = "Your vote is saved. You can change it until voting closes."


@pytest.fixture(scope="module")
def voting_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(
        tmp_path_factory, "voting", phase="voting", kind="uvicorn", participants=2
    ) as server:
        yield server


@pytest.fixture
def browser(voting_server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def voter_page(browser: Any, server: Server, email: str, errors: list[str]) -> Any:
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, email)
    page.goto("/jams/demo/voting/")
    page.get_by_role("link", name="Which ideas should we fund?").click()
    page.wait_for_function("() => window.jamSocket && window.jamSocket.greeted")
    return page


def turnout(page: Any) -> int:
    return int(page.locator("[data-turnout]").inner_text())


def test_a_ballot_goes_over_the_socket_and_the_turnout_follows_live(
    browser: Any, voting_server: Server
) -> None:
    errors: list[str] = []
    voter = voter_page(browser, voting_server, "participant1@example.com", errors)
    watcher = voter_page(browser, voting_server, "participant2@example.com", errors)
    before = turnout(voter)
    assert turnout(watcher) == before
    voter.evaluate("window.stillThisPage = true")  # gone if the form posted and reloaded
    ballot = voter.locator("form[data-ballot]")
    boxes = ballot.get_by_role("checkbox")
    assert boxes.count() >= 4

    # Four marks where three are allowed: refused with the reason, nothing stored.
    for i in range(4):
        boxes.nth(i).check()
    ballot.get_by_role("button", name="Save my vote").click()
    voter.locator("[data-alerts] [role=alert]").filter(has_text="at most 3").wait_for()
    assert voter.evaluate("window.stillThisPage") is True
    assert turnout(voter) == before

    # Three marks: stored, acknowledged, and the other voter's page counts it live.
    boxes.nth(3).uncheck()
    ballot.get_by_role("button", name="Save my vote").click()
    voter.locator("[data-alerts]").get_by_text(SAVED).wait_for()
    assert voter.evaluate("window.stillThisPage") is True
    # Pushed within the hub's one-second window (no page load: the page's CSP
    # also rules out string predicates, so the locator assertion polls).
    from playwright.sync_api import expect

    expect(watcher.locator("[data-turnout]")).to_have_text(str(before + 1))
    expect(voter.locator("[data-turnout]")).to_have_text(str(before + 1))
    mine = [voter.locator("[data-mine]").nth(i).inner_text() for i in range(4)]
    assert mine == ["1", "1", "1", "—"]

    # What the server stored, as a fresh page load shows it.
    voter.reload()
    boxes = voter.locator("form[data-ballot]").get_by_role("checkbox")
    assert [boxes.nth(i).is_checked() for i in range(4)] == [True, True, True, False]
    assert turnout(voter) == before + 1
    assert re.fullmatch(r"/jams/demo/voting/rounds/\d+/", voter.url.split(voting_server.url)[1])
    assert errors == []
