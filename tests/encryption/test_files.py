"""Encrypted file storage: streaming round trips, ciphertext-only store, tampering, erasure."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from encryption import crypto, files
from encryption.errors import DecryptionFailed, Erased
from encryption.models import EncryptedFile
from tests.encryption.test_crypto import payload

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


class TestS3:
    def test_files_round_trip_through_s3(self, moto_endpoint: str, settings: Any) -> None:
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint)
        s3.create_bucket(Bucket="portal-files")
        settings.STORAGES = {
            **settings.STORAGES,
            "encrypted_files": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": "portal-files",
                    "endpoint_url": moto_endpoint,
                    "region_name": "us-east-1",
                    "location": "encrypted",
                    "file_overwrite": False,
                },
            },
        }
        data = b"S3 PLAINTEXT " * 5000
        record = store(data)
        assert read(record) == data
        stored = s3.get_object(Bucket="portal-files", Key=f"encrypted/{record.storage_name}")
        assert b"S3 PLAINTEXT" not in stored["Body"].read()
