"""The local file store makes each ciphertext durable before the row naming it commits:
the file and its directories up to the store's root are fsynced when ``save`` returns
(encryption/storage.py)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from encryption import files
from encryption.storage import DurableFileSystemStorage

pytestmark = pytest.mark.django_db


def test_the_file_and_its_directory_are_on_disk_when_the_store_returns(
    file_store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    record = files.file_store(
        source=io.BytesIO(b"%PDF-1.4 scanned form" * 100),
        name="form.pdf",
        content_type="application/pdf",
    )
    stored = file_store_dir / record.storage_name
    assert synced == [str(stored), str(stored.parent), str(file_store_dir)]
    assert b"".join(files.file_chunks(record)) == b"%PDF-1.4 scanned form" * 100


def test_a_failed_fsync_fails_the_store_and_leaves_nothing(
    file_store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fsync(descriptor: int) -> Any:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError):
        files.file_store(
            source=io.BytesIO(b"x" * 100), name="a.pdf", content_type="application/pdf"
        )
    assert [p for p in file_store_dir.rglob("*") if p.is_file()] == []


def test_the_local_store_is_the_durable_one_unless_s3_is_set() -> None:
    if settings.ENCRYPTION_FILES_S3_BUCKET:
        pytest.skip("this run stores files in S3")
    assert isinstance(files.files_storage(), DurableFileSystemStorage)
