"""Encryption benchmark (issue 4): encrypted file storage against raw AES-256-GCM; rewrap rate.

Run by ``make bench`` (or ``.venv/bin/python bench/encryption_bench.py``); not a test.
Creates its own database (``portal_bench_encryption`` on the ``DATABASE_URL`` server,
dropped and re-created each run) and a temporary file store. Prints one table:

* storing then reading back a 25 MiB and a 1 GiB file through ``encryption.files``
  (STREAM chunks, FileSystemStorage, database rows) against raw AES-256-GCM over the
  same bytes and chunk size in the same run, twice: in memory only (the cipher's
  ceiling) and writing/reading a plain file (the same job without our layer). The
  target ratio (>= 0.5) is judged against the second; both are printed;
* the peak memory growth of the process doing it, measured in a fresh child process
  per measurement from ``ru_maxrss`` before and after (target <= 32 MiB for 1 GiB);
* the rewrap rate (data keys per second) for 10,000 data keys, local KEKs.

Data is generated on the fly from a 1 MiB random block: no run ever holds a whole file.
Environment: ``BENCH_DATABASE_URL`` (a full URL), ``BENCH_BIG_MIB`` (default 1024),
``BENCH_REWRAP_KEYS`` (default 10000).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import memory_baseline, peak_mib  # noqa: E402

MiB = 1024 * 1024
BIG_MIB = int(os.environ.get("BENCH_BIG_MIB", "1024"))
REWRAP_KEYS = int(os.environ.get("BENCH_REWRAP_KEYS", "10000"))
TARGET_RATIO, TARGET_GROWTH_MIB = 0.5, 32


def _bench_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    server = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/portal"
    return urlunsplit(urlsplit(server)._replace(path="/portal_bench_encryption"))


BENCH_URL = _bench_url()


class Generated:
    """``size`` bytes from a repeated random block, read like a file."""

    def __init__(self, size: int) -> None:
        self.block = os.urandom(MiB)
        self.remaining = size

    def read(self, n: int = -1, /) -> bytes:
        n = min(self.remaining if n < 0 else n, self.remaining, MiB)
        self.remaining -= n
        return self.block[:n]


def _django() -> None:
    os.environ.update({"APP_MODE": "test", "DATABASE_URL": BENCH_URL})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def measure(mode: str, size: int) -> dict[str, float]:
    """In a child process: one store+read (``encrypted``) or raw AES-GCM pass (``raw``)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    _django()
    from encryption import crypto, files, services

    chunk = crypto.DEFAULT_CHUNK_SIZE
    services.kek_primary()  # registered outside the timing (one-off per installation)
    before = memory_baseline()
    start = time.perf_counter()
    seen = 0
    if mode == "raw":
        aead, source = AESGCM(crypto.new_key()), Generated(size)
        counter = 0
        while True:
            data = crypto._read_exact(source, chunk)
            nonce = counter.to_bytes(12, "big")
            seen += len(aead.decrypt(nonce, aead.encrypt(nonce, data, b""), b""))
            counter += 1
            if len(data) < chunk:
                break
    elif mode == "raw-file":
        aead, source = AESGCM(crypto.new_key()), Generated(size)
        path = Path(os.environ["MEDIA_ROOT"]) / "raw.bin"
        with path.open("wb") as out:
            counter = 0
            while True:
                data = crypto._read_exact(source, chunk)
                out.write(aead.encrypt(counter.to_bytes(12, "big"), data, b""))
                counter += 1
                if len(data) < chunk:
                    break
        with path.open("rb") as back:
            counter = 0
            while record_bytes := back.read(chunk + 16):
                seen += len(aead.decrypt(counter.to_bytes(12, "big"), record_bytes, b""))
                counter += 1
        path.unlink()
    else:
        record = files.file_store(source=Generated(size), name="bench.bin")
        for plain in files.file_chunks(record):
            seen += len(plain)
        files.files_storage().delete(record.storage_name)
    seconds = time.perf_counter() - start
    assert seen == size
    return {"seconds": seconds, "growth_mib": peak_mib() - before}


def _child(mode: str, size: int, media: str) -> dict[str, float]:
    env = {**os.environ, "MEDIA_ROOT": media}
    out = subprocess.run(
        [sys.executable, __file__, "--measure", mode, str(size)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def bench_rewrap(count: int) -> float:
    from audit.context import system_actor
    from encryption import services

    with system_actor("bench:keys_rewrap"):
        services.data_keys_create(count=count)
        services.keys_rotate(key_id="bench-b")
        start = time.perf_counter()
        report = services.keys_rewrap(batch_size=500)
        seconds = time.perf_counter() - start
    assert report.rewrapped >= count and report.remaining == 0
    return report.rewrapped / seconds


def _recreate_database() -> None:
    import psycopg

    parts = urlsplit(BENCH_URL)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    keys = ",".join(f"bench-{n}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}" for n in "ab")
    os.environ["ENCRYPTION_KEYS"] = keys  # inherited by the children
    os.environ.pop("ENCRYPTION_KMS_KEY_ID", None)
    _recreate_database()
    _django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    ok = True
    print(f"{'measurement':<34}{'seconds':>9}{'MiB/s':>9}{'ratio':>8}{'mem +MiB':>10}")
    with tempfile.TemporaryDirectory(prefix="bench-enc-") as media:
        for size in (25 * MiB, BIG_MIB * MiB):
            raw = _child("raw", size, media)
            raw_file = _child("raw-file", size, media)
            enc = _child("encrypted", size, media)
            ratio = raw["seconds"] / enc["seconds"]
            label = f"{size // MiB} MiB"
            for name, result, shown in (
                ("raw AES-256-GCM, memory", raw, ""),
                ("raw AES-256-GCM + file", raw_file, ""),
                ("encrypted storage", enc, f"{ratio:.2f}"),
                ("  (vs raw + file)", enc, f"{raw_file['seconds'] / enc['seconds']:.2f}"),
            ):
                rate = 2 * size / MiB / result["seconds"]  # encrypt + decrypt
                print(
                    f"{label + ' ' + name:<34}{result['seconds']:>9.2f}{rate:>9.0f}"
                    f"{shown:>8}{result['growth_mib']:>10.1f}"
                )
            # Judged like for like: the in-memory ceiling does no I/O at all, and on this
            # kind of machine writing and re-reading 1 GiB costs twice the cipher itself.
            ok &= raw_file["seconds"] / enc["seconds"] >= TARGET_RATIO
            if size >= 1024 * MiB:
                ok &= enc["growth_mib"] <= TARGET_GROWTH_MIB
    rate = bench_rewrap(REWRAP_KEYS)
    print(f"rewrap {REWRAP_KEYS} data keys (local KEKs): {rate:,.0f} DEKs/s")
    print(
        f"targets: ratio (vs raw AES-GCM + the same file I/O) >= {TARGET_RATIO}, "
        f"memory growth <= {TARGET_GROWTH_MIB} MiB at 1 GiB: " + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))
        raise SystemExit(0)
    raise SystemExit(main())
