"""The envelope construction: formats and the AES-256-GCM calls, nothing else.

No Django here, so the formats can be read, reviewed and property-tested on their own.

Choice of construction
----------------------
Everything is AES-256-GCM from ``cryptography`` (``AESGCM``, OpenSSL underneath), the
library the project already ships for passkeys. We considered Google Tink (its Python
package has KMS envelope AEAD and AES-GCM-HKDF streaming AEAD) and chose not to:
it brings a native C++ extension and protobuf keysets whose key management would
duplicate ours (KEK ids and states live in our database so rotation needs no
redeploy, see ``encryption.models``), and its streaming API wants its own file
wrappers around Django storages. What we use instead is a published, analysed
construction: STREAM (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015), the
same chunk/nonce layout as Tink's streaming AEAD and age. Nothing below invents a
primitive: it only fixes nonces, associated data and byte layouts, which are
versioned so they can change without breaking stored data.

Associated data (``aad``) is a length-prefixed sequence of parts (2-byte big-endian
length, then the bytes), so no two different tuples encode alike. Callers bind a
ciphertext to its owner with ``(purpose, model label, object pk, field name)``; a
ciphertext copied to another row or field then fails authentication.

Field value, version 1 (``seal`` / ``open_sealed``)::

    0x01 | nonce (12 random bytes) | AES-256-GCM(dek, nonce, plaintext, aad) (incl. 16-byte tag)

    aad = frame(b"portal.field.v1", *owner parts)

A DEK encrypts the few fields of one object, so random 96-bit nonces stay far below
the 2**32 messages per key that NIST SP 800-38D allows for random nonces.

Wrapped DEK, local KEK, version 1 (``kek_wrap`` / ``kek_unwrap``)::

    0x01 | nonce (12 random bytes) | AES-256-GCM(kek, nonce, dek, aad)
    aad = frame(b"portal.dek.v1", kek id, dek id)

Stream (files), version 1 (``stream_encrypt`` / ``stream_decrypt``)::

    header = b"PENC" | 0x01 | chunk size (4 bytes BE) | nonce prefix (7 random bytes)   16 bytes
    record i = AES-256-GCM(dek, prefix | i (4 bytes BE) | last (0x00 or 0x01), chunk i,
                           aad = frame(b"portal.stream.v1", *owner parts) | header)

Every chunk but the last holds exactly ``chunk size`` plaintext bytes; the last holds
0..chunk size bytes and is the only one with ``last = 0x01`` (an empty file is one
empty last chunk). The counter in the nonce makes a reordered, dropped or duplicated
record fail; the last flag makes truncation at a record boundary and appended records
fail; the header is in the associated data of every record, so changing the chunk size
or prefix fails. Decryption releases each chunk only after its tag verified, and the
stream only counts as complete after the flagged last record and end of input.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from encryption.errors import DecryptionFailed

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
TAG_BYTES = 16
FIELD_VERSION = 0x01
WRAP_VERSION = 0x01
STREAM_MAGIC = b"PENC"
STREAM_VERSION = 0x01
STREAM_HEADER = struct.Struct(">4sBI7s")  # magic, version, chunk size, nonce prefix
DEFAULT_CHUNK_SIZE = 256 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024
_MAX_CHUNKS = 2**32  # the counter's width


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def frame(*parts: bytes | str) -> bytes:
    """Length-prefixed concatenation: unambiguous associated data."""
    out = bytearray()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        if len(data) > 0xFFFF:
            raise ValueError("associated-data part too long")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def _aead(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError("AES-256-GCM needs a 32-byte key")
    return AESGCM(key)


# -- field values ------------------------------------------------------------------------


def seal(key: bytes, plaintext: bytes, owner: tuple[str, ...]) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    aad = frame(b"portal.field.v1", *owner)
    return bytes([FIELD_VERSION]) + nonce + _aead(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, blob: bytes, owner: tuple[str, ...]) -> bytes:
    if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[0] != FIELD_VERSION:
        raise DecryptionFailed("not an encrypted field value of a known version")
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return _aead(key).decrypt(nonce, body, frame(b"portal.field.v1", *owner))
    except InvalidTag:
        raise DecryptionFailed(
            "field value failed authentication (altered, or copied from another row or field)"
        ) from None


# -- DEK wrapping by a local KEK ---------------------------------------------------------


def kek_wrap(kek: bytes, dek: bytes, *, kek_id: str, dek_id: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    aad = frame(b"portal.dek.v1", kek_id, dek_id)
    return bytes([WRAP_VERSION]) + nonce + _aead(kek).encrypt(nonce, dek, aad)


def kek_unwrap(kek: bytes, wrapped: bytes, *, kek_id: str, dek_id: str) -> bytes:
    if len(wrapped) != 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES or wrapped[0] != WRAP_VERSION:
        raise DecryptionFailed(f"wrapped data key {dek_id} has an unknown format")
    nonce, body = wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :]
    try:
        return _aead(kek).decrypt(nonce, body, frame(b"portal.dek.v1", kek_id, dek_id))
    except InvalidTag:
        raise DecryptionFailed(
            f"data key {dek_id} does not unwrap under key {kek_id} (wrong key or altered)"
        ) from None


# -- streams -----------------------------------------------------------------------------


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def _read_exact(source: Readable, size: int) -> bytes:
    """Up to ``size`` bytes; shorter only at end of input (reads may return less)."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        data = source.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts) if len(parts) != 1 else parts[0]


def _chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= _MAX_CHUNKS:
        raise ValueError("stream too long for its chunk size")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def stream_encrypt(
    key: bytes,
    source: Readable,
    owner: tuple[str, ...],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """Yield the header, then one record per chunk; holds at most two chunks at a time."""
    if not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError("chunk size out of range")
    aead = _aead(key)
    prefix = os.urandom(7)
    header = STREAM_HEADER.pack(STREAM_MAGIC, STREAM_VERSION, chunk_size, prefix)
    aad = frame(b"portal.stream.v1", *owner) + header
    yield header
    counter = 0
    current = _read_exact(source, chunk_size)
    while True:
        following = _read_exact(source, chunk_size) if len(current) == chunk_size else b""
        last = not following
        yield aead.encrypt(_chunk_nonce(prefix, counter, last), current, aad)
        if last:
            return
        counter += 1
        current = following


def stream_decrypt(key: bytes, source: Readable, owner: tuple[str, ...]) -> Iterator[bytes]:
    """Yield verified plaintext chunks; raise ``DecryptionFailed`` on any alteration."""
    header = _read_exact(source, STREAM_HEADER.size)
    if len(header) != STREAM_HEADER.size:
        raise DecryptionFailed("encrypted stream is truncated (no complete header)")
    magic, version, chunk_size, prefix = STREAM_HEADER.unpack(header)
    if magic != STREAM_MAGIC or version != STREAM_VERSION or not 0 < chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionFailed("not an encrypted stream of a known version")
    aead = _aead(key)
    aad = frame(b"portal.stream.v1", *owner) + header
    record_size = chunk_size + TAG_BYTES
    counter = 0
    current = _read_exact(source, record_size)
    while True:
        following = _read_exact(source, record_size) if len(current) == record_size else b""
        last = not following
        try:
            yield aead.decrypt(_chunk_nonce(prefix, counter, last), current, aad)
        except InvalidTag:
            raise DecryptionFailed(
                f"encrypted stream failed authentication at chunk {counter} "
                "(altered, truncated, reordered, or belongs to another object)"
            ) from None
        if last:
            return
        counter += 1
        current = following


class IterStream(io.RawIOBase):
    """A read-only file object over an iterator of byte strings (ciphertext going out).

    Storages read uploads with ``read(n)``; this hands them ciphertext as it is made,
    so a file of any size passes through in a couple of chunks of memory.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._buffer = b""
        self._offset = 0
        self.bytes_read = 0

    def records(self) -> Iterator[bytes]:
        """The underlying byte strings as they come (after any already buffered)."""
        if self._offset < len(self._buffer):
            yield self._buffer[self._offset :]
        self._buffer, self._offset = b"", 0
        for chunk in self._chunks:
            self.bytes_read += len(chunk)
            yield chunk

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            rest = self._buffer[self._offset :] + b"".join(self._chunks)
            self._buffer, self._offset = b"", 0
            self.bytes_read += len(rest)
            return rest
        while len(self._buffer) - self._offset < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer = self._buffer[self._offset :] + chunk
            self._offset = 0
        data = self._buffer[self._offset : self._offset + size]
        self._offset += len(data)
        self.bytes_read += len(data)
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._chunks = iter(())
        super().close()


class CountingReader:
    """Wraps the plaintext source to count its bytes (the size is stored with the file)."""

    def __init__(self, source: Readable) -> None:
        self._source = source
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        self.count += len(data)
        return data
