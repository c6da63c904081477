"""Compute and store the rankings of a jam's voting rounds (once voting has closed)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jams.errors import DomainError
from jams.models import Jam
from voting.models import VotingRound
from voting.services import ranking_compute


class Command(BaseCommand):
    help = "Compute the stored ranking of every voting round of the jam SLUG."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument(
            "--force", action="store_true", help="Recompute rankings that are stored already."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        jam = Jam.objects.filter(slug=options["slug"]).first()
        if jam is None:
            raise CommandError(f"No jam with the short name {options['slug']!r}.")
        for voting_round in VotingRound.objects.filter(jam=jam).select_related("jam"):
            try:
                result = ranking_compute(round=voting_round, force=options["force"])
            except DomainError as exc:
                raise CommandError(f"{voting_round.title}: {exc.message}") from exc
            self.stdout.write(
                f"{voting_round.title}: {result.method}, {result.ballots} ballots, "
                f"{result.entries} entries, computed {result.computed_at:%Y-%m-%d %H:%M:%S} "
                f"in {result.duration_ms} ms"
            )
