"""The jam wall in headless Chromium against a real server: posts appear
live, and after the wall's socket is cut (offline, socket closed) it
reconnects by itself, resumes, and shows what it missed, without a reload
and without duplicates. No console errors or CSP violations."""

from __future__ import annotations

from typing import Any

import pytest

from .test_browser import (  # noqa: F401 - fixtures
    RECONNECT_MS,
    Person,
    browser,
    people,
    post_idea,
    server,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]


def on_wall(person: Person, title: str) -> Any:
    return person.page.locator("[data-wall-posts] .wall-post", has_text=title)


def test_the_wall_recovers_from_a_dropped_socket(people, server, artifacts) -> None:  # noqa: F811
    alice, bob = people["alice"], people["bob"]
    for person in (alice, bob):
        sign_in(person)
    bob.page.goto("/jams/demo/")
    topic_url = bob.page.locator(".cards a").first.get_attribute("href")
    assert topic_url and "/topics/" in topic_url
    bob.page.goto(topic_url)
    bob.page.locator("body[data-connection=online]").wait_for(state="attached")

    alice.page.goto("/jams/demo/wall/")
    alice.page.locator("body[data-connection=online]").wait_for(state="attached")
    alice.page.evaluate("window.wallMarker = 'no reload'")
    # Subscribed to every topic of the jam from the hello snapshot.
    assert alice.page.evaluate("window.wallSocket.topics.size") >= 1
    alice.shot(artifacts, "wall-1-open")

    post_idea(bob, "Rooftop gardens on libraries")
    on_wall(alice, "Rooftop gardens on libraries").wait_for()

    alice.phase = "cut"
    alice.context.set_offline(True)
    alice.page.evaluate("window.wallSocket.ws.close()")
    alice.page.locator("body[data-connection=offline]").wait_for(state="attached")
    post_idea(bob, "Water fountains in every park")
    post_idea(bob, "Late opening for swimming pools")
    assert on_wall(alice, "Water fountains").count() == 0
    alice.shot(artifacts, "wall-2-cut")

    alice.context.set_offline(False)
    alice.page.locator("body[data-connection=online]").wait_for(
        state="attached", timeout=RECONNECT_MS
    )
    alice.phase = "normal"
    for title in ("Water fountains in every park", "Late opening for swimming pools"):
        on_wall(alice, title).wait_for()
    assert alice.page.evaluate("window.wallMarker") == "no reload"
    for title in ("Rooftop gardens", "Water fountains", "Late opening"):
        assert on_wall(alice, title).count() == 1  # no duplicates
    alice.shot(artifacts, "wall-3-restored")

    assert alice.errors() == []
    assert bob.errors() == []
