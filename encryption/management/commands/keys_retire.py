from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.context import system_actor
from encryption import services
from encryption.errors import EncryptionError


class Command(BaseCommand):
    help = (
        "Retire a key-encryption key once no data key uses it (refused otherwise). "
        "Afterwards it may be removed from ENCRYPTION_KEYS, or scheduled for deletion in KMS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with system_actor("command:keys_retire"):
                kek = services.kek_retire(key_id=options["key_id"])
        except EncryptionError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Retired {kek.key_id}.")
