from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from audit.actions import AuditAction
from audit.context import system_actor
from audit.public import export_range, trail_export
from audit.services import event_record


class Command(BaseCommand):
    help = (
        "Write the sealed audit trail of a range of days (UTC) as JSON lines, with its "
        "signed checkpoints, for an auditor to check with `audit_verify --export FILE "
        "--public-key PEM`. The range is widened to whole checkpoint batches."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="since", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="until", type=date.fromisoformat, help="YYYY-MM-DD")
        parser.add_argument("--output", type=Path, help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        starts_transaction = not connection.in_atomic_block
        with system_actor("audit_export command"):
            with transaction.atomic():
                if starts_transaction:  # one snapshot for the range, events and checkpoints
                    with connection.cursor() as cursor:
                        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                bounds = export_range(since=options["since"], until=options["until"])
                if bounds is None:
                    raise CommandError("no sealed audit events in that range")
                after, through = bounds
                if options["output"] is None:
                    count = trail_export(sys.stdout, after=after, through=through)
                else:
                    with options["output"].open("x", encoding="utf-8") as out:
                        count = trail_export(out, after=after, through=through)
            # The export of the trail is itself in the trail.
            with transaction.atomic():
                event_record(
                    action=AuditAction.EXPORTED,
                    details={
                        "format": "audit-export/1",
                        "after_event_id": after,
                        "through_event_id": through,
                        "events": count,
                    },
                )
        if options["output"] is not None:
            self.stdout.write(f"exported {count} events (#{after + 1} to #{through})")
