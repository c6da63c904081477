"""Evaluate the analysis against the public labelled data, through the Django path too.

First the pure pipeline's evaluation (analysis.pipeline.evaluate). Then the
English Pol.is conversations are imported with import_polis into one
throw-away jam (one topic per conversation), analysed by the service, and
the themes stored in the database are scored against the conversation each
post came from (NMI / ARI). Everything written is rolled back at the end.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from analysis import services
from analysis.models import PostTheme
from analysis.pipeline.evaluate import (
    DEFAULT_DATA_DIR,
    GERMAN_CONVERSATION_PREFIX,
    EvaluationRow,
    conversations,
    evaluate,
    format_table,
)
from analysis.polis import polis_import
from ideas.models import Post
from jams.models import Jam


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Print the evaluation table of the analysis (pipeline and database path)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA_DIR)
        parser.add_argument(
            "--django-only", action="store_true", help="skip the pure pipeline's evaluation"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data_dir: Path = options["data_dir"]
        rows = [] if options["django_only"] else evaluate(data_dir)
        rows += evaluate_database_path(data_dir)
        self.stdout.write(format_table(rows))


def evaluate_database_path(data_dir: Path) -> list[EvaluationRow]:
    folders = [
        folder
        for folder in conversations(data_dir)
        if not folder.name.startswith(GERMAN_CONVERSATION_PREFIX)
    ]
    rows: list[EvaluationRow] = []
    try:
        with transaction.atomic():
            jam = Jam.objects.create(title="Evaluation", slug="evaluation-rolled-back")
            started = time.perf_counter()
            for folder in folders:
                polis_import(directory=folder, jam=jam)
            imported = time.perf_counter() - started
            truth = dict(
                Post.objects.filter(jam=jam, hidden_at__isnull=True).values_list("id", "topic_id")
            )
            for label, k in (("auto k", None), (f"k={len(folders)}", len(folders))):
                started = time.perf_counter()
                run = services.analysis_run(jam=jam, k=k, force=True)
                seconds = time.perf_counter() - started
                assigned = dict(
                    PostTheme.objects.filter(run=run).values_list("post_id", "theme_id")
                )
                ids = sorted(assigned)
                ours = [assigned[i] for i in ids]
                theirs = [truth[i] for i in ids]
                subject = (
                    f"database path: {len(folders)} English conversations imported, "
                    f"{len(truth)} visible comments, {label}"
                )
                note = (
                    f"k={run.summary['k']}; import {imported:.1f} s, run {seconds:.1f} s; "
                    "rejected comments hidden, so not analysed"
                )
                rows.append(
                    EvaluationRow(
                        "themes", subject, "NMI", normalized_mutual_info_score(theirs, ours),
                        note=note,
                    )
                )  # fmt: skip
                rows.append(
                    EvaluationRow(
                        "themes", subject, "ARI", adjusted_rand_score(theirs, ours), note=note
                    )
                )
            raise _Rollback
    except _Rollback:
        pass
    return rows
