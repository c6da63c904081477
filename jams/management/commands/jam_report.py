"""Write a jam's outcome report as JSON, the ranking as CSV, or the report as PDF.

An operator tool, so it checks no permissions; every export is logged in the
audit log (``report.exported``, actor "system"). It never writes per-voter
data, only the stored aggregates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.report import EXPORT_FORMATS, report_export
from jams.models import Jam


class Command(BaseCommand):
    help = (
        "Write the outcome report of the jam SLUG: --format json (everything), csv (the "
        "ranking) or pdf, to --output or standard output (pdf needs --output)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--format", choices=EXPORT_FORMATS, default="json")
        parser.add_argument("--output", help="File to write; standard output when omitted.")

    def handle(self, *args: Any, **options: Any) -> None:
        jam = Jam.objects.filter(slug=options["slug"]).first()
        if jam is None:
            raise CommandError(f"No jam with the short name {options['slug']!r}.")
        fmt = options["format"]
        if fmt == "pdf" and not options["output"]:
            raise CommandError("A PDF needs --output FILE.")
        file = report_export(actor=None, jam=jam, fmt=fmt)
        if options["output"]:
            Path(options["output"]).write_bytes(file.content)
        else:
            self.stdout.write(file.content.decode("utf-8").removeprefix("\ufeff"), ending="")
