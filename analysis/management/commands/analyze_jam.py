"""Run the analysis of one jam now, in this process, and print a summary."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis import services
from analysis.models import AnalysisRun
from jams.models import Jam


class Command(BaseCommand):
    help = "Analyse a jam (themes, tone shifts, opinion groups) and print a summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--k", type=int, default=None, help="number of themes (default: auto)")
        parser.add_argument("--force", action="store_true", help="recompute even if unchanged")

    def handle(self, *args: Any, **options: Any) -> None:
        jam = Jam.objects.filter(slug=options["slug"]).first()
        if jam is None:
            raise CommandError(f"No jam {options['slug']!r}.")

        def progress(percent: int, stage: str) -> None:
            if options["verbosity"] > 1:
                self.stderr.write(f"{percent:3d} % {stage}")

        try:
            run = services.analysis_run(
                jam=jam, k=options["k"], force=options["force"], progress=progress
            )
        except Exception as exc:
            raise CommandError(f"Analysis failed: {exc}") from exc
        self.stdout.write(summary(run))


def summary(run: AnalysisRun) -> str:
    newest = AnalysisRun.objects.filter(jam_id=run.jam_id).first()
    reused = newest is not None and newest.reused_id == run.pk
    counts = run.summary
    lines = [
        f"Run {run.pk}: {'unchanged since the last analysis' if reused else 'done'}"
        f" ({counts.get('posts', 0)} posts, {counts.get('scored', 0)} scored, "
        f"{counts.get('participants', 0)} people, {counts.get('votes', 0)} reactions)",
        "Timings: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in run.timings.items()),
        f"Themes ({run.themes.count()}):",
    ]
    for theme in run.themes.all():
        tone = "—" if theme.sentiment is None else f"{theme.sentiment:+.2f}"
        lines.append(f"  {theme.number:>2}  {theme.size:>6}  {tone:>5}  {theme.display_label}")
    lines.append(f"Tone shifts ({run.shifts.count()}):")
    for shift in run.shifts.all():
        lines.append(f"  {shift.at:%Y-%m-%d %H:%M} {shift.before:+.2f} -> {shift.after:+.2f}")
    lines.append(f"Opinion groups ({run.groups.count()}):")
    for group in run.groups.all():
        lines.append(
            f"  {group.number}: {group.size} people, "
            f"{len(group.representative)} representative statements"
        )
    edits = counts.get("edits", [])
    if edits:
        applied = sum(1 for edit in edits if edit["applied"])
        lines.append(f"Organizer edits re-applied: {applied} of {len(edits)}")
    return "\n".join(lines)
