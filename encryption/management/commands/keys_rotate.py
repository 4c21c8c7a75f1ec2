from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.context import system_actor
from encryption import services
from encryption.errors import EncryptionError
from encryption.models import KekProvider


class Command(BaseCommand):
    help = (
        "Make KEY_ID the primary key-encryption key: new data keys are wrapped under it at "
        "once, in every process; older keys keep working until keys_rewrap has moved them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_id", help="an id from ENCRYPTION_KEYS, or an AWS KMS key id/ARN")
        parser.add_argument(
            "--provider",
            choices=KekProvider.values,
            help="default: local when the id is in ENCRYPTION_KEYS",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with system_actor("command:keys_rotate"):
                previous = services.kek_primary().key_id
                kek = services.keys_rotate(key_id=options["key_id"], provider=options["provider"])
        except EncryptionError as error:
            raise CommandError(str(error)) from None
        if previous == kek.key_id:
            self.stdout.write(f"{kek.key_id} is already the primary key; nothing changed.")
        else:
            self.stdout.write(
                f"Primary key is now {kek.key_id} (was {previous}). "
                "Run keys_rewrap to move existing data keys to it."
            )
