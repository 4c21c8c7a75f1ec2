"""Find or start the services the test suite needs, and print them as shell exports.

Order of preference, as the README says: an explicit ``DATABASE_URL`` / ``REDIS_URL``;
else PostgreSQL on 127.0.0.1:5432 / Redis on 127.0.0.1:6379 if they answer; else the
embedded PostgreSQL (pgserver, data under var/) and Debian's redis-server started on a
free port. Debian's chromium is installed when /usr/bin/chromium is missing, poppler's
pdfsig (poppler-utils) when /usr/bin/pdfsig is, and axe-core (the accessibility tests'
checker) from npm under var/node. With ``CI=true`` a service that cannot be had is a
failure, never a skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
CHROMIUM = "/usr/bin/chromium"
NODE_PREFIX = VAR / "node"
AXE_CORE = NODE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr)


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def apt_install(*packages: str) -> bool:
    if os.geteuid() != 0:
        log(f"not root: cannot apt-get install {' '.join(packages)}")
        return False
    log(f"installing Debian packages: {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    if update.returncode != 0:
        return False
    result = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=env,
        check=False,
    )
    return result.returncode == 0


def database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    if answers("127.0.0.1", 5432):
        log("using PostgreSQL on 127.0.0.1:5432")
        return "postgresql://postgres@127.0.0.1:5432/portal"
    log("no PostgreSQL on 127.0.0.1:5432: starting the embedded one (var/pgdata-test)")
    import pgserver

    VAR.mkdir(exist_ok=True)
    server = pgserver.get_server(VAR / "pgdata-test", cleanup_mode=None)
    return str(server.get_uri("portal"))


def redis_url() -> str | None:
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    if answers("127.0.0.1", 6379):
        log("using Redis on 127.0.0.1:6379")
        return "redis://127.0.0.1:6379/0"
    binary = shutil.which("redis-server")
    if binary is None and apt_install("redis-server"):
        binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    log(f"starting redis-server on 127.0.0.1:{port}")
    subprocess.run(
        [
            binary,
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        check=True,
    )
    for _ in range(50):
        if answers("127.0.0.1", port):
            return f"redis://127.0.0.1:{port}/0"
        time.sleep(0.1)
    return None


def chromium() -> str | None:
    if os.environ.get("CHROMIUM_PATH"):
        return os.environ["CHROMIUM_PATH"]
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if apt_install("chromium", "fonts-dejavu-core") and Path(CHROMIUM).exists():
        return CHROMIUM
    return None


def axe_core() -> str | None:
    """axe-core 4 from npm, for tests/browser/test_accessibility.py; Debian's npm if needed."""
    if os.environ.get("AXE_CORE_PATH"):
        return os.environ["AXE_CORE_PATH"]
    if AXE_CORE.exists():
        return str(AXE_CORE)
    npm = shutil.which("npm")
    if npm is None and apt_install("npm"):
        npm = shutil.which("npm")
    if npm is None:
        return None
    log(f"installing axe-core@4 from npm under {NODE_PREFIX}")
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    # npm's progress goes to stderr: stdout is eval'ed by scripts/test.sh.
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_PREFIX), "axe-core@4"],
        stdout=sys.stderr,
        check=False,
    )
    return str(AXE_CORE) if AXE_CORE.exists() else None


# WeasyPrint (letters, record packages) loads these system libraries at run time.
PDF_LIBRARIES = {
    "pango-1.0": "libpango-1.0-0",
    "pangoft2-1.0": "libpangoft2-1.0-0",
    "harfbuzz-subset": "libharfbuzz-subset0",
}


def pdf_libraries() -> bool:
    import ctypes.util

    missing = [pkg for lib, pkg in PDF_LIBRARIES.items() if not ctypes.util.find_library(lib)]
    return not missing or apt_install(*missing, "fonts-dejavu-core")


# poppler's pdfsig: the record-package tests check our PAdES signatures with it too.
PDFSIG = "/usr/bin/pdfsig"


def pdfsig() -> bool:
    return Path(PDFSIG).exists() or (apt_install("poppler-utils") and Path(PDFSIG).exists())


def main() -> int:
    strict = os.environ.get("CI", "").lower() == "true"
    exports = {"DATABASE_URL": database_url()}
    missing = []
    redis = redis_url()
    if redis:
        exports["REDIS_URL"] = redis
    else:
        missing.append("Redis")
    if not pdf_libraries():
        missing.append("Pango/HarfBuzz (PDF)")
    if not pdfsig():
        missing.append("pdfsig (poppler-utils)")
    browser = chromium()
    if browser:
        exports["CHROMIUM_PATH"] = browser
    else:
        missing.append("Chromium")
    axe = axe_core()
    if axe:
        exports["AXE_CORE_PATH"] = axe
    else:
        missing.append("axe-core (npm)")
    if missing:
        message = f"unavailable: {', '.join(missing)}"
        if strict:
            log(message + " (CI=true: failing)")
            return 1
        log(message + ": the tests that need them will be skipped")
    for key, value in exports.items():
        print(f"export {key}='{value}'")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
