"""An XSS corpus in idea titles, bodies, replies, a display name and alerts
never executes in headless Chromium, on the pages people use (topic, thread,
a live alert, the member list); the report export keeps it as data.

Every payload's effect would be ``window.__xss = true`` (or a dialog); the
test asserts it stays undefined, no dialog opened, and no element carries an
inline event handler or a ``javascript:`` link.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import Deployment, LiveSocket, Server

from .conftest import sign_in
from .test_browser import CHROMIUM_ARGS
from .test_two_servers import login

pytestmark = [pytest.mark.browser, pytest.mark.server]

X = "window.__xss=true"
PAYLOADS = [
    f"<script>{X}</script>",
    f'<img src=x onerror="{X}">',
    f"<svg onload={X}>",
    f'"><img src=x onerror={X}>',
    f"'><svg/onload={X}>",
    f"[click me](javascript:{X})",
    f'<a href="javascript:{X}">link</a>',
    f"javascript:{X}",
    '<iframe srcdoc="<script>parent.__xss=true</script>">',
    f'<details open ontoggle="{X}">x</details>',
    f"<scr<script>ipt>{X}</script>",
    f"</textarea><script>{X}</script>",
    f'<math><mi xlink:href="javascript:{X}">m</mi></math>',
    f"\uff1cscript\uff1e{X}\uff1c/script\uff1e",  # fullwidth brackets
    f"\\u003cscript\\u003e{X}\\u003c/script\\u003e",
    "<img src=x onerror=\u0061lert(1)>",
    "<style>body{display:none}</style>{{7*7}}",
]
DISPLAY_NAME = f'Eve<img src=x onerror="{X}">'


@pytest.fixture(scope="module")
def server(deployment: Deployment) -> Iterator[Server]:
    deployment.manage(
        "shell",
        "-c",
        "from accounts.models import User; "
        f"User.objects.filter(email='bob@example.com').update(name={DISPLAY_NAME!r})",
    )
    server = deployment.server("daphne", name="daphne-xss")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


async def plant(server: Server) -> dict[str, Any]:
    """Bob posts every payload as an idea (title and body) and as replies."""
    sid = await login(server, "bob@example.com")
    bob = await LiveSocket.open(server, sid)
    try:
        topic = bob.hello["topics"][3]["id"]
        ideas = []
        for payload in PAYLOADS:
            ack = await bob.post_idea(topic=topic, title=payload[:200], body=payload)
            ideas.append(ack["idea"])
            await asyncio.sleep(0.25)  # within the socket's rate limit
        for payload in PAYLOADS:
            await bob.send(type="post", client_id=str(uuid.uuid4()), idea=ideas[0], body=payload)
            await bob.receive_until("ack")
            await asyncio.sleep(0.25)
        return {"topic": topic, "idea": ideas[0]}
    finally:
        await bob.close()


async def send_alerts(server: Server) -> None:
    sid = await login(server, "facilitator@example.com")
    felix = await LiveSocket.open(server, sid)
    try:
        for payload in PAYLOADS[:8]:
            await felix.send(type="alert", client_id=str(uuid.uuid4()), text=payload[:280])
            await felix.receive_until("ack")
            await asyncio.sleep(0.25)
    finally:
        await felix.close()


def in_thread(coroutine: Any) -> Any:
    """Run a coroutine beside Playwright's own event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def signed_in(browser: Any, server: Server, email: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(page, email)
    return context, page, dialogs


INERT = """() => {
  const handlers = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on')) handlers.push(el.tagName + ' ' + a.name);
      if (['href', 'src', 'action', 'formaction', 'xlink:href'].includes(a.name)
          && /^\\s*javascript:/i.test(a.value)) handlers.push(el.tagName + ' ' + a.value);
    }
  }
  return {xss: window.__xss, handlers: handlers,
          scripts: [...document.scripts].filter(s => !s.src).length};
}"""


def assert_inert(page: Any, dialogs: list[str], where: str) -> None:
    page.wait_for_timeout(300)  # give any onload/onerror a chance to fire
    state = page.evaluate(INERT)
    assert state["xss"] is None, (where, state)
    assert state["handlers"] == [], (where, state)
    assert dialogs == [], (where, dialogs)


def test_the_corpus_never_executes(browser: Any, server: Server, deployment: Deployment) -> None:
    planted = in_thread(plant(server))
    context, page, dialogs = signed_in(browser, server, "alice@example.com")
    try:
        page.goto(f"/jams/demo/topics/{planted['topic']}/")
        page.locator("body[data-connection=online]").wait_for(state="attached")
        assert page.locator("[data-ideas] .idea-title").count() >= len(PAYLOADS)
        assert page.get_by_text(PAYLOADS[0][:20]).count() >= 1  # shown as text
        assert_inert(page, dialogs, "topic page")

        # Alerts arrive live on the open page.
        in_thread(send_alerts(server))
        page.locator("[data-alerts] .alert").nth(7).wait_for()
        assert_inert(page, dialogs, "live alerts")

        page.goto(f"/jams/demo/ideas/{planted['idea']}/")
        page.locator("body[data-connection=online]").wait_for(state="attached")
        assert_inert(page, dialogs, "thread page")
        # The links in the sanitized Markdown are http(s)/mailto only.
        hrefs = page.eval_on_selector_all("main a[href]", "els => els.map(e => e.href)")
        assert all(h.startswith(("http://", "https://", "mailto:")) for h in hrefs), hrefs
    finally:
        context.close()

    context, page, dialogs = signed_in(browser, server, "organizer@example.com")
    try:
        page.goto("/jams/demo/members/")
        assert page.get_by_text("Eve<img", exact=False).count() >= 1  # the name, as text
        assert_inert(page, dialogs, "member list")
    finally:
        context.close()

    # The report export is JSON: the payloads stay data (escaped strings).
    report = deployment.manage("jam_report", "demo", "--format", "json")
    assert json.loads(report)["jam"]["slug"] == "demo"
