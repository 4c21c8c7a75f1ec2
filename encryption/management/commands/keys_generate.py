from __future__ import annotations

import base64
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from encryption import crypto
from encryption.keyring import local_keys_parse


class Command(BaseCommand):
    help = (
        "Print a new local key as id:base64key, to append to ENCRYPTION_KEYS. Nothing is "
        "stored: keep it in your secret store and its backup, never in the database backup."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id", help="e.g. 2025-06 (letters, digits, . _ -)")

    def handle(self, *args: Any, **options: Any) -> None:
        entry = f"{options['key_id']}:{base64.urlsafe_b64encode(crypto.new_key()).decode()}"
        try:
            local_keys_parse(entry)
        except Exception as error:
            raise CommandError(str(error)) from None
        self.stdout.write(entry)
