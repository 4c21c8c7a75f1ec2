"""Encrypted files: STREAM ciphertext in a django-storages store, metadata in the database.

The store is the ``encrypted_files`` entry of ``STORAGES``: a private local directory
by default, S3 (``storages.backends.s3.S3Storage``) when ``ENCRYPTION_FILES_S3_BUCKET``
is set. It only ever receives ciphertext, under a random name that says nothing about
the file and is never reused (the storage refuses to overwrite). Encryption and
decryption stream in chunks, so memory use does not grow with the file.

Downloads: ``file_response`` streams plaintext as an attachment. Each chunk is
released only after its tag verified; if a later chunk fails (the stored object was
altered or cut short) the response is aborted mid-way, and the client sees a broken
download (short of Content-Length), never altered bytes. The caller records the audit
event for the download: it knows the patient and why.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import IO, cast

from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from encryption import crypto, services
from encryption.crypto import Readable
from encryption.errors import DecryptionFailed
from encryption.models import EncryptedFile

STORAGE_ALIAS = "encrypted_files"
CONTENT_FIELD = "content"


def files_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def _storage_name() -> str:
    token = secrets.token_hex(16)  # 128 random bits: nothing from the upload
    return f"{token[:2]}/{token}"


def _owner(record: EncryptedFile) -> tuple[str, str, str]:
    return (EncryptedFile._meta.label_lower, str(record.pk), CONTENT_FIELD)


class _CiphertextUpload(File):
    """Hands the storage ciphertext records as they are made: ``chunks()`` for local files
    (no re-slicing), ``read(n)`` for S3's multipart upload."""

    def __init__(self, stream: crypto.IterStream) -> None:
        super().__init__(cast(IO[bytes], stream), name="upload")
        self._stream = stream

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        return self._stream.records()


def file_store(
    *,
    source: Readable,
    name: str,
    content_type: str = "application/octet-stream",
    chunk_size: int = crypto.DEFAULT_CHUNK_SIZE,
) -> EncryptedFile:
    """Encrypt ``source`` (any object with ``read(n)``) into the store; return its record.

    The upload runs outside any transaction we open, so a slow client does not hold one.
    If the final INSERT fails, the store keeps an object nobody can name or decrypt.
    """
    record = EncryptedFile(original_name=name, content_type=content_type)
    dek = services.object_dek(record)
    counted = crypto.CountingReader(source)
    ciphertext = crypto.IterStream(
        crypto.stream_encrypt(dek, counted, _owner(record), chunk_size=chunk_size)
    )
    upload = _CiphertextUpload(ciphertext)
    record.storage_name = files_storage().save(_storage_name(), upload)
    record.size = counted.count
    record.save(force_insert=True)
    return record


def file_chunks(record: EncryptedFile) -> Iterator[bytes]:
    """The plaintext, chunk by chunk. ``Erased`` is raised here, before the first chunk."""
    dek = services.object_dek(record)
    handle = files_storage().open(record.storage_name, "rb")
    return _verified(dek, handle, record)


def _verified(dek: bytes, handle: File, record: EncryptedFile) -> Iterator[bytes]:
    produced = 0
    with handle:
        for chunk in crypto.stream_decrypt(dek, handle, _owner(record)):
            produced += len(chunk)
            yield chunk
    if produced != record.size:
        raise DecryptionFailed(f"encrypted file {record.pk} has the wrong length")


def file_response(record: EncryptedFile, *, as_attachment: bool = True) -> StreamingHttpResponse:
    """Stream the plaintext to the client: attachment, nosniff, never cached."""
    response = StreamingHttpResponse(file_chunks(record), content_type=record.content_type)
    response["Content-Length"] = str(record.size)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment, record.original_name) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def file_erase(*, record: EncryptedFile, patient_id: int | None = None) -> bool:
    """Crypto-shred the file (its DEK), then delete the ciphertext once that committed."""
    with transaction.atomic():
        destroyed = services.object_erase(obj=record, patient_id=patient_id)
        name = record.storage_name
        transaction.on_commit(lambda: files_storage().delete(name))
    return destroyed
