"""Put unanswered ideas of every jam in discussion on the help radar.

Run it every few minutes (cron or a scheduler); radar pages run the same
cheap check when they load."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from community.services import help_unanswered_scan
from jams.models import Jam


class Command(BaseCommand):
    help = "Find ideas nobody answered and put them on the help radar."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for jam in Jam.objects.filter(ideas__reply_count=0).distinct():
            total += help_unanswered_scan(jam=jam)
        self.stdout.write(f"{total} unanswered ideas added to help radars")
