"""Encryption fixtures: a two-key local keyring, a private file store, a moto KMS/S3 server."""

from __future__ import annotations

import base64
import errno
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import connection

from tests.encryption.testapp.models import Note

KEY_1 = base64.urlsafe_b64encode(b"1" * 32).decode()
KEY_2 = base64.urlsafe_b64encode(b"2" * 32).decode()
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def two_keys(settings: Any) -> None:
    """Local keys k1 (first, so the initial primary) and k2."""
    settings.ENCRYPTION_KEYS = f"k1:{KEY_1},k2:{KEY_2}"
    settings.ENCRYPTION_PRIMARY_KEY_ID = None
    settings.ENCRYPTION_KMS_KEY_ID = None


@pytest.fixture
def file_store_dir(tmp_path: Path, settings: Any) -> Path:
    """The encrypted-files storage, in a directory of this test's own."""
    location = tmp_path / "encrypted"
    settings.STORAGES = {
        **settings.STORAGES,
        "encrypted_files": {
            "BACKEND": "encryption.storage.DurableFileSystemStorage",
            "OPTIONS": {"location": location},
        },
    }
    return location


def note_create(subject: str = "subject", body: str = "body", **fields: Any) -> Note:
    note = Note(subject=subject, body=body, **fields)
    note.save()
    return note


def note_reload(note: Note) -> Note:
    return Note.objects.get(pk=note.pk)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto in server mode on loopback: real HTTP, the real boto3 client, no patching."""
    from moto.server import ThreadedMotoServer

    saved = {name: os.environ.get(name) for name in AWS_ENV}
    os.environ.update(AWS_ENV)  # moto accepts any credentials; boto3 needs some
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def kms(moto_endpoint: str, settings: Any) -> Any:
    """A boto3 KMS client on the moto server; the provider is pointed at the same endpoint."""
    import boto3

    settings.ENCRYPTION_KMS_ENDPOINT_URL = moto_endpoint
    settings.ENCRYPTION_KMS_REGION = "us-east-1"
    return boto3.client("kms", region_name="us-east-1", endpoint_url=moto_endpoint)


def stored(note: Note, column: str) -> bytes:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM encryption_testapp_note WHERE id = %s",
            [note.pk],
        )
        return bytes(cursor.fetchone()[0])


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def disk_full_after(limit: int) -> Any:
    """A ``FileSystemStorage._save`` that writes ``limit`` bytes of the object, then meets
    a full disk (ENOSPC), as the real one does on a full volume."""

    def save(self: FileSystemStorage, name: str, content: Any) -> str:
        path = Path(self.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            for chunk in content.chunks():
                handle.write(chunk[: max(0, limit - handle.tell())])
                if handle.tell() >= limit:
                    raise OSError(errno.ENOSPC, "No space left on device")
        return name

    return save
