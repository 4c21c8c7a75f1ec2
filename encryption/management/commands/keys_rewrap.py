from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.context import system_actor
from encryption import services
from encryption.errors import EncryptionError


class Command(BaseCommand):
    help = (
        "Re-wrap every data key under the primary key-encryption key, in batches. Safe to "
        "interrupt and to run again: it carries on with what is left."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        show = options["verbosity"] > 0

        def progress(done: int, total: int) -> None:
            if not show:
                return
            width = 30
            filled = width * done // total if total else width
            bar = "#" * filled + "." * (width - filled)
            self.stderr.write(f"\r[{bar}] {done}/{total} data keys", ending="")
            self.stderr.flush()

        try:
            with system_actor("command:keys_rewrap"):
                report = services.keys_rewrap(
                    batch_size=options["batch_size"], on_progress=progress
                )
        except EncryptionError as error:
            self.stderr.write("")
            raise CommandError(str(error)) from None
        if report.rewrapped and show:
            self.stderr.write("")
        self.stdout.write(
            f"Re-wrapped {report.rewrapped} data keys under {report.primary_key_id}; "
            f"{report.remaining} remain under other keys."
        )
        if report.remaining:
            raise CommandError("some data keys are still under other keys: run keys_rewrap again")
