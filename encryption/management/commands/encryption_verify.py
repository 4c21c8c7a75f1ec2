from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.context import system_actor
from encryption.verify import stored_data_verify


class Command(BaseCommand):
    help = (
        "Decrypt a sample of every kind of encrypted row and file (after a restore: do the "
        "database, the file store and the keys fit together?). Prints counts only."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--sample", type=int, default=50, help="Newest rows per model to check (50)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["sample"] < 1:
            raise CommandError("--sample must be at least 1")
        with system_actor("command:encryption_verify"):
            report = stored_data_verify(sample=options["sample"])
        self.stdout.write(
            f"Checked {report.rows} rows ({report.values} encrypted values) and "
            f"{report.files} files ({report.file_bytes} bytes)."
        )
        for failure in report.failures[:20]:
            self.stderr.write(f"FAILED {failure}")
        if report.failures:
            raise CommandError(f"{len(report.failures)} objects could not be decrypted")
        self.stdout.write("Everything sampled decrypts.")
