"""Encrypted file storage: streaming round trips, ciphertext-only store, tampering, erasure."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encryption import crypto, files, services
from encryption.errors import DecryptionFailed, Erased
from encryption.models import DataKey, EncryptedFile
from tests.encryption.conftest import disk_full_after, payload

pytestmark = pytest.mark.django_db
CHUNK = 1024


def store(data: bytes, name: str = "scan.pdf", **kwargs: Any) -> EncryptedFile:
    kwargs.setdefault("chunk_size", CHUNK)
    return files.file_store(
        source=io.BytesIO(data), name=name, content_type="application/pdf", **kwargs
    )


def read(record: EncryptedFile) -> bytes:
    return b"".join(files.file_chunks(EncryptedFile.objects.get(pk=record.pk)))


def stored_path(root: Path, record: EncryptedFile) -> Path:
    return root / record.storage_name


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


class Interrupted(Exception):
    pass


class FailingSource:
    """A client upload that breaks off after ``fail_after`` bytes."""

    def __init__(self, data: bytes, fail_after: int) -> None:
        self._data, self._fail_after, self._position = data, fail_after, 0

    def read(self, size: int = -1, /) -> bytes:
        if self._position >= self._fail_after:
            raise Interrupted
        end = len(self._data) if size < 0 else self._position + size
        chunk = self._data[self._position : end]
        self._position += len(chunk)
        return chunk


def record_twin(record: EncryptedFile, pk: uuid.UUID) -> EncryptedFile:
    """An (unsaved) record under the same data key and stored object, with pk ``pk``."""
    return EncryptedFile(
        id=pk, data_key_id=record.data_key_id, storage_name=record.storage_name, size=record.size
    )


@pytest.fixture
def s3(moto_endpoint: str, settings: Any) -> Any:
    """The encrypted-files storage on a fresh bucket of the moto S3 server."""
    import boto3

    client = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint)
    bucket = f"portal-files-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "encrypted_files": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": moto_endpoint,
                "region_name": "us-east-1",
                "location": "encrypted",
                "file_overwrite": False,
            },
        },
    }
    client.bucket_name = bucket
    return client


class TestRoundTrip:
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        size=st.one_of(
            st.sampled_from([0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK]),
            st.integers(0, 8 * CHUNK),
        )
    )
    def test_any_size_reads_back(self, file_store_dir: Path, size: int) -> None:
        data = payload(size, seed=size)
        assert read(store(data)) == data

    def test_several_mebibytes_with_the_default_chunk_size(self, file_store_dir: Path) -> None:
        data = payload(6 * 1024 * 1024 + 1)
        record = store(data, chunk_size=crypto.DEFAULT_CHUNK_SIZE)
        assert read(record) == data
        assert record.size == len(data)

    def test_name_and_content_type_are_encrypted_fields(self, file_store_dir: Path) -> None:
        record = EncryptedFile.objects.get(pk=store(b"x", name="Jane Doe HIV test.pdf").pk)
        assert (record.original_name, record.content_type) == (
            "Jane Doe HIV test.pdf",
            "application/pdf",
        )


class TestTheStore:
    def test_objects_get_random_names_never_from_the_upload(self, file_store_dir: Path) -> None:
        first, second = store(b"a", name="same.pdf"), store(b"b", name="same.pdf")
        assert first.storage_name != second.storage_name
        assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}", first.storage_name)

    def test_the_store_holds_only_ciphertext(self, file_store_dir: Path) -> None:
        record = store(b"PLAINTEXT MARKER " * 200)
        content = stored_path(file_store_dir, record).read_bytes()
        assert content.startswith(crypto.STREAM_MAGIC)
        assert b"PLAINTEXT" not in content


class TestTampering:
    def test_a_bit_flip_in_the_stored_object_fails(self, file_store_dir: Path) -> None:
        record = store(payload(5 * CHUNK))
        path = stored_path(file_store_dir, record)
        content = bytearray(path.read_bytes())
        content[3 * CHUNK] ^= 0x01
        path.write_bytes(content)
        with pytest.raises(DecryptionFailed):
            read(record)

    def test_a_truncated_object_fails(self, file_store_dir: Path) -> None:
        record = store(payload(5 * CHUNK))
        path = stored_path(file_store_dir, record)
        path.write_bytes(path.read_bytes()[: crypto.STREAM_HEADER.size + 2 * (CHUNK + 16)])
        with pytest.raises(DecryptionFailed):
            read(record)

    def test_reordered_chunks_fail(self, file_store_dir: Path) -> None:
        record = store(payload(4 * CHUNK))
        path = stored_path(file_store_dir, record)
        content = path.read_bytes()
        head, size = crypto.STREAM_HEADER.size, CHUNK + 16
        chunks = [content[head + i * size : head + (i + 1) * size] for i in range(4)]
        path.write_bytes(content[:head] + chunks[1] + chunks[0] + chunks[2] + chunks[3])
        with pytest.raises(DecryptionFailed):
            read(record)

    def test_the_same_key_and_object_under_another_pk_fail(self, file_store_dir: Path) -> None:
        # Same data key, same stored object, only the pk differs: the owner in the
        # associated data alone must make it fail (not a different data key).
        record = EncryptedFile.objects.get(pk=store(b"bound to its own record").pk)
        assert b"".join(files.file_chunks(record_twin(record, record.pk))) == (
            b"bound to its own record"
        )
        with pytest.raises(DecryptionFailed, match="another object"):
            b"".join(files.file_chunks(record_twin(record, uuid.uuid4())))

    def test_objects_swapped_between_two_records_fail(self, file_store_dir: Path) -> None:
        first, second = store(b"first file"), store(b"second file")
        EncryptedFile.objects.filter(pk=first.pk).update(storage_name="swap")
        EncryptedFile.objects.filter(pk=second.pk).update(storage_name=first.storage_name)
        with pytest.raises(DecryptionFailed):
            read(second)


class TestDownload:
    def test_the_response_streams_plaintext_as_an_attachment(self, file_store_dir: Path) -> None:
        data = payload(3 * CHUNK + 5)
        response = files.file_response(store(data, name="report.pdf"))
        assert b"".join(response.streaming_content) == data  # type: ignore[arg-type]
        assert response["Content-Disposition"] == 'attachment; filename="report.pdf"'
        assert response["Content-Length"] == str(len(data))
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Cache-Control"] == "no-store"


class TestErasure:
    def test_an_erased_file_says_so_before_streaming(
        self, file_store_dir: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        record = store(b"to be shredded")
        with django_capture_on_commit_callbacks(execute=True):
            files.file_erase(record=record)
        with pytest.raises(Erased):
            files.file_chunks(EncryptedFile.objects.get(pk=record.pk))

    def test_the_ciphertext_is_deleted_once_the_erasure_commits(
        self, file_store_dir: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        record = store(b"to be shredded")
        with django_capture_on_commit_callbacks(execute=True):
            files.file_erase(record=record)
        assert not stored_path(file_store_dir, record).exists()

    def test_deleting_the_record_shreds_its_key_and_then_its_ciphertext(
        self, file_store_dir: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        record = store(b"deleted, not erased")
        path = stored_path(file_store_dir, record)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            EncryptedFile.objects.get(pk=record.pk).delete()
            assert path.exists()  # the ciphertext waits for the commit
        assert DataKey.objects.get(pk=record.data_key_id).destroyed_at is not None
        for callback in callbacks:
            callback()
        assert not path.exists()

    def test_a_rolled_back_delete_keeps_the_key_and_the_ciphertext(
        self, file_store_dir: Path, django_capture_on_commit_callbacks: Any
    ) -> None:
        data = payload(3 * CHUNK)
        record = store(data)
        with (
            django_capture_on_commit_callbacks(execute=True),
            pytest.raises(Interrupted),
            transaction.atomic(),
        ):
            EncryptedFile.objects.get(pk=record.pk).delete()
            raise Interrupted
        assert stored_path(file_store_dir, record).exists()
        assert read(record) == data


class TestFailedUploads:
    def test_a_source_that_breaks_off_leaves_no_object_and_no_live_key(
        self, file_store_dir: Path
    ) -> None:
        source = FailingSource(payload(6 * CHUNK), fail_after=3 * CHUNK)
        with pytest.raises(Interrupted):
            files.file_store(source=source, name="scan.pdf", chunk_size=CHUNK)
        assert stored_files(file_store_dir) == []
        assert not EncryptedFile.objects.exists()
        assert [(dk.destroyed_at is not None, dk.wrapped) for dk in DataKey.objects.all()] == [
            (True, None)
        ]

    def test_a_failed_insert_leaves_no_object_and_no_live_key(
        self, file_store_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def insert_fails(self: EncryptedFile, *args: Any, **kwargs: Any) -> None:
            raise IntegrityError("simulated")

        monkeypatch.setattr(EncryptedFile, "save", insert_fails)
        with pytest.raises(IntegrityError, match="simulated"):
            store(payload(3 * CHUNK))
        assert stored_files(file_store_dir) == []
        assert list(DataKey.objects.values_list("wrapped", "kek_id")) == [(None, None)]
        assert DataKey.objects.get().destroyed_at is not None  # the caller's transaction works


class TestFullDisk:
    """Found by the soak battery (issue 23): a full file store answered uploads with a
    server error. It is a ``StoreFull`` now, and nothing half-written stays."""

    def test_a_full_store_raises_store_full_and_leaves_no_object_or_live_key(
        self, file_store_dir: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from django.core.files.storage import FileSystemStorage

        from encryption.errors import StoreFull

        monkeypatch.setattr(FileSystemStorage, "_save", disk_full_after(2 * CHUNK))
        with pytest.raises(StoreFull):
            store(payload(6 * CHUNK))
        assert stored_files(file_store_dir) == []
        assert not EncryptedFile.objects.exists()
        assert DataKey.objects.get().destroyed_at is not None


class TestEncryptedBeforeTheTransaction:
    """``file_encrypt``: the ciphertext first, the key and the row in the caller's
    transaction, with its own object; nothing readable if that does not commit."""

    def test_key_and_row_saved_in_the_callers_transaction_read_back(
        self, file_store_dir: Path
    ) -> None:
        [key] = services.data_keys_wrap(count=1)
        record = files.file_encrypt(
            source=io.BytesIO(payload(3 * CHUNK)), name="scan.pdf", data_key=key, chunk_size=CHUNK
        )
        assert not DataKey.objects.exists() and not EncryptedFile.objects.exists()
        with transaction.atomic():
            services.data_keys_save([key])
            EncryptedFile.objects.bulk_create([record])
        assert read(record) == payload(3 * CHUNK)
        assert EncryptedFile.objects.get(pk=record.pk).original_name == "scan.pdf"

    def test_a_source_that_breaks_off_leaves_nothing_in_the_store(
        self, file_store_dir: Path
    ) -> None:
        [key] = services.data_keys_wrap(count=1)
        with pytest.raises(Interrupted):
            files.file_encrypt(
                source=FailingSource(payload(6 * CHUNK), fail_after=3 * CHUNK),
                name="scan.pdf",
                data_key=key,
                chunk_size=CHUNK,
            )
        assert stored_files(file_store_dir) == []

    def test_a_transaction_that_did_not_commit_leaves_no_ciphertext(
        self, file_store_dir: Path
    ) -> None:
        [key] = services.data_keys_wrap(count=1)
        record = files.file_encrypt(source=io.BytesIO(b"never sent"), name="a.pdf", data_key=key)
        with pytest.raises(Interrupted), transaction.atomic():
            services.data_keys_save([key])
            EncryptedFile.objects.bulk_create([record])
            raise Interrupted
        files.files_discard([record])
        assert stored_files(file_store_dir) == []
        assert not DataKey.objects.exists() and not EncryptedFile.objects.exists()


class TestS3:
    def test_files_round_trip_through_s3(self, s3: Any) -> None:
        data = b"S3 PLAINTEXT " * 5000
        record = store(data)
        assert read(record) == data
        stored = s3.get_object(Bucket=s3.bucket_name, Key=f"encrypted/{record.storage_name}")
        assert b"S3 PLAINTEXT" not in stored["Body"].read()

    def test_downloads_read_the_object_chunk_by_chunk(
        self, s3: Any, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from botocore.response import StreamingBody
        from storages.backends.s3 import S3Storage

        data = payload(6 * CHUNK + 7)  # seven records
        record = EncryptedFile.objects.get(pk=store(data).pk)
        record_size = CHUNK + crypto.TAG_BYTES
        object_size = crypto.STREAM_HEADER.size + 6 * record_size + 7 + crypto.TAG_BYTES
        asked: list[int | None] = []
        received: list[int] = []
        original_read = StreamingBody.read

        def read_spy(self: StreamingBody, amt: int | None = None) -> bytes:
            asked.append(amt)
            data = original_read(self, amt)
            received.append(len(data))
            return data

        def open_refused(*args: Any, **kwargs: Any) -> None:
            raise AssertionError("S3Storage.open downloads the whole object into memory")

        monkeypatch.setattr(StreamingBody, "read", read_spy)
        monkeypatch.setattr(S3Storage, "open", open_refused)
        chunks = files.file_chunks(record)
        assert next(chunks) == data[:CHUNK]
        # The first chunk is out after the header and two records (one of look-ahead).
        assert sum(received) == crypto.STREAM_HEADER.size + 2 * record_size < object_size
        assert b"".join(chunks) == data[CHUNK:]
        assert sum(received) == object_size
        assert all(amt is not None and 0 < amt <= record_size for amt in asked)

    def test_a_missing_object_is_file_not_found(self, s3: Any) -> None:
        record = store(b"x")
        s3.delete_object(Bucket=s3.bucket_name, Key=f"encrypted/{record.storage_name}")
        with pytest.raises(FileNotFoundError):
            files.file_chunks(record)

    def test_a_failed_upload_leaves_nothing_in_the_bucket(self, s3: Any) -> None:
        source = FailingSource(payload(4 * CHUNK), fail_after=2 * CHUNK)
        with pytest.raises(Interrupted):
            files.file_store(source=source, name="scan.pdf", chunk_size=CHUNK)
        assert s3.list_objects_v2(Bucket=s3.bucket_name).get("KeyCount") == 0
        assert DataKey.objects.get().destroyed_at is not None
