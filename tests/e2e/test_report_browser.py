"""The outcome report in headless Chromium on a real server, and its PDF on paper.

A deployment of its own, seeded with ``seed_demo --phase results`` (voting
closed, ranking computed, analysis run); the executive signs in, reads the
report (no console errors, charts drawn) and downloads the PDF, whose pages
are rendered to PNG with pdftoppm and checked for ink and the title.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import Server

from .conftest import chromium_page, own_server, sign_in
from .test_browser import FAVICON_404

pytestmark = [pytest.mark.browser, pytest.mark.server]

TITLE = "Innovation Jam 2026"


@pytest.fixture(scope="module")
def results_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory, "report", phase="results") as server:
        yield server


@pytest.fixture
def page(results_server: Server) -> Iterator[tuple[Any, list[str]]]:
    with chromium_page(results_server.url, accept_downloads=True) as opened:
        yield opened


def ink_ratio(png: Path) -> float:
    """Share of pixels that are not (nearly) white."""
    from PIL import Image

    with Image.open(png) as image:
        gray = image.convert("L")
        histogram = gray.histogram()
    return sum(histogram[:240]) / max(1, sum(histogram))


def test_executive_reads_the_report_and_its_pdf(
    page: tuple[Any, list[str]], artifacts: Path, tmp_path: Path
) -> None:
    page, errors = page
    sign_in(page, "executive@example.com")
    page.goto("/jams/demo/")
    page.get_by_role("link", name="Report").click()
    page.wait_for_url("**/jams/demo/report/")
    heading = page.get_by_role("heading", level=1)
    assert TITLE in heading.inner_text()
    assert page.locator("svg[role=img]").count() >= 3
    for name in ("Ranking", "Sentiment over time", "Activity per hour"):
        assert page.locator("svg[role=img] > title", has_text=name).count() >= 1
    assert page.locator("table.ranking tbody tr").count() == 9
    assert page.locator(".tie-label").count() >= 1
    assert page.locator("table.bridging tbody tr").count() >= 1
    box = page.locator("svg.ranking-chart").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    page.screenshot(path=str(artifacts / "report-page.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="PDF").click()
    pdf = tmp_path / "report.pdf"
    download_info.value.save_as(pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    shutil.copy(pdf, artifacts / "report.pdf")

    subprocess.run(  # noqa: S603 - fixed command
        [str(shutil.which("pdftoppm")), "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3
    for png in pages:
        assert ink_ratio(png) > 0.003, f"{png.name} is blank"
    first = subprocess.run(  # noqa: S603 - fixed command
        [str(shutil.which("pdftotext")), "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert TITLE in first
    assert [e for e in errors if not e.endswith(FAVICON_404)] == []
