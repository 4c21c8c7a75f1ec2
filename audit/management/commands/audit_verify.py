from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.context import system_actor
from audit.verification import chain_verify


class Command(BaseCommand):
    help = (
        "Recompute every audit seal and checkpoint signature. Exits non-zero naming the "
        "first sequence number that does not match; reports events not yet sealed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with system_actor("audit_verify command"):
            report = chain_verify()
        if not report.ok:
            raise CommandError(report.summary(), returncode=2)
        self.stdout.write(report.summary())
