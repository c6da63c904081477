"""Import a Pol.is conversation (open-data CSV export) into an existing jam."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.polis import polis_import
from jams.errors import DomainError
from jams.models import Jam


class Command(BaseCommand):
    help = "Import comments.csv and votes.csv (or participants-votes.csv) of a Pol.is export."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--jam", required=True, help="slug of an existing jam")
        parser.add_argument("--topic", default="", help="topic title (default: summary.csv)")

    def handle(self, *args: Any, **options: Any) -> None:
        directory: Path = options["directory"]
        if not (directory / "comments.csv").exists():
            raise CommandError(f"{directory} has no comments.csv.")
        jam = Jam.objects.filter(slug=options["jam"]).first()
        if jam is None:
            raise CommandError(f"No jam {options['jam']!r}.")
        try:
            result = polis_import(directory=directory, jam=jam, topic_title=options["topic"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"Imported {result.conversation} into {jam.slug} / {result.topic.title}: "
            f"{result.ideas} ideas ({result.hidden} hidden), {result.participants} participants, "
            f"{result.reactions} reactions from {result.votes_source} in {result.seconds:.1f} s"
        )
