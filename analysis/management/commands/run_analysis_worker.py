"""The analysis worker: executes queued runs and re-queues live jams periodically.

Django 6.1 has no task worker of its own (only the immediate and dummy
backends), so the queued AnalysisRun rows are the queue. Several workers may
run: each claims a row with ``select_for_update(skip_locked=True)``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from analysis import services

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run queued analyses; re-queue live jams every ANALYSIS_LIVE_RERUN_MINUTES."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="drain the queue once and stop")
        parser.add_argument("--sleep", type=float, default=5.0, help="seconds between polls")
        parser.add_argument(
            "--rerun-minutes",
            type=int,
            default=None,
            help="re-queue live jams this often (default: ANALYSIS_LIVE_RERUN_MINUTES; 0: never)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        minutes = options["rerun_minutes"]
        if minutes is None:
            minutes = settings.ANALYSIS_LIVE_RERUN_MINUTES
        while True:
            executed = work_once(rerun=timedelta(minutes=minutes) if minutes else None)
            for line in executed:
                self.stdout.write(line)
            if options["once"]:
                return
            if not executed:
                time.sleep(options["sleep"])


def work_once(*, rerun: timedelta | None) -> list[str]:
    """Queue due live jams, then execute every queued run; one line per run."""
    if rerun is not None:
        services.analysis_queue_live(now=timezone.now(), every=rerun)
    lines = []
    while (run := services.run_claim_next()) is not None:
        try:
            result = services.run_claimed_execute(run=run)
        except Exception:
            logger.exception("analysis run %s failed", run.pk)
            lines.append(f"run {run.pk} ({run.jam.slug}): failed")
            continue
        state = "unchanged" if result.pk != run.pk else "done"
        lines.append(f"run {run.pk} ({run.jam.slug}): {state}")
    return lines
