"""Announce hosted sessions whose start has passed (run every minute).

Pages announce them lazily too, so the alert never waits for this command
longer than a page load; the command makes it punctual when nobody is
loading pages, and sends the start emails."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from community.services import sessions_announce


class Command(BaseCommand):
    help = "Announce live sessions that have started (jam-wide alert and emails)."

    def handle(self, *args: Any, **options: Any) -> None:
        announced = sessions_announce()
        self.stdout.write(f"{len(announced)} sessions announced")
