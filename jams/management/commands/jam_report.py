"""Write a jam's results as JSON: an operator tool, so it checks no permissions,
and it never writes per-voter data (only the stored aggregates)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from jams.models import Jam
from voting.selectors import rankings_for_jam


class Command(BaseCommand):
    help = "Write the results of the jam SLUG as JSON to --output or standard output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--format", choices=["json"], default="json")
        parser.add_argument("--output", help="File to write; standard output when omitted.")

    def handle(self, *args: Any, **options: Any) -> None:
        jam = Jam.objects.filter(slug=options["slug"]).first()
        if jam is None:
            raise CommandError(f"No jam with the short name {options['slug']!r}.")
        # Each app contributes a section; other sections can be added beside "rankings".
        report = {
            "jam": {"slug": jam.slug, "title": jam.title},
            "rankings": rankings_for_jam(jam=jam),
        }
        text = json.dumps(report, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        if options["output"]:
            Path(options["output"]).write_text(text + "\n", encoding="utf-8")
        else:
            self.stdout.write(text)
