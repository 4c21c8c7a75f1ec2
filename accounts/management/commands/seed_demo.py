from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_PASSWORD, personas_seed
from audit.context import system_actor


class Command(BaseCommand):
    help = "Create or refresh the demo personas (idempotent). Demo mode only."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.APP_MODE == "production":
            raise CommandError("seed_demo refuses to run in production mode")
        with system_actor("command:seed_demo"):
            seeded = personas_seed()
        self.stdout.write(
            self.style.SUCCESS(f"Demo personas (password for all: {DEMO_PASSWORD!r})")
        )
        for persona, _user, device in seeded:
            secret = base64.b32encode(device.bin_key).decode().rstrip("=")
            self.stdout.write(
                f"  {persona.key:<16} {persona.email:<28} {persona.role:<16} TOTP key {secret}"
            )
        self.stdout.write(
            "Second factor in demo mode: the sign-in's second step shows the persona's current "
            "code, or add the TOTP key above to any authenticator app."
        )
