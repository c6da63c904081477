"""`make run`, the README's first command, as a newcomer uses it.

It serves the demo on the embedded defaults (SQLite of its own here, the
in-memory channel layer) with the analysis worker beside the server: an
organizer clicks "Run analysis", and the page follows the run to its end by
itself (the worker's events reach the server's sockets through the hub's
heartbeat, the only path between processes on the in-memory layer). Ctrl-C
stops the server and the worker.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port

from .conftest import chromium_page, sign_in
from .test_browser import FAVICON_404

pytestmark = [pytest.mark.browser, pytest.mark.server]

REPO = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "jam-demo-2026"  # what seed_demo prints
READY_SECONDS = 180  # migrations of an empty database first
FINISHED = re.compile(r"^(Done|Unchanged)$")  # unchanged: the same input as the last run


def _process_group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen]]:
    workdir = tmp_path_factory.mktemp("make-run")
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CHANNEL_LAYER", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("JAM_")
    }
    env["DATABASE_URL"] = f"sqlite:///{workdir / 'db.sqlite3'}"
    log = (workdir / "make-run.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - the README's own command
        [shutil.which("make") or "make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal gives it
        # A terminal's Ctrl-C reaches processes that do not ignore SIGINT;
        # the test runner's children may inherit it ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_SECONDS
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/", timeout=2):  # noqa: S310 - loopback
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = (workdir / "make-run.log").read_text(errors="replace")[-3000:]
                    pytest.fail(f"make run did not serve {url}:\n{tail}")
                time.sleep(0.5)
        yield url, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        log.close()


@pytest.fixture
def page(make_run: tuple[str, subprocess.Popen]) -> Iterator[tuple[Any, list[str]]]:
    with chromium_page(make_run[0], locale="en") as opened:
        yield opened


def test_an_analysis_requested_on_make_run_runs_and_the_page_follows_it(
    page: tuple[Any, list[str]],
) -> None:
    from playwright.sync_api import expect

    page_, errors = page
    sign_in(page_, "organizer@example.com", DEMO_PASSWORD)

    page_.goto("/jams/demo/analysis/")
    page_.get_by_role("button", name="Run analysis").click()
    # Nothing runs in the request: the run is queued for the worker.
    queued = page_.get_by_text("Analysis queued; this page updates when it is ready.")
    expect(queued).to_be_visible()
    status = page_.locator("[data-analysis-status]")
    # No reload by the test: the worker runs it, its events reach this page.
    expect(status).to_have_text(FINISHED, timeout=30_000)
    expect(page_.locator("[data-analysis-progress]")).to_have_attribute("value", "100")
    assert [e for e in errors if FAVICON_404 not in e] == []


def test_ctrl_c_stops_the_server_and_the_worker(
    make_run: tuple[str, subprocess.Popen],
) -> None:
    _, process = make_run
    worker = subprocess.run(  # noqa: S603 - fixed arguments
        [shutil.which("pgrep") or "pgrep", "-g", str(process.pid), "-f", "run_analysis_worker"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert worker.stdout.strip(), "the analysis worker runs beside the server"
    os.killpg(process.pid, signal.SIGINT)
    process.wait(30)
    deadline = time.monotonic() + 10
    while _process_group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _process_group_alive(process.pid)
