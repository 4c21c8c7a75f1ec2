"""`make run`: embedded PostgreSQL under var/, migrations, demo data, the dev server.

The database is started here, by the command, never from settings or at import time.
``DATABASE_URL`` in the environment overrides the embedded server.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
SECRETS = VAR / "demo-secrets.env"


def demo_secrets() -> dict[str, str]:
    """Random per-machine demo keys, made once and kept under var/ (never committed)."""
    if not SECRETS.exists():
        lines = [
            f"SECRET_KEY={secrets.token_urlsafe(64)}",
            f"AUDIT_SEAL_KEY={secrets.token_urlsafe(48)}",
            # id:base64url(32 random bytes), the format `manage.py keys_generate` prints.
            f"ENCRYPTION_KEYS=demo-1:{secrets.token_urlsafe(32)}",
        ]
        SECRETS.write_text("\n".join(lines) + "\n", encoding="utf-8")
        SECRETS.chmod(0o600)
    pairs = (line.split("=", 1) for line in SECRETS.read_text(encoding="utf-8").splitlines())
    return {key: value for key, value in pairs}


def main() -> int:
    VAR.mkdir(exist_ok=True)
    env = {**os.environ, "APP_MODE": "demo", **demo_secrets()}
    server = None
    if not env.get("DATABASE_URL"):
        import pgserver

        print("Starting the embedded PostgreSQL (data in var/pgdata) ...", flush=True)
        server = pgserver.get_server(VAR / "pgdata", cleanup_mode="stop")
        exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'portal';")
        if "1 row" not in exists:
            server.psql("CREATE DATABASE portal;")
        env["DATABASE_URL"] = server.get_uri("portal")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    subprocess.run([*manage, "seed_demo"], env=env, check=True)
    subprocess.run([*manage, "seed_demo_messages"], env=env, check=True)
    subprocess.run([*manage, "seed_demo_consent"], env=env, check=True)
    # The self-signed certificate that signs record packages in the demo (once, var/).
    subprocess.run([*manage, "records_demo_certificate"], env=env, check=True)
    print("\nServing http://localhost:8000  (Ctrl-C to stop)\n", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run([*manage, "runserver", "localhost:8000"], env=env, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
