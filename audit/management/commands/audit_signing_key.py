from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.signing import key_create, public_key_load, public_key_pem, signing_key
from support.env import ConfigError


class Command(BaseCommand):
    help = (
        "The Ed25519 key that signs audit checkpoints. --new PATH writes a new private key "
        "(mode 0600; never overwrites); --public prints the public key of "
        "AUDIT_SIGNING_KEY_FILE (or of --new's key) for auditors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new", type=Path, help="write a new private key here")
        parser.add_argument("--public", action="store_true", help="print the public key (PEM)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["new"] is not None:
                key_create(options["new"])
                self.stderr.write(f"wrote a new signing key to {options['new']}")
                key = public_key_load(options["new"])
            else:
                key = signing_key().public_key()
        except ConfigError as error:
            raise CommandError(str(error)) from None
        if options["public"] or options["new"] is not None:
            self.stdout.write(public_key_pem(key), ending="")
