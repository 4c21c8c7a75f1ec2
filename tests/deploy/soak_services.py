"""The fault battery's own Redis, PostgreSQL and size-limited file store.

The machine's PostgreSQL and Redis serve every test run on it: the battery restarts its
own, never those. Each is a child of this process on a free loopback port, in a folder
of the run, and is stopped (and its folder left for the report) at the end.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.deploy.topology import free_port


def _pg_bin() -> Path:
    """Debian's PostgreSQL binaries where installed, else the embedded server's (pgserver,
    what `make test` starts when the machine has no PostgreSQL)."""
    if os.environ.get("SOAK_PG_BIN"):
        return Path(os.environ["SOAK_PG_BIN"])
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            return folder
    import pgserver

    return Path(pgserver.__file__).parent / "pginstall" / "bin"


PG_BIN = _pg_bin()


def _wait_listening(port: int, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} is not listening on {port} after {seconds} s")


@dataclass
class RedisServer:
    """redis-server without persistence: a restart loses every key, as a crash would."""

    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        _wait_listening(self.port, 20, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _pg_user() -> str:
    """Debian's ``postgres`` account where there is one, else ``nobody``."""
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "nobody"
    return "postgres"


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster of its own (initdb, trust on loopback), run as ``user``:
    postgres refuses to run as root."""

    folder: Path
    port: int = field(default_factory=free_port)
    user: str = field(default_factory=lambda: _pg_user())

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_user(self, *command: str) -> subprocess.CompletedProcess[str]:
        runuser = ["runuser", "-u", self.user, "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*runuser, *command], capture_output=True, text=True, check=False, timeout=120
        )

    def _data(self) -> Path:
        return self.folder / "data"

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        done = self._as_user(
            str(PG_BIN / "initdb"),
            "-D",
            str(self._data()),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.folder}'",
            "max_connections": "200",
            "shared_buffers": "128MB",
            # A test cluster: durability is not what is measured here.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
        }
        with (self._data() / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def start(self) -> None:
        done = self._as_user(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self._data()),
            "-l",
            str(self.folder / "postgres.log"),
            "-w",
            "start",
        )
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        _wait_listening(self.port, 30, "postgres")

    def restart(self) -> None:
        """What a failover or a restart looks like to the clients: every connection
        dropped (``-m fast``), then the server back on the same address."""
        done = self._as_user(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self._data()),
            "-l",
            str(self.folder / "postgres.log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )
        if done.returncode:
            raise RuntimeError(f"pg_ctl restart failed: {done.stdout[-2000:]}")

    def stop(self) -> None:
        if (self._data() / "postmaster.pid").exists():
            self._as_user(str(PG_BIN / "pg_ctl"), "-D", str(self._data()), "-m", "fast", "stop")


@dataclass
class SizedVolume:
    """A file store with a hard size: tmpfs mounted with ``size=`` (root in a container
    that allows mounts). Where mounting is refused, ``mounted`` is False and the store is
    a plain folder: the disk-full fault is then skipped, and the run says so."""

    path: Path
    megabytes: int
    mounted: bool = False
    refusal: str = ""

    def mount(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.megabytes}m,mode=0700", "tmpfs", self.path],
            capture_output=True,
            text=True,
            check=False,
        )
        self.mounted = done.returncode == 0
        self.refusal = done.stderr.strip()

    def fill(self) -> Path:
        """Fill what is left with one file (the disk is then full); returns it."""
        filler = self.path / "filler.bin"
        with filler.open("wb") as handle:
            chunk = b"\0" * (1 << 20)
            try:
                while True:
                    handle.write(chunk)
                    handle.flush()
            except OSError:
                pass
        # Whatever the last partial megabyte left, down to the last byte.
        try:
            with filler.open("ab") as handle:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
        except OSError:
            pass
        return filler

    def free_bytes(self) -> int:
        return shutil.disk_usage(self.path).free

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", self.path], check=False, capture_output=True)
            self.mounted = False
