from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.demo import current_code


class Command(BaseCommand):
    help = "Print the current TOTP code of a demo persona. Demo mode only."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, email: str, **options: Any) -> None:
        if settings.APP_MODE != "demo":
            raise CommandError("demo_code runs only in demo mode")
        device = TOTPDevice.objects.filter(
            user__email__iexact=email, name="Demo authenticator", confirmed=True
        ).first()
        if device is None:
            raise CommandError("no demo authenticator for that address; run seed_demo first")
        self.stdout.write(current_code(device))
