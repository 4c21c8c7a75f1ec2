"""`manage.py encryption_verify`: the restore drill's question, do rows, files and keys fit?"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from encryption import files
from tests.encryption.conftest import note_create

pytestmark = pytest.mark.django_db


def _verify(**options: Any) -> str:
    out = io.StringIO()
    call_command("encryption_verify", stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


class TestEncryptionVerify:
    def test_it_decrypts_rows_and_files_and_prints_counts_only(self, file_store_dir: Path) -> None:
        note_create(subject="Biopsy result", body="benign")
        files.file_store(source=io.BytesIO(b"x" * 5000), name="scan.pdf")
        output = _verify()
        assert "2 rows" in output and "1 files (5000 bytes)" in output
        assert "Everything sampled decrypts." in output
        assert "Biopsy" not in output and "scan.pdf" not in output

    def test_a_missing_file_fails_naming_the_object(self, file_store_dir: Path) -> None:
        record = files.file_store(source=io.BytesIO(b"x" * 10), name="scan.pdf")
        (file_store_dir / record.storage_name).unlink()
        with pytest.raises(CommandError, match="1 objects could not be decrypted"):
            _verify()

    def test_a_key_missing_from_this_server_fails(self, settings: Any) -> None:
        note_create()
        settings.ENCRYPTION_KEYS = "other:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY"
        with pytest.raises(CommandError, match="could not be decrypted"):
            _verify()

    def test_it_is_audited_with_counts(self) -> None:
        note_create()
        _verify(sample=5)
        event = AuditEvent.objects.get(action="encryption.store_verified")
        assert event.details == {"rows": 1, "values": 3, "files": 0, "failures": 0}
