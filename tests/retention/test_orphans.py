"""Ciphertext left in the store by an upload whose transaction rolled back is swept."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from encryption.files import file_store, files_storage, orphans_delete
from retention.models import PurgeRun
from tests.retention.factories import purge, years_later

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def own_store(settings: Any, tmp_path: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "encrypted_files": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


def rolled_back_upload() -> str:
    names = []
    with pytest.raises(RuntimeError), transaction.atomic():
        names.append(file_store(source=io.BytesIO(b"scan" * 100), name="form.pdf").storage_name)
        raise RuntimeError("the caller's transaction failed")
    return names[0]


def aged(name: str, days: int = 2) -> None:
    past = time.time() - days * 86400
    os.utime(files_storage().path(name), (past, past))


def test_a_rolled_back_uploads_ciphertext_is_deleted() -> None:
    name = rolled_back_upload()
    aged(name)
    assert orphans_delete() == 1
    assert not files_storage().exists(name)


def test_a_young_object_is_left_alone() -> None:
    name = rolled_back_upload()
    assert orphans_delete() == 0
    assert files_storage().exists(name)


def test_a_file_with_its_row_is_kept() -> None:
    record = file_store(source=io.BytesIO(b"kept" * 100), name="kept.pdf")
    aged(record.storage_name)
    assert orphans_delete(older_than=timedelta(0)) == 0
    assert files_storage().exists(record.storage_name)


def test_an_empty_store_has_no_orphans() -> None:
    assert orphans_delete() == 0


def test_the_nightly_purge_sweeps_and_counts_them() -> None:
    aged(rolled_back_upload())
    run = purge(years_later(1))
    assert run.orphans == 1
    assert PurgeRun.objects.get().orphans == 1
