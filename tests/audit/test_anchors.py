"""Anchors outside the database: written with each checkpoint, read back by audit_verify."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from audit.anchors import anchors_write
from audit.models import AuditAnchor, AuditCheckpoint
from audit.sealing import events_seal
from audit.signing import public_key_load
from audit.verification import chain_verify
from tests.encryption.conftest import moto_endpoint  # noqa: F401 - the moto server fixture

from .conftest import record, seal_as_before_ed25519, triggers_disabled

ROOT = Path(__file__).resolve().parent.parent.parent


def _sealed_twice() -> list[AuditCheckpoint]:
    record(2)
    events_seal()
    record(2)
    events_seal()
    return list(AuditCheckpoint.objects.order_by("through_event_id"))


def _roll_back_to(checkpoint: AuditCheckpoint) -> None:
    """What restoring a backup taken at ``checkpoint`` leaves: everything after it gone."""
    through = checkpoint.through_event_id
    with triggers_disabled() as cursor:
        cursor.execute(
            "DELETE FROM audit_auditanchor WHERE checkpoint_id IN "
            "(SELECT id FROM audit_auditcheckpoint WHERE through_event_id > %s)",
            [through],
        )
        cursor.execute("DELETE FROM audit_auditcheckpoint WHERE through_event_id > %s", [through])
        cursor.execute("DELETE FROM audit_auditseal WHERE event_id > %s", [through])
        cursor.execute("DELETE FROM audit_auditevent WHERE id > %s", [through])


@pytest.mark.django_db
class TestFileAnchors:
    def test_each_checkpoint_is_appended_to_the_file(self, anchor_file: Path) -> None:
        checkpoints = _sealed_twice()
        lines = [json.loads(line) for line in anchor_file.read_text().splitlines()]
        assert [(a["through_event_id"], a["head_hash"]) for a in lines] == [
            (c.through_event_id, c.head_hash) for c in checkpoints
        ]
        assert AuditAnchor.objects.count() == 2

    def test_checkpoints_made_before_anchoring_are_anchored_too(
        self, settings: Any, tmp_path: Path, public_key_file: Path
    ) -> None:
        record(2)
        seal_as_before_ed25519()
        _sealed_twice()
        settings.AUDIT_ANCHOR_SINK = "file"
        settings.AUDIT_ANCHOR_PATH = str(tmp_path / "anchors.jsonl")
        assert anchors_write() == 3
        assert "3 anchors match" in chain_verify(record=False).summary()
        public = chain_verify(record=False, public_keys_only=[public_key_load(public_key_file)])
        assert "3 anchors match" in public.summary()

    def test_an_untouched_trail_verifies_with_its_anchors(self, anchor_file: Path) -> None:
        _sealed_twice()
        out = io.StringIO()
        call_command("audit_verify", stdout=out)
        assert "2 anchors match, 0 checkpoints not yet anchored" in out.getvalue()

    def test_a_database_rolled_back_behind_the_latest_anchor_fails_naming_it(
        self, anchor_file: Path
    ) -> None:
        first, latest = _sealed_twice()
        _roll_back_to(first)
        assert chain_verify(record=False).events_checked == 2  # chain alone: fine
        with pytest.raises(
            CommandError, match=f"database is behind anchor {anchor_file}:2 "
        ) as failure:
            call_command("audit_verify")
        assert f"through event #{latest.through_event_id}" in str(failure.value)

    def test_a_checkpoint_that_differs_from_its_anchor_fails(self, anchor_file: Path) -> None:
        first, _ = _sealed_twice()
        with triggers_disabled() as cursor:
            cursor.execute(
                "UPDATE audit_auditcheckpoint SET head_hash = %s WHERE id = %s",
                ["0" * 64, first.pk],
            )
        report = chain_verify(record=False)
        assert not report.ok and report.first_bad_event_id == first.through_event_id

    def test_an_anchor_removed_from_the_file_fails(self, anchor_file: Path) -> None:
        _sealed_twice()
        anchor_file.write_text(anchor_file.read_text().splitlines()[0] + "\n")
        report = chain_verify(record=False)
        assert "is missing from the sink" in report.summary()

    def test_a_failed_write_keeps_the_checkpoint_and_the_next_run_writes_it(
        self, anchor_file: Path, settings: Any, caplog: pytest.LogCaptureFixture
    ) -> None:
        settings.AUDIT_ANCHOR_PATH = str(anchor_file.parent / "not-mounted" / "anchors.jsonl")
        record(2)
        events_seal()
        assert AuditCheckpoint.objects.count() == 1 and not AuditAnchor.objects.exists()
        assert "audit anchor not written for checkpoint" in caplog.text
        assert "1 checkpoints not yet anchored" in chain_verify(record=False).summary()
        (anchor_file.parent / "not-mounted").mkdir()
        events_seal()
        assert AuditAnchor.objects.count() == 1
        assert "0 checkpoints not yet anchored" in chain_verify(record=False).summary()

    def test_an_unreadable_anchor_file_fails_verification(self, anchor_file: Path) -> None:
        _sealed_twice()
        with anchor_file.open("a") as handle:
            handle.write("not json\n")
        assert "is not readable" in chain_verify(record=False).summary()

    def test_the_public_key_check_reads_the_anchors_too(
        self, anchor_file: Path, public_key_file: Path, settings: Any
    ) -> None:
        first, _ = _sealed_twice()
        _roll_back_to(first)
        settings.AUDIT_SEAL_KEY = "not the seal key, and long enough to look like one"
        settings.AUDIT_SIGNING_KEY_FILE = str(anchor_file.parent / "no-such-key.pem")
        with pytest.raises(CommandError, match="database is behind anchor"):
            call_command("audit_verify", "--public-key", str(public_key_file))

    def test_a_restore_drill_allows_anchors_after_the_backup(self, anchor_file: Path) -> None:
        first, _ = _sealed_twice()
        _roll_back_to(first)
        out = io.StringIO()
        call_command("audit_verify", "--allow-behind", stdout=out)
        assert "1 anchors match" in out.getvalue()


@pytest.fixture
def anchor_bucket(moto_endpoint: str, settings: Any) -> Iterator[Any]:  # noqa: F811
    """A bucket with Object Lock on moto's S3 server, and the sink pointed at it."""
    import boto3

    client = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint)
    bucket = f"anchors-{os.urandom(4).hex()}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    settings.AUDIT_ANCHOR_SINK = "s3"
    settings.AUDIT_ANCHOR_S3_BUCKET = bucket
    settings.AUDIT_ANCHOR_S3_REGION = "us-east-1"
    settings.AUDIT_ANCHOR_S3_ENDPOINT_URL = moto_endpoint
    settings.AUDIT_ANCHOR_RETAIN_DAYS = 30
    client.bucket = bucket
    yield client


@pytest.mark.django_db
class TestS3Anchors:
    def test_each_checkpoint_is_an_object_locked_in_compliance_mode(
        self, anchor_bucket: Any
    ) -> None:
        checkpoints = _sealed_twice()
        keys = [
            o["Key"] for o in anchor_bucket.list_objects_v2(Bucket=anchor_bucket.bucket)["Contents"]
        ]
        assert len(keys) == len(checkpoints) == 2
        head = anchor_bucket.head_object(Bucket=anchor_bucket.bucket, Key=keys[-1])
        assert head["ObjectLockMode"] == "COMPLIANCE"
        retained = head["ObjectLockRetainUntilDate"] - datetime.now(UTC)
        assert timedelta(days=29) < retained <= timedelta(days=30)

    def test_a_locked_anchor_cannot_be_deleted(self, anchor_bucket: Any) -> None:
        from botocore.exceptions import ClientError

        _sealed_twice()
        versions = anchor_bucket.list_object_versions(Bucket=anchor_bucket.bucket)["Versions"]
        with pytest.raises(ClientError, match="AccessDenied"):
            anchor_bucket.delete_object(
                Bucket=anchor_bucket.bucket,
                Key=versions[0]["Key"],
                VersionId=versions[0]["VersionId"],
            )

    def test_a_database_rolled_back_behind_the_latest_anchor_fails_naming_it(
        self, anchor_bucket: Any
    ) -> None:
        first, latest = _sealed_twice()
        _roll_back_to(first)
        expected = f"database is behind anchor s3://{anchor_bucket.bucket}/audit-anchors/{latest.through_event_id:020d}"
        with pytest.raises(CommandError, match=expected):
            call_command("audit_verify")

    def test_a_missing_bucket_loses_no_checkpoint(self, anchor_bucket: Any, settings: Any) -> None:
        settings.AUDIT_ANCHOR_S3_BUCKET = "no-such-bucket"
        record(1)
        events_seal()
        assert AuditCheckpoint.objects.count() == 1 and anchors_write() == 0
        settings.AUDIT_ANCHOR_S3_BUCKET = anchor_bucket.bucket
        assert anchors_write() == 1


@pytest.mark.django_db(transaction=True)
class TestRestoredBackup:
    """The real thing: pg_dump before the last checkpoint, pg_restore into a new database,
    and audit_verify run on it as an operator would (its own process)."""

    def test_a_database_restored_from_an_older_backup_fails_naming_the_anchor(
        self, anchor_file: Path, tmp_path: Path
    ) -> None:
        record(2)
        events_seal()
        dump = tmp_path / "backup.dump"
        params = connection.settings_dict
        url = f"postgresql://{params['USER']}@{params['HOST']}:{params['PORT']}"
        subprocess.run(["pg_dump", "-Fc", "-f", str(dump), f"{url}/{params['NAME']}"], check=True)
        record(2)
        events_seal()
        latest = AuditCheckpoint.objects.order_by("through_event_id").last()
        assert latest is not None
        restored = f"{params['NAME']}_restored"
        subprocess.run(
            ["dropdb", "--if-exists", f"--maintenance-db={url}/postgres", restored], check=True
        )
        subprocess.run(["createdb", f"--maintenance-db={url}/postgres", restored], check=True)
        try:
            subprocess.run(
                ["pg_restore", "--no-owner", "-d", f"{url}/{restored}", str(dump)], check=True
            )
            verify = subprocess.run(
                [sys.executable, "manage.py", "audit_verify"],
                cwd=ROOT,
                env={
                    **os.environ,
                    "DATABASE_URL": f"{url}/{restored}",
                    "AUDIT_SEAL_KEY": django_settings.AUDIT_SEAL_KEY,
                    "AUDIT_SIGNING_KEY_FILE": django_settings.AUDIT_SIGNING_KEY_FILE,
                    "AUDIT_ANCHOR_SINK": "file",
                    "AUDIT_ANCHOR_PATH": str(anchor_file),
                },
                capture_output=True,
                text=True,
            )
        finally:
            subprocess.run(["dropdb", f"--maintenance-db={url}/postgres", restored], check=True)
        assert verify.returncode == 2
        assert f"database is behind anchor {anchor_file}:2" in verify.stderr
        assert f"through event #{latest.through_event_id}" in verify.stderr
