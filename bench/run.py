"""`make bench`: every benchmark in bench/, each printing figures and a same-run ratio.

Uses its own database (``portal_bench``) on the server ``scripts/services.py`` finds,
migrated first. Not part of CI: these machines are shared and noisy, so targets are
checked here, by ratio, never in timed unit tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = [
    "bench/http_bench.py",
    "bench/audit_bench.py",
    "bench/encryption_bench.py",
    "bench/messaging_bench.py",
    "bench/tls_delivery_bench.py",
    "bench/protected_pdf_bench.py",
    "bench/portal_bench.py",
    "bench/records_package.py",
    "bench/records_queue.py",
]


def main() -> int:
    exports = subprocess.run(
        [sys.executable, "scripts/services.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    env = dict(os.environ)
    for line in exports.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value.strip("'")
    base = env["DATABASE_URL"].rsplit("/", 1)[0]
    env["DATABASE_URL"] = f"{base}/portal_bench"
    env.update({"APP_MODE": "test", "CELERY_TASK_ALWAYS_EAGER": "true"})
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import psycopg,sys; c=psycopg.connect(sys.argv[1], autocommit=True); "
            "c.execute('CREATE DATABASE portal_bench') if not c.execute("
            "\"SELECT 1 FROM pg_database WHERE datname='portal_bench'\").fetchone() else None",
            f"{base}/postgres",
        ],
        check=True,
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)
    status = 0
    for bench in BENCHES:
        if not (ROOT / bench).exists():
            continue
        print(f"\n### {bench}", flush=True)
        result = subprocess.run([sys.executable, bench], cwd=ROOT, env=env, check=False)
        status = status or result.returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main())
