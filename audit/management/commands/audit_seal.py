from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from audit.actions import AuditAction
from audit.context import system_actor
from audit.sealing import events_seal
from audit.services import event_record


class Command(BaseCommand):
    help = "Seal (hash-chain) audit events that can no longer gain an earlier neighbour."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument(
            "--wait", type=float, default=5.0, help="seconds to wait for in-flight writers"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with system_actor("audit_seal command"):
            report = events_seal(batch_size=options["batch_size"], wait_seconds=options["wait"])
            # An operator's run is recorded; it is sealed by the next run.
            with transaction.atomic():
                event_record(
                    action=AuditAction.SEALED,
                    details={"sealed": report.sealed, "through_event_id": report.through_event_id},
                )
        if report.busy:
            self.stdout.write(f"another sealer is running; sealed {report.sealed} events")
        elif report.held_back:
            self.stdout.write("held back by open transactions; nothing sealed this time")
        else:
            self.stdout.write(
                f"sealed {report.sealed} events in {report.checkpoints} batches; "
                f"chain head is event {report.through_event_id or '-'}"
            )
