from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Seed the demo (personas, a welcome message, consent examples, an acknowledged "
        "workforce policy) and make the demo signing certificate, in one process. "
        "Idempotent; demo mode only."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.APP_MODE != "demo":
            raise CommandError("demo_prepare runs in demo mode only (APP_MODE=demo)")
        for command in (
            "seed_demo",
            "seed_demo_messages",
            "seed_demo_consent",
            "seed_demo_policies",
            "records_demo_certificate",
        ):
            call_command(command, stdout=self.stdout, stderr=self.stderr)
