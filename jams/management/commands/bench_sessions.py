"""Benchmarks only: sessions for participant1..N@example.com, straight into
the session store, one session key per line on stdout (with ``--tickets
SLUG``, each followed by the member's socket ticket for that jam).

Signing in thousands of sockets through the login form (two requests and a
password hash each) would take longer than the benchmark itself; this writes
what a successful login writes (user id, backend, session auth hash).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.crypto import get_random_string

from accounts.models import User
from jams.models import Membership
from jams.tickets import ticket_issue


class Command(BaseCommand):
    help = "Benchmarks only: print session keys for participant1..N@example.com."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("count", type=int)
        parser.add_argument("--prefix", default="participant")
        parser.add_argument(
            "--tickets",
            metavar="SLUG",
            help="also print each member's socket ticket for this jam, after the key",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
            raise CommandError("bench_sessions needs the database session engine")
        count: int = options["count"]
        emails = [f"{options['prefix']}{i}@example.com" for i in range(1, count + 1)]
        users = {u.email: u for u in User.objects.filter(email__in=emails)}
        missing = [e for e in emails if e not in users]
        if missing:
            raise CommandError(f"{len(missing)} users missing (seed_demo --participants N)")
        backend = settings.AUTHENTICATION_BACKENDS[0]
        expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
        rows = []
        for email in emails:
            user = users[email]
            store = SessionStore()
            key = get_random_string(32, VALID_KEY_CHARS)
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: backend,
                HASH_SESSION_KEY: user.get_session_auth_hash(),
            }
            rows.append(
                Session(session_key=key, session_data=store.encode(data), expire_date=expires)
            )
        Session.objects.bulk_create(rows, batch_size=1000)
        lines = [row.session_key for row in rows]
        if options["tickets"]:
            memberships = {
                m.user_id: m
                for m in Membership.objects.filter(
                    jam__slug=options["tickets"], user__in=users.values()
                )
            }
            lines = [
                f"{key} {ticket_issue(user_id=m.user_id, jam_id=m.jam_id, role=m.role)}"
                for key, email in zip(lines, emails, strict=True)
                if (m := memberships.get(users[email].pk)) is not None
            ]
        self.stdout.write("\n".join(lines))
