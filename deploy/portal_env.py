#!/usr/bin/env python3
"""Run a command with the portal's environment file loaded, as systemd loads it.

    sudo -u portal /opt/portal/deploy/portal_env.py .venv/bin/python manage.py keys_status

Reads ``PORTAL_ENV_FILE`` (default /etc/portal/portal.env): ``KEY=value`` lines, blank
lines and ``#`` comments, values optionally in quotes; spaces need no quoting (a shell's
``source`` would break on ``RECORDS_PRIVACY_CONTACT=The Privacy Officer, (555) ...``).
The command runs from the installation folder (the one holding this script's parent).

``--owner`` (first) also reads ``PORTAL_OWNER_ENV_FILE`` (default /etc/portal/owner.env,
root's alone): the owner's DATABASE_OWNER_URL, for the commands that must connect as the
owner of the tables (the restore drill). Run those with ``sudo`` as root:

    sudo /opt/portal/deploy/portal_env.py --owner .venv/bin/python deploy/restore_drill.py DIR
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = "/etc/portal/portal.env"
OWNER_DEFAULT = "/etc/portal/owner.env"


def env_file_read(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.replace("_", "").isalnum():
            raise SystemExit(f"{path}:{number}: not KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def main(argv: list[str]) -> int:
    owner = argv[1:2] == ["--owner"]
    if owner:
        argv = argv[:1] + argv[2:]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    paths = [Path(os.environ.get("PORTAL_ENV_FILE") or DEFAULT)]
    if owner:
        paths.append(Path(os.environ.get("PORTAL_OWNER_ENV_FILE") or OWNER_DEFAULT))
    loaded: dict[str, str] = {}
    for path in paths:
        try:
            loaded.update(env_file_read(path))
        except OSError as error:
            print(f"cannot read {path}: {error.strerror}", file=sys.stderr)
            return 2
    os.chdir(ROOT)
    os.execvpe(argv[1], argv[1:], {**os.environ, **loaded})
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
