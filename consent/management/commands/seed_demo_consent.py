from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from audit.context import system_actor
from consent import selectors, services

DEMO_STATEMENT = (
    "Ordinary e-mail is not encrypted. While it travels and in your mailbox, others may "
    "read it: your e-mail provider, anyone with access to your devices or account, or "
    "someone it is misdirected to. Anything we send by ordinary e-mail could reveal "
    "health information about you. The secure portal protects your messages and stays "
    "available. You can stop ordinary e-mail at any time under Preferences."
)


class Command(BaseCommand):
    help = "Publish the demo's unencrypted e-mail risk statement (idempotent). Demo mode only."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.APP_MODE == "production":
            raise CommandError("seed_demo_consent refuses to run in production mode")
        officer = User.objects.filter(email="priya.officer@demo.test").first()
        if officer is None:
            raise CommandError("run seed_demo first")
        with system_actor("command:seed_demo_consent"):
            statement = selectors.statement_current() or services.waiver_statement_publish(
                actor=officer, text=DEMO_STATEMENT
            )
        self.stdout.write(
            self.style.SUCCESS(f"E-mail risk statement: version {statement.version} in force")
        )
