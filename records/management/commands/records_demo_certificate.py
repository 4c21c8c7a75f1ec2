from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from records.signing import demo_certificate_ensure


class Command(BaseCommand):
    help = (
        "Make the self-signed certificate that signs record packages in the demo, once "
        "(idempotent). Never in production, which configures the organisation's own."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--directory",
            type=Path,
            default=None,
            help="Where to write demo-cert.pem and demo-key.pem (default var/records-signing/).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError(
                "records_demo_certificate refuses to run in production mode: set "
                "RECORDS_SIGNING_CERT_FILE and RECORDS_SIGNING_KEY_FILE to the organisation's "
                "certificate and key"
            )
        made = demo_certificate_ensure(directory=options["directory"])
        verb = "Made" if made.created else "Kept"
        self.stdout.write(f"{verb} the demo signing certificate {made.cert_path}")
        self.stdout.write(f"  key {made.key_path} (0600)")
        self.stdout.write(f"  SHA-256 fingerprint {made.fingerprint}")
