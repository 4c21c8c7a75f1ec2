#!/usr/bin/env python3
"""Back up the database and the local encrypted file store: `deploy/backup.py DEST`.

Writes DEST/portal-<UTC time>/ with database.dump (pg_dump, custom format),
files.tar (the encrypted file store; skipped when files live in S3, which keeps its
own versions) and SHA256SUMS. The database goes first: a file newer than the dump is
harmless (the purge removes ciphertext no row names), a row without its file is not.

The keys are NOT in here, on purpose: the database holds only wrapped keys and
ciphertext, and keys stored beside it would defeat the encryption. Back up
ENCRYPTION_KEYS (or keep the KMS key) and AUDIT_SEAL_KEY separately (README).
Reads DATABASE_URL and VAR_DIR / MEDIA_ROOT from the environment (/etc/portal/portal.env).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path


def file_store() -> Path:
    media = os.environ.get("MEDIA_ROOT") or str(Path(os.environ.get("VAR_DIR", "var")) / "media")
    return Path(media) / "encrypted"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: deploy/backup.py DEST_DIR", file=sys.stderr)
        return 2
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        print("DATABASE_URL must be set (source /etc/portal/portal.env)", file=sys.stderr)
        return 2
    out = Path(argv[1]) / f"portal-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    out.mkdir(parents=True, mode=0o700)
    dump = out / "database.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", "--file", str(dump), database_url],
        check=True,
    )
    parts = [dump]
    store = file_store()
    if not os.environ.get("ENCRYPTION_FILES_S3_BUCKET") and store.is_dir():
        archive = out / "files.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(store, arcname=".")
        parts.append(archive)
    lines = [f"{sha256(part)}  {part.name}\n" for part in parts]
    (out / "SHA256SUMS").write_text("".join(lines), encoding="utf-8")
    for path in out.iterdir():
        path.chmod(0o600)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
