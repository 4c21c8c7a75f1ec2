"""Find, install or start what `make test` and `make run` need.

One helper for both commands, so the demo and the suite stand on the same system parts:

- both: Redis (``REDIS_URL``, else 127.0.0.1:6379, else Debian's ``redis-server``),
  WeasyPrint's libraries (Pango, HarfBuzz-subset), a font, and GNU gettext (the
  translations are compiled from locale/ on every run);
- the tests also: PostgreSQL (``DATABASE_URL``, else 127.0.0.1:5432, else the embedded
  one), Debian's chromium, poppler's pdfsig, qpdf (a second reader of the
  password-protected PDFs), nginx (the production smoke test) and axe-core from npm
  under var/node.

Debian packages that are missing are installed in one ``apt-get`` run. Run as a script
(``scripts/test.sh`` evaluates its output) it prints shell ``export`` lines and nothing
else on stdout: every installer's own output goes to stderr. With ``CI=true`` a part
that cannot be had is a failure, never a skip.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
NODE_PREFIX = VAR / "node"
AXE_CORE = NODE_PREFIX / "node_modules" / "axe-core" / "axe.min.js"
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# WeasyPrint (letters, notices, record packages) loads these libraries at run time.
PDF_LIBRARIES = {
    "pango-1.0": "libpango-1.0-0",
    "pangoft2-1.0": "libpangoft2-1.0-0",
    "harfbuzz-subset": "libharfbuzz-subset0",
}


def log(message: str) -> None:
    print(f"[services] {message}", file=sys.stderr, flush=True)


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


def apt_install(packages: list[str]) -> bool:
    """``apt-get install`` the packages; their progress goes to stderr, never stdout."""
    if not packages:
        return True
    if os.geteuid() != 0:
        log(f"not root: cannot apt-get install {' '.join(packages)}")
        return False
    log(f"installing Debian packages: {' '.join(packages)}")
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        done = subprocess.run(
            command,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr,
            check=False,
        )
        if done.returncode != 0:
            log(f"{' '.join(command[:2])} failed (exit {done.returncode})")
            return False
    return True


# --- the parts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Something on the machine: how to find it, and the Debian packages that provide it.

    ``find`` returns what to export (a path or URL), ``""`` when present with nothing to
    export, or ``None`` when missing.
    """

    name: str
    find: Callable[[], str | None]
    packages: tuple[str, ...] = ()
    export: str | None = None


def _chromium() -> str | None:
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def _pdf_libraries() -> str | None:
    missing = [lib for lib in PDF_LIBRARIES if not ctypes.util.find_library(lib)]
    return None if missing else ""


def _fonts() -> str | None:
    for folder in FONT_DIRS:
        if folder.is_dir() and any(folder.rglob("*.[ot]tf")):
            return ""
    return None


def _pdfsig() -> str | None:
    return "" if shutil.which("pdfsig") else None


def _qpdf() -> str | None:
    return "" if shutil.which("qpdf") else None


def _nginx() -> str | None:
    # /usr/sbin is not on every PATH (a non-root shell's, for one).
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None
    )


def _redis_server() -> str | None:
    """Redis that answers, or a ``redis-server`` binary to start one with."""
    if os.environ.get("REDIS_URL") or answers("127.0.0.1", 6379):
        return ""
    return shutil.which("redis-server")


def _gettext() -> str | None:
    return "" if shutil.which("msgfmt") and shutil.which("xgettext") else None


def _npm() -> str | None:
    return shutil.which("npm")


PDF = Part("Pango/HarfBuzz (PDF)", _pdf_libraries, tuple(PDF_LIBRARIES.values()))
FONTS = Part("fonts", _fonts, ("fonts-dejavu-core",))
REDIS = Part("Redis", _redis_server, ("redis-server",))
CHROMIUM = Part("Chromium", _chromium, ("chromium",), export="CHROMIUM_PATH")
PDFSIG = Part("pdfsig (poppler-utils)", _pdfsig, ("poppler-utils",))
QPDF = Part("qpdf", _qpdf, ("qpdf",))
NGINX = Part("nginx", _nginx, ("nginx",), export="NGINX_PATH")
NPM = Part("npm", _npm, ("npm",))
GETTEXT = Part("GNU gettext", _gettext, ("gettext",))

# What `make run` needs is a subset of what `make test` needs, by construction.
RUN_PARTS: tuple[Part, ...] = (REDIS, PDF, FONTS, GETTEXT)
TEST_PARTS: tuple[Part, ...] = (*RUN_PARTS, CHROMIUM, PDFSIG, QPDF, NGINX, NPM)


def system_parts(parts: tuple[Part, ...]) -> tuple[dict[str, str], list[str]]:
    """Find each part, install what is missing in one apt-get run, and find again.

    Returns the exports and the names of the parts still missing.
    """
    missing = [part for part in parts if part.find() is None]
    packages = sorted({package for part in missing for package in part.packages})
    if packages:
        apt_install(packages)
    exports: dict[str, str] = {}
    unavailable = []
    for part in parts:
        found = part.find()
        if found is None:
            unavailable.append(part.name)
        elif part.export and found:
            exports[part.export] = found
    return exports, unavailable


# --- services the tests find or start ---------------------------------------------------


def redis_url(db: int = 0) -> str | None:
    """``REDIS_URL``, or Redis on 127.0.0.1:6379 (database ``db``) if it answers."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    if answers("127.0.0.1", 6379):
        log("using Redis on 127.0.0.1:6379")
        return f"redis://127.0.0.1:6379/{db}"
    return None


def redis_command(port: int) -> list[str]:
    binary = shutil.which("redis-server") or "redis-server"
    return [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]


def wait_for_port(port: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if answers("127.0.0.1", port):
            return True
        time.sleep(0.1)
    return False


def redis_for_tests() -> str | None:
    url = redis_url()
    if url or shutil.which("redis-server") is None:
        return url
    port = free_port()
    log(f"starting redis-server on 127.0.0.1:{port}")
    subprocess.run([*redis_command(port), "--daemonize", "yes"], stdout=sys.stderr, check=True)
    return f"redis://127.0.0.1:{port}/0" if wait_for_port(port) else None


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


def axe_core() -> str | None:
    """axe-core 4 from npm, for tests/browser/test_accessibility.py."""
    if os.environ.get("AXE_CORE_PATH"):
        return os.environ["AXE_CORE_PATH"]
    if AXE_CORE.exists():
        return str(AXE_CORE)
    npm = shutil.which("npm")
    if npm is None:
        return None
    log(f"installing axe-core@4 from npm under {NODE_PREFIX}")
    NODE_PREFIX.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NODE_PREFIX), "axe-core@4"],
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
        check=False,
    )
    return str(AXE_CORE) if AXE_CORE.exists() else None


def main() -> int:
    strict = os.environ.get("CI", "").lower() == "true"
    exports, missing = system_parts(TEST_PARTS)
    exports["DATABASE_URL"] = database_url()
    redis = redis_for_tests()
    if redis:
        exports["REDIS_URL"] = redis
    elif REDIS.name not in missing:
        missing.append(REDIS.name)
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
