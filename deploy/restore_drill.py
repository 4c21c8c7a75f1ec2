#!/usr/bin/env python3
"""Restore a backup into a scratch database and file store, and prove it is usable.

`deploy/restore_drill.py BACKUP_DIR [--keep]`, with the production environment and the
owner's loaded (``deploy/portal_env.py --owner``: the keys must be this installation's,
and the owner of the tables creates the scratch database). Steps, each of which must pass:

1. the checksums in SHA256SUMS match;
2. a new database ``<name>_drill_<time>`` on the same server gets the dump (pg_restore);
3. the file store is unpacked into a scratch folder;
4. ``manage.py audit_verify --allow-behind`` against the copy: the trail is whole, every
   seal and checkpoint verifies, and each checkpoint matches its anchor (the anchors
   made after the backup are allowed);
5. ``manage.py encryption_verify`` against the copy: rows and files decrypt with the
   keys this server holds (database, files and keys fit together).

The scratch database and folder are removed at the end unless ``--keep`` is given
(then they are printed, to promote or inspect). Run it monthly; the production smoke
test (tests/deploy) runs it on every CI run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def checksums_ok(backup: Path) -> bool:
    for line in (backup / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        expected, name = line.split("  ", 1)
        if hashlib.sha256((backup / name).read_bytes()).hexdigest() != expected:
            print(f"checksum mismatch: {name}", file=sys.stderr)
            return False
    return True


def step(title: str) -> None:
    print(f"==> {title}", flush=True)


def main(argv: list[str]) -> int:
    args = [a for a in argv[1:] if a != "--keep"]
    keep = "--keep" in argv
    if len(args) != 1:
        print("usage: deploy/restore_drill.py BACKUP_DIR [--keep]", file=sys.stderr)
        return 2
    backup = Path(args[0])
    # As the owner: it creates the scratch database, and the copy is then its own.
    source = os.environ.get("DATABASE_OWNER_URL", "")
    if not source:
        print(
            "DATABASE_OWNER_URL must be set: run through deploy/portal_env.py --owner",
            file=sys.stderr,
        )
        return 2
    step("checksums")
    if not checksums_ok(backup):
        return 1
    original = urlsplit(source).path.lstrip("/")
    scratch_name = f"{original}_drill_{datetime.now(UTC):%Y%m%d%H%M%S}"
    admin_url = with_database(source, "postgres")
    scratch_url = with_database(source, scratch_name)
    scratch_dir = Path(tempfile.mkdtemp(prefix="portal-drill-"))
    psql = ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", admin_url, "-c"]
    failed = True
    try:
        step(f"restore the database into {scratch_name}")
        subprocess.run([*psql, f'CREATE DATABASE "{scratch_name}"'], check=True)
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                "--dbname",
                scratch_url,
                str(backup / "database.dump"),
            ],
            check=True,
        )
        media = scratch_dir / "media"
        (media / "encrypted").mkdir(parents=True)
        if (backup / "files.tar").exists():
            step("unpack the file store")
            with tarfile.open(backup / "files.tar") as tar:
                tar.extractall(media / "encrypted", filter="data")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DATABASE_OWNER_URL")},
            "DATABASE_URL": scratch_url,
            "MEDIA_ROOT": str(media),
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        step("audit_verify on the restored copy")
        # A backup is older than the newest anchors by design: every checkpoint it holds
        # must match its anchor, and the anchors after it are expected.
        subprocess.run([*manage, "audit_verify", "--allow-behind"], env=env, check=True)
        step("encryption_verify on the restored copy")
        subprocess.run([*manage, "encryption_verify"], env=env, check=True)
        failed = False
        print("Restore drill passed.", flush=True)
    except subprocess.CalledProcessError as error:
        print(f"Restore drill FAILED at: {' '.join(map(str, error.cmd[:3]))}", file=sys.stderr)
    finally:
        if keep:
            print(f"kept: database {scratch_name}, files {scratch_dir}")
        else:
            subprocess.run([*psql, f'DROP DATABASE IF EXISTS "{scratch_name}"'], check=False)
            shutil.rmtree(scratch_dir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
