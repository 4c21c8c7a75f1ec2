from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.context import system_actor
from retention import services
from retention.rules import RecordKind


class Command(BaseCommand):
    help = (
        "Erase (crypto-shred) everything past its retention period and not under a legal "
        "hold, as the nightly job does. --dry-run prints what would go, by kind and count, "
        "and changes nothing. Never names a patient."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be erased; change nothing."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=services.BATCH_SIZE,
            help=f"Objects erased per transaction (default {services.BATCH_SIZE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        if options["dry_run"]:
            forecast = services.purge_forecast()
            self.stdout.write("Dry run: nothing was changed. A purge now would erase:")
            self._counts(forecast.due)
            self.stdout.write(
                f"Interrupted purges to finish (key destroyed, file still stored): "
                f"{forecast.unfinished}"
            )
            return
        with system_actor("command:retention_purge"):
            run = services.retention_purge(trigger="command", batch_size=options["batch_size"])
        if run is None:
            raise CommandError("Another purge is running; nothing was done.")
        self.stdout.write(f"Purge #{run.pk} erased:")
        self._counts({kind: run.purged.get(kind, 0) for kind in RecordKind.values})
        self.stdout.write(f"Interrupted purges finished: {sum(run.finished.values())}")

    def _counts(self, counts: dict[str, int]) -> None:
        for kind in RecordKind:
            self.stdout.write(f"  {kind.label}: {counts.get(kind.value, 0)}")
        self.stdout.write(f"  Total: {sum(counts.values())}")
