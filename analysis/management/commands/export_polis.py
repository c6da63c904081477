"""Export a jam in Pol.is's open-data CSV format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.polis import polis_export
from jams.models import Jam


class Command(BaseCommand):
    help = "Write comments.csv, votes.csv, participants-votes.csv and summary.csv for a jam."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("directory", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        jam = Jam.objects.filter(slug=options["slug"]).first()
        if jam is None:
            raise CommandError(f"No jam {options['slug']!r}.")
        counts = polis_export(jam=jam, directory=options["directory"])
        self.stdout.write(
            f"Exported {jam.slug} to {options['directory']}: {counts['comments']} comments, "
            f"{counts['votes']} votes, {counts['participants']} participants"
        )
