"""Encrypted files: STREAM ciphertext in a django-storages store, metadata in the database.

The store is the ``encrypted_files`` entry of ``STORAGES``: a private local directory
by default, S3 (``storages.backends.s3.S3Storage``) when ``ENCRYPTION_FILES_S3_BUCKET``
is set. It only ever receives ciphertext, under a random name that says nothing about
the file and is never reused (the storage refuses to overwrite). Encryption and
decryption stream in chunks, so memory use does not grow with the file: downloads from
S3 read the object's HTTP body ``read(n)`` by ``read(n)`` (django-storages' own ``open``
would first copy the whole object into an in-memory spooled file).

Nothing is left behind: an upload that fails after its data key was made deletes
whatever reached the store and destroys the key; deleting an ``EncryptedFile`` row
destroys its key and, once the deletion commits, the stored ciphertext.

Downloads: ``file_response`` streams plaintext as an attachment. Each chunk is
released only after its tag verified; if a later chunk fails (the stored object was
altered or cut short) the response is aborted mid-way, and the client sees a broken
download (short of Content-Length), never altered bytes. The caller records the audit
event for the download: it knows the patient and why.
"""

from __future__ import annotations

import errno
import logging
import secrets
import sys
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import IO, Any, Protocol, cast

from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from encryption import crypto, services
from encryption.crypto import Readable
from encryption.errors import DecryptionFailed, StoreFull
from encryption.models import DataKey, EncryptedFile

logger = logging.getLogger(__name__)
STORAGE_ALIAS = "encrypted_files"
# Stored objects younger than this are never orphans: their row may not be committed yet.
ORPHAN_AGE = timedelta(days=1)
CONTENT_FIELD = "content"


def files_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def _storage_name() -> str:
    token = secrets.token_hex(16)  # 128 random bits: nothing from the upload
    return f"{token[:2]}/{token}"


def _owner(record: EncryptedFile) -> tuple[str, str, str]:
    return (EncryptedFile.aad_label(), str(record.pk), CONTENT_FIELD)


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
    If anything fails once the data key exists (the source, the store, the INSERT), the
    stored object (complete or partial) is deleted and the data key destroyed before
    the error propagates: no orphan ciphertext, no live key for it.
    """
    record = EncryptedFile(original_name=name, content_type=content_type)
    services.object_dek(record)
    stored_name: str | None = None
    try:
        stored_name = _encrypt_into_store(record, source, chunk_size)
        with transaction.atomic():  # a savepoint: a failed INSERT leaves the caller usable
            record.save(force_insert=True)
    except BaseException:
        _upload_undo(files_storage(), stored_name or record.storage_name, record)
        raise
    return record


def file_encrypt(
    *,
    source: Readable,
    name: str,
    data_key: DataKey,
    content_type: str = "application/octet-stream",
    chunk_size: int = crypto.DEFAULT_CHUNK_SIZE,
) -> EncryptedFile:
    """Encrypt ``source`` into the store under ``data_key`` (``services.data_keys_wrap``,
    not yet saved); return the record, not yet saved either.

    For a caller that saves the key, the record and its own object in one transaction
    (``services.data_keys_save``, then ``bulk_create``), after the upload and outside
    any transaction, and calls ``files_discard`` if that transaction does not commit.
    Until it commits nothing in the database knows the key, so a crash in between
    leaves ciphertext that nothing can decrypt (``orphans_delete`` removes it).
    A failure here deletes what reached the store before it propagates.
    """
    record = EncryptedFile(original_name=name, content_type=content_type, data_key=data_key)
    stored_name: str | None = None
    try:
        stored_name = _encrypt_into_store(record, source, chunk_size)
    except BaseException:
        _stored_delete(stored_name or record.storage_name)
        raise
    return record


def files_discard(records: Sequence[EncryptedFile]) -> None:
    """The stored ciphertext of ``file_encrypt`` records whose transaction did not commit
    (their keys and rows went with it). Best effort, like ``_upload_undo``."""
    for record in records:
        _stored_delete(record.storage_name)


def _encrypt_into_store(record: EncryptedFile, source: Readable, chunk_size: int) -> str:
    """Encrypt under the record's key into a new stored object; fills in the record's
    storage name (first, so a failure can delete a partial object) and size."""
    dek = services.object_dek(record)
    record.storage_name = _storage_name()
    counted = crypto.CountingReader(source)
    ciphertext = crypto.IterStream(
        crypto.stream_encrypt(dek, counted, _owner(record), chunk_size=chunk_size)
    )
    try:
        stored_name = files_storage().save(record.storage_name, _CiphertextUpload(ciphertext))
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreFull(f"the file store is full ({errno.errorcode[error.errno]})") from error
        raise
    record.storage_name = stored_name
    record.size = counted.count
    return stored_name


def _stored_delete(name: str) -> None:
    if not name:
        return  # failed before a name was chosen: nothing reached the store
    try:
        files_storage().delete(name)  # also a partial object; deleting a missing one is a no-op
    except Exception:
        logger.exception("encrypted upload failed; its stored object could not be deleted")


def _upload_undo(storage: Storage, name: str, record: EncryptedFile) -> None:
    """Best effort; a failure here is logged and the original error still propagates."""
    _stored_delete(name)
    try:
        services.dek_destroy(data_key_id=record.data_key_id)
    except Exception:
        logger.exception("encrypted upload failed; its data key could not be destroyed")


class _Body(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


def _open_ciphertext(storage: Storage, name: str) -> _Body:
    """The stored object, readable in chunks without holding it all (S3 included)."""
    s3 = sys.modules.get("storages.backends.s3")  # not imported: storage cannot be S3
    if s3 is not None and isinstance(storage, s3.S3Storage):
        return _s3_body(storage, name)
    return cast(_Body, storage.open(name, "rb"))


def _s3_body(storage: Any, name: str) -> _Body:
    """``GetObject``'s streaming body: ``read(n)`` pulls n bytes from the HTTP response."""
    from botocore.exceptions import ClientError
    from s3transfer.constants import ALLOWED_DOWNLOAD_ARGS
    from storages.utils import clean_name

    key = storage._normalize_name(clean_name(name))  # as S3Storage._open does
    # The storage's download parameters (SSE-C keys, RequestPayer...), as S3File passes them.
    params = {
        arg: value
        for arg, value in storage.get_object_parameters(name).items()
        if arg in ALLOWED_DOWNLOAD_ARGS
    }
    try:
        return cast(_Body, storage.bucket.Object(key).get(**params)["Body"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(f"encrypted file object {name} does not exist") from None
        raise


def file_chunks(record: EncryptedFile) -> Iterator[bytes]:
    """The plaintext, chunk by chunk. ``Erased`` is raised here, before the first chunk."""
    dek = services.object_dek(record)
    handle = _open_ciphertext(files_storage(), record.storage_name)
    return _verified(dek, handle, record)


def _verified(dek: bytes, handle: _Body, record: EncryptedFile) -> Iterator[bytes]:
    produced = 0
    try:
        for chunk in crypto.stream_decrypt(dek, handle, _owner(record)):
            produced += len(chunk)
            yield chunk
    finally:
        handle.close()
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


def file_deleted(sender: type[EncryptedFile], instance: EncryptedFile, **kwargs: Any) -> None:
    """``post_delete`` of ``EncryptedFile``: delete the ciphertext once the deletion commits.

    The data key is destroyed by ``services.object_deleted`` in the same transaction.
    """
    name = instance.storage_name
    if name:
        transaction.on_commit(lambda: _delete_quietly(name))


def _delete_quietly(name: str) -> None:
    try:
        files_storage().delete(name)
    except Exception:  # the key is already gone: what is left is undecryptable ciphertext
        logger.exception("encrypted file deleted; its stored object could not be deleted")


def orphans_delete(*, older_than: timedelta = ORPHAN_AGE) -> int:
    """Delete stored ciphertext that no ``EncryptedFile`` row names; how many went.

    A store inside a transaction that later rolls back leaves its ciphertext behind with
    no row (and no key: the key's row rolled back too), so it is unreadable but still
    occupies the store. Only objects older than ``older_than`` are deleted, so an upload
    whose row is not yet committed is never taken for an orphan.
    """
    storage = files_storage()
    cutoff = timezone.now() - older_than
    deleted = 0
    for folder in _listdir(storage, "")[0]:
        names = [f"{folder}/{file}" for file in _listdir(storage, folder)[1]]
        known = set(
            EncryptedFile.objects.filter(storage_name__in=names).values_list(
                "storage_name", flat=True
            )
        )
        for name in names:
            if name in known or storage.get_modified_time(name) > cutoff:
                continue
            storage.delete(name)
            deleted += 1
    return deleted


def _listdir(storage: Storage, path: str) -> tuple[list[str], list[str]]:
    try:
        return storage.listdir(path)
    except FileNotFoundError:  # a local store that has never held a file
        return [], []
