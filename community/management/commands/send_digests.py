"""Send the daily notification digests (run once a day)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from community.services import digests_send


class Command(BaseCommand):
    help = "Email each member who chose the digest what happened since the last one."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{digests_send()} digests sent")
