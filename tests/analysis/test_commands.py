"""Management commands: analyze_jam, the worker, Pol.is import/export, evaluation."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from analysis.models import AnalysisRun, PolisImport, RunStatus
from analysis.services import analysis_request
from ideas.models import Idea, Reaction
from jams.models import Jam
from tests.analysis.jamdata import small_jam

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "polis"
START = datetime(2025, 3, 1, 9, tzinfo=UTC)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_analyze_jam_prints_summary_then_reuses_then_forces(jam) -> None:
    small_jam(jam, n_posts=60, start=START)
    first = run("analyze_jam", jam.slug, "--k", "3")
    assert "Themes (3):" in first and "Opinion groups (2):" in first and ": done" in first
    assert "unchanged since the last analysis" in run("analyze_jam", jam.slug, "--k", "3")
    assert AnalysisRun.objects.filter(status=RunStatus.DONE).count() == 1
    assert ": done" in run("analyze_jam", jam.slug, "--k", "3", "--force")
    assert AnalysisRun.objects.filter(status=RunStatus.DONE).count() == 2
    with pytest.raises(CommandError):
        run("analyze_jam", "no-such-jam")


def test_worker_executes_queued_runs_once(jam, organizer, django_capture_on_commit_callbacks):
    small_jam(jam, n_posts=40, start=START)
    queued = analysis_request(actor=organizer, jam=jam, k=3)  # enqueue never committed
    output = run("run_analysis_worker", "--once", "--rerun-minutes", "0")
    assert output.strip() == f"run {queued.pk} ({jam.slug}): done"
    queued.refresh_from_db()
    assert queued.status == RunStatus.DONE and queued.themes.count() == 3
    assert run("run_analysis_worker", "--once", "--rerun-minutes", "0") == ""


def test_worker_requeues_live_jams(jam) -> None:
    small_jam(jam, n_posts=40, start=START)
    output = run("run_analysis_worker", "--once", "--rerun-minutes", "15")
    assert f"({jam.slug}): done" in output
    assert run("run_analysis_worker", "--once", "--rerun-minutes", "15") == ""


def test_import_and_export_commands(jam, tmp_path) -> None:
    output = run("import_polis", str(FIXTURES / "brexit-consensus"), "--jam", jam.slug)
    assert "50 ideas (0 hidden)" in output and "5303 reactions" in output
    assert Idea.objects.filter(jam=jam).count() == 50
    output = run("import_polis", str(FIXTURES / "15-per-hour-seattle"), "--jam", jam.slug)
    assert "(23 hidden)" in output
    assert PolisImport.objects.filter(jam=jam).count() == 2
    with pytest.raises(CommandError, match="already imported"):
        run("import_polis", str(FIXTURES / "brexit-consensus"), "--jam", jam.slug)
    with pytest.raises(CommandError):
        run("import_polis", str(tmp_path), "--jam", jam.slug)
    out = tmp_path / "export"
    output = run("export_polis", jam.slug, str(out))
    votes = Reaction.objects.filter(post__jam=jam).count()
    assert f"{votes} votes" in output
    with (out / "comments.csv").open(newline="", encoding="utf-8") as handle:
        ids = [row["comment-id"] for row in csv.DictReader(handle)]
    # Two conversations share comment ids, so the export numbers comments afresh.
    assert len(ids) == len(set(ids)) == Idea.objects.filter(jam=jam).count()


def test_evaluate_analysis_measures_the_database_path(tmp_path) -> None:
    (tmp_path / "polis").mkdir()
    for name in ("brexit-consensus", "15-per-hour-seattle"):
        shutil.copytree(FIXTURES / name, tmp_path / "polis" / name)
    output = run("evaluate_analysis", str(tmp_path), "--django-only")
    lines = [line for line in output.splitlines() if "database path" in line]
    assert len(lines) == 4
    nmi = float(lines[0].split("|")[4])
    assert 0.2 < nmi <= 1.0  # two unrelated conversations separate well
    assert not Jam.objects.exists()  # rolled back
