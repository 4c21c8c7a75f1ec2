"""Ed25519 checkpoints: an auditor with the public key alone checks the trail and exports."""

from __future__ import annotations

import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from audit import chain
from audit.models import AuditCheckpoint, AuditEvent
from audit.public import trail_export
from audit.sealing import events_seal
from audit.signing import key_create, public_key_pem
from audit.verification import chain_verify

from .conftest import record, seal_as_before_ed25519, triggers_disabled


@pytest.fixture
def trail(db: None) -> list[AuditEvent]:
    """Two HMAC checkpoints from before Ed25519, then three Ed25519 ones; one unsealed."""
    events = record(2, details={"thread_id": 3})
    seal_as_before_ed25519()
    events += record(1)
    seal_as_before_ed25519()
    events += record(5, details={"thread_id": 4})
    events_seal(batch_size=2)
    record(1)
    return events


def _verify(*args: Any) -> str:
    out = io.StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


def _stdout(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _export(path: Path, *args: str) -> Path:
    call_command("audit_export", "--output", str(path), *args, stdout=io.StringIO())
    return path


def _edit_line(path: Path, event_id: int, change: Any) -> None:
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines):
        item = json.loads(line)
        if item["type"] == "event" and item["event"]["id"] == event_id:
            change(item)
            lines[number] = json.dumps(item)
    path.write_text("\n".join(lines) + "\n")


class TestCheckpointSigning:
    def test_new_checkpoints_are_signed_with_ed25519_and_old_hmac_ones_still_verify(
        self, trail: list[AuditEvent]
    ) -> None:
        algorithms = list(AuditCheckpoint.objects.values_list("algorithm", flat=True))
        assert algorithms == ["hmac-sha256"] * 2 + ["ed25519"] * 3
        report = chain_verify(record=False)
        assert report.ok and (report.events_checked, report.checkpoints_checked) == (8, 5)

    def test_checkpoints_signed_before_a_key_rotation_verify_with_the_retired_public_key(
        self, trail: list[AuditEvent], public_key_file: Path, settings: Any, tmp_path: Path
    ) -> None:
        settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "rotated.pem")
        key_create(tmp_path / "rotated.pem")
        record(1)
        events_seal()
        assert not chain_verify(record=False).ok
        settings.AUDIT_SIGNING_RETIRED_PUBLIC_KEY_FILES = [str(public_key_file)]
        assert chain_verify(record=False).ok

    def test_a_forged_ed25519_checkpoint_is_found(self, trail: list[AuditEvent]) -> None:
        forger = Ed25519PrivateKey.generate()
        last = AuditCheckpoint.objects.last()
        assert last is not None
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE audit_auditcheckpoint SET signature = %s WHERE id = %s",
                [chain.ed25519_sign(forger, b"anything"), last.pk],
            )
        assert chain_verify(record=False).first_bad_event_id == last.through_event_id


@pytest.mark.usefixtures("trail")
class TestVerifyWithThePublicKeyOnly:
    def test_the_database_trail_verifies_without_any_secret(
        self, public_key_file: Path, without_secrets: None
    ) -> None:
        out = _verify("--public-key", str(public_key_file))
        assert "audit chain intact: 5 sealed events, 5 checkpoints" in out
        assert "3 events are covered only by HMAC checkpoints" in out

    def test_an_edited_event_fails_naming_its_batch(
        self, trail: list[AuditEvent], public_key_file: Path, without_secrets: None
    ) -> None:
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE audit_auditevent SET outcome = 'denied' WHERE id = %s", [trail[6].pk]
            )
        with pytest.raises(CommandError, match=f"events #{trail[5].pk} to #{trail[6].pk}"):
            _verify("--public-key", str(public_key_file))

    def test_after_a_rotation_the_auditor_gives_both_public_keys(
        self, public_key_file: Path, settings: Any, tmp_path: Path
    ) -> None:
        settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "rotated.pem")
        new_public = _stdout("audit_signing_key", "--new", str(tmp_path / "rotated.pem"))
        (tmp_path / "rotated-public.pem").write_text(new_public)
        record(1)
        events_seal()
        keys = [
            "--public-key",
            str(public_key_file),
            "--public-key",
            str(tmp_path / "rotated-public.pem"),
        ]
        assert "audit chain intact: 7 sealed events, 6 checkpoints" in _verify(*keys)

    def test_another_public_key_fails(self, tmp_path: Path, without_secrets: None) -> None:
        other = tmp_path / "other.pem"
        other.write_text(public_key_pem(Ed25519PrivateKey.generate().public_key()))
        with pytest.raises(CommandError, match="checkpoint signature does not match"):
            _verify("--public-key", str(other))


@pytest.mark.usefixtures("trail")
class TestExport:
    def test_an_exported_trail_verifies_with_only_the_public_key(
        self, tmp_path: Path, public_key_file: Path, without_secrets: None
    ) -> None:
        export = _export(tmp_path / "trail.jsonl")
        out = _verify("--export", str(export), "--public-key", str(public_key_file))
        assert "audit export verifies: 5 events under 5 checkpoints" in out
        assert "3 events covered only by HMAC checkpoints" in out

    def test_one_edited_event_in_the_export_fails_naming_it(
        self, trail: list[AuditEvent], tmp_path: Path, public_key_file: Path
    ) -> None:
        export = _export(tmp_path / "trail.jsonl")
        _edit_line(export, trail[4].pk, lambda item: item["event"].update(outcome="denied"))
        with pytest.raises(CommandError, match=f"sequence number {trail[4].pk}: the event"):
            _verify("--export", str(export), "--public-key", str(public_key_file))

    def test_an_edit_with_its_links_recomputed_fails_at_the_signed_checkpoint(
        self, trail: list[AuditEvent], tmp_path: Path, public_key_file: Path
    ) -> None:
        export = _export(tmp_path / "trail.jsonl")
        _edit_line(export, trail[4].pk, lambda item: item["event"]["details"].update(thread_id=9))
        _drop_links(export)
        with pytest.raises(CommandError, match=f"events #{trail[3].pk} to #{trail[4].pk}"):
            _verify("--export", str(export), "--public-key", str(public_key_file))

    def test_a_removed_event_fails(
        self, trail: list[AuditEvent], tmp_path: Path, public_key_file: Path
    ) -> None:
        export = _export(tmp_path / "trail.jsonl")
        lines = [
            line for line in export.read_text().splitlines() if f'"id": {trail[5].pk},' not in line
        ]
        export.write_text("\n".join(lines) + "\n")
        with pytest.raises(CommandError, match="does not verify"):
            _verify("--export", str(export), "--public-key", str(public_key_file))

    def test_a_range_starts_from_the_signed_checkpoint_before_it(
        self, trail: list[AuditEvent], tmp_path: Path, public_key_file: Path
    ) -> None:
        first_ed25519 = AuditCheckpoint.objects.filter(algorithm="ed25519").first()
        assert first_ed25519 is not None
        export = tmp_path / "part.jsonl"
        with export.open("w") as out:
            trail_export(out, after=first_ed25519.through_event_id, through=trail[-1].pk)
        kinds = [json.loads(line)["type"] for line in export.read_text().splitlines()]
        assert kinds[:2] == ["header", "start"] and kinds.count("event") == 3
        out_text = _verify("--export", str(export), "--public-key", str(public_key_file))
        assert "audit export verifies: 3 events under 2 checkpoints" in out_text

    def test_the_export_is_itself_an_event(self, tmp_path: Path) -> None:
        _export(tmp_path / "trail.jsonl")
        exported = AuditEvent.objects.get(action="audit.exported")
        assert (exported.actor_label, exported.details["events"]) == ("audit_export command", 8)


def _drop_links(path: Path) -> None:
    """An editor who also recomputes the public links: they simply leave them out."""
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for item in lines:
        item.pop("link", None)
    path.write_text("\n".join(json.dumps(item) for item in lines) + "\n")


class TestSigningKeyCommand:
    def test_it_writes_a_private_key_only_its_owner_reads_and_prints_the_public_key(
        self, tmp_path: Path
    ) -> None:
        out = io.StringIO()
        call_command(
            "audit_signing_key", "--new", str(tmp_path / "k.pem"), stdout=out, stderr=io.StringIO()
        )
        assert out.getvalue().startswith("-----BEGIN PUBLIC KEY-----")
        assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600

    def test_it_never_overwrites_a_key(self, tmp_path: Path) -> None:
        (tmp_path / "k.pem").write_text("an existing key")
        with pytest.raises(CommandError, match="never overwritten"):
            call_command("audit_signing_key", "--new", str(tmp_path / "k.pem"))
        assert (tmp_path / "k.pem").read_text() == "an existing key"

    def test_the_deploy_check_requires_a_loadable_key(self, settings: Any, tmp_path: Path) -> None:
        from audit.signing import signing_check

        settings.PRODUCTION = True
        settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "missing.pem")
        settings.AUDIT_ANCHOR_SINK = "none"
        assert [message.id for message in signing_check()] == ["audit.E001", "audit.W005"]
