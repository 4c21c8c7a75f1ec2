"""Nothing in clear at rest: a pg_dump of the database and the file store hold no marker."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from django.db import connection

from encryption import files
from tests.encryption.conftest import note_create
from tests.encryption.conftest import stored as stored_column


def encodings(marker: bytes) -> dict[str, bytes]:
    """The marker as plain text, UTF-16 (both orders) and base64 at each of three offsets,
    each also as pg_dump writes a ``bytea`` holding it: hex (the default ``\\x...``, in
    either case) and the escape format (``bytea_output = escape``)."""
    found = {"plain": marker, "utf-16-le": marker.decode().encode("utf-16-le")}
    found["utf-16-be"] = marker.decode().encode("utf-16-be")
    for offset in range(3):
        for name, encode in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            encoded = encode(b"\0" * offset + marker)
            # Only the 4-character groups made of marker bytes alone, whatever precedes it.
            start, end = -(-offset // 3) * 4, (offset + len(marker)) // 3 * 4
            found[f"{name}+{offset}"] = encoded[start:end]
    for name, needle in list(found.items()):
        found[f"{name}/hex"] = needle.hex().encode()
        found[f"{name}/HEX"] = needle.hex().upper().encode()
        if bytea_escape(needle) != needle:
            found[f"{name}/escape"] = bytea_escape(needle)
    return found


def bytea_escape(data: bytes) -> bytes:
    """``data`` in bytea's escape format as COPY text writes it (each backslash doubled)."""
    out = bytearray()
    for byte in data:
        if byte == 0x5C:
            out += b"\\\\\\\\"  # \\ in the escape format, then doubled by COPY
        elif 0x20 <= byte < 0x7F:
            out.append(byte)
        else:
            out += b"\\\\%03o" % byte
    return bytes(out)


def pg_dump_binary() -> str:
    """The newest pg_dump at hand (Debian's, or the one pgserver ships): it reads older servers."""
    candidates = [*Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), Path("/usr/bin/pg_dump")]
    spec = importlib.util.find_spec("pgserver")  # located, not imported
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "pginstall" / "bin" / "pg_dump")
    versions = {}
    for path in candidates:
        if path.exists():
            out = subprocess.run([path, "--version"], capture_output=True, text=True).stdout
            versions[str(path)] = tuple(int(n) for n in re.findall(r"\d+", out)[:2])
    assert versions, "no pg_dump found"
    return max(versions, key=lambda path: versions[path])


def pg_dump() -> bytes:
    db = connection.settings_dict
    command = [pg_dump_binary(), "--no-owner", "--dbname", str(db["NAME"])]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [flag, str(db[key])]
    env = {"PGPASSWORD": str(db.get("PASSWORD") or "")}
    return subprocess.run(command, capture_output=True, check=True, env=env).stdout


def hits(data: bytes, marker: bytes) -> list[str]:
    return sorted(name for name, needle in encodings(marker).items() if needle in data)


@pytest.mark.django_db(transaction=True)  # pg_dump sees committed rows only
def test_nothing_in_clear_at_rest(file_store_dir: Path) -> None:
    marker = f"PHI-MARKER-{uuid.uuid4().hex}".encode()
    text = marker.decode()
    note = note_create(subject=text, body=f"before {text} after", answers={"note": text})
    record = files.file_store(
        source=io.BytesIO(b"header " + marker * 1000), name=f"{text}.pdf", content_type=text
    )

    dump = pg_dump()
    assert str(note.pk).encode() in dump and str(record.pk).encode() in dump  # rows are there
    # The scan must look where ciphertext is: bytea columns, dumped as hex.
    assert b"\\x" + stored_column(note, "subject").hex().encode() in dump
    assert hits(dump, marker) == []
    stored = [path for path in file_store_dir.rglob("*") if path.is_file()]
    assert len(stored) == 1
    assert [hits(path.read_bytes(), marker) for path in stored] == [[]]


def test_the_scan_would_find_each_encoding() -> None:
    marker = b"PHI-MARKER-0123456789"
    for prefix in (b"", b"x", b"xy"):
        blob = json.dumps({"v": base64.b64encode(prefix + marker + b"!").decode()}).encode()
        assert "b64+" + str(len(prefix)) in hits(blob, marker)
    assert hits(marker.decode().encode("utf-16-le"), marker) == ["utf-16-le"]


def test_the_scan_reads_bytea_as_pg_dump_writes_it() -> None:
    marker = b"PHI-MARKER-0123456789"
    plaintext_stored = b"subject: " + marker  # what a seal() that did nothing would store
    copy_line = b"3f2a\t\\x" + plaintext_stored.hex().encode() + b"\t\\N\n"
    assert "plain/hex" in hits(copy_line, marker)
    assert "plain" not in hits(copy_line, marker)  # why the hex variants are needed
    utf16 = marker.decode().encode("utf-16-le")
    assert "utf-16-le/hex" in hits(b"\\x00" + utf16.hex().encode(), marker)
    assert "utf-16-le/escape" in hits(b"x" + bytea_escape(b"\x01" + utf16), marker)
    b64 = base64.b64encode(b"x" + marker)
    assert "b64+1/hex" in hits(b"\\x" + b64.hex().encode(), marker)
    assert bytea_escape(b"a\\b\x00") == b"a\\\\\\\\b\\\\000"
