from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import chain
from audit.context import system_actor
from audit.public import export_verify
from audit.signing import public_key_load
from audit.verification import chain_verify
from support.env import ConfigError


class Command(BaseCommand):
    help = (
        "Recompute every audit seal and checkpoint signature and compare the anchors kept "
        "outside the database. Exits non-zero naming the first sequence number (or the "
        "anchor) that does not match; reports events not yet sealed. With --public-key, "
        "checks with the public key alone; with --export, checks an export file offline."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--public-key",
            type=Path,
            action="append",
            help="PEM file of a checkpoint signing public key (repeat for retired keys); "
            "no secret is used",
        )
        parser.add_argument(
            "--export",
            type=Path,
            help="an audit_export file to check (needs --public-key; no database)",
        )

        parser.add_argument(
            "--allow-behind",
            action="store_true",
            help="a restore drill's copy: anchors beyond the database's last checkpoint "
            "are expected (each checkpoint it has must still match its anchor)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            given = [public_key_load(path) for path in options["public_key"] or []]
        except ConfigError as error:
            raise CommandError(str(error)) from None
        if options["export"] is not None:
            if not given:
                raise CommandError("--export needs --public-key")
            self._export(options["export"], {chain.public_key_id(key): key for key in given})
            return
        try:
            with system_actor("audit_verify command"):
                report = chain_verify(public_keys_only=given, allow_behind=options["allow_behind"])
        except ConfigError as error:  # a key file missing or unreadable on this host
            raise CommandError(str(error)) from None
        if not report.ok:
            raise CommandError(report.summary(), returncode=2)
        self.stdout.write(report.summary())

    def _export(self, path: Path, keys: dict[str, Any]) -> None:
        try:
            with path.open(encoding="utf-8") as lines:
                report = export_verify(lines, keys)
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {path}: {error}") from None
        if report.first_bad_event_id is not None:
            where = (
                f"sequence number {report.first_bad_event_id}: "
                if report.first_bad_event_id
                else ""
            )
            raise CommandError(
                f"audit export does not verify: {where}{report.problem}", returncode=2
            )
        text = (
            f"audit export verifies: {report.verified} events under {report.checkpoints} "
            f"checkpoints"
        )
        if report.unverified:
            text += f"; {report.unverified} events covered only by HMAC checkpoints (not checked)"
        if report.uncovered:
            text += f"; {report.uncovered} events after the last checkpoint (not checked)"
        self.stdout.write(text)
