"""The data step of the migration that made themes carry on across runs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from analysis.models import AnalysisRun, PostTheme, RunStatus, Theme
from tests.analysis.jamdata import small_jam

BEFORE = ("analysis", "0001_initial")
AFTER = ("analysis", "0002_theme_lineage_across_runs")


def _migrate(target: tuple[str, str] | None) -> None:
    """To ``target``, or to the latest migrations (None)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target] if target else executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_rows_from_before_get_the_theme_they_are_in_as_computed(jam) -> None:
    posts = small_jam(jam, n_posts=12, start=datetime(2025, 3, 1, 9, tzinfo=UTC))
    run = AnalysisRun.objects.create(jam=jam, status=RunStatus.DONE)
    themes = [Theme.objects.create(run=run, number=n, label=f"t{n}") for n in (0, 1, 2)]
    for i, post in enumerate(posts):
        PostTheme.objects.create(run=run, post=post, theme=themes[i % 3], computed_number=0)
    try:
        _migrate(BEFORE)  # drops the column; the rows stay
        _migrate(AFTER)
    finally:
        _migrate(None)
    rows = PostTheme.objects.filter(run=run).select_related("theme")
    assert len(rows) == len(posts)
    assert all(row.computed_number == row.theme.number for row in rows)
    assert {row.computed_number for row in rows} == {0, 1, 2}
