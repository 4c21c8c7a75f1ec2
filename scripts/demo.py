"""`make run`: the seeded demo, run the way production runs.

Sets up the machine with the same helper as `make test` (``scripts/services.py``:
Redis, WeasyPrint's libraries, a font), starts the embedded PostgreSQL (data under
var/pgdata; ``DATABASE_URL`` overrides it), migrates and seeds, then runs three
children: the web server, a Celery worker and Celery beat. Notices go through the
worker, audit events are sealed within seconds, sweeps and daily jobs run.

Two database roles, as in production: migrations and ``db_grants`` run as the owner
(the embedded server's superuser, given as DATABASE_OWNER_URL), the seeding and the
three children as ``portal_app``, which owns nothing and cannot alter, truncate or
drop the audit tables. With your own ``DATABASE_URL``, give ``DATABASE_OWNER_URL`` too
for the same split (else everything runs as DATABASE_URL's role).

Ctrl-C or SIGTERM stops every child (each in its own process group, so nothing is
left behind), Redis if this command started it, and the embedded PostgreSQL. A second
`make run` starts cleanly on the same data.

``DEMO_PORT`` (default 8000) and ``VAR_DIR`` (default var/) exist for the tests.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO

import services

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("VAR_DIR") or ROOT / "var").resolve()
LOGS = VAR / "log"
SECRETS = VAR / "demo-secrets.env"
# The demo's own Redis databases on a shared server (the broker; the cache takes the next).
DEMO_REDIS_DB = 4
# The role the web, worker and beat use on the embedded server (it owns nothing).
APP_ROLE = "portal_app"


class Stop(Exception):
    """SIGTERM (or SIGINT) arrived: unwind and stop everything."""


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


class Supervisor:
    """Starts children in their own process groups and stops them all, newest first."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.cleanups: list[Callable[[], None]] = []
        self._logs: list[IO[bytes]] = []

    def start(self, name: str, command: list[str], env: dict[str, str], *, log: bool) -> None:
        output: IO[bytes] | None = None
        if log:
            output = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 (closed in stop())
            self._logs.append(output)
        self.children[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )

    def wait(self) -> str:
        """Block until a child exits; return its name."""
        while True:
            for name, child in self.children.items():
                if child.poll() is not None:
                    return name
            time.sleep(0.5)

    def stop(self) -> None:
        for name, child in reversed(list(self.children.items())):
            _signal_group(child, signal.SIGTERM)
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in 15 s: killing it", flush=True)
                _signal_group(child, signal.SIGKILL)
                child.wait()
        for cleanup in reversed(self.cleanups):
            cleanup()
        for output in self._logs:
            output.close()


def _signal_group(child: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def _stop_on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stop


def embedded_database(supervisor: Supervisor) -> tuple[str, str]:
    """Start the embedded server: (the owner's URL, the application role's URL)."""
    # pgserver keeps its lock file in the runtime directory; /tmp when XDG's is unset.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    import pgserver
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

    pgdata = VAR / "pgdata"
    print(f"Starting the embedded PostgreSQL (data in {pgdata}) ...", flush=True)
    # cleanup_mode=None: this command stops the server itself, whatever else ran before.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    supervisor.cleanups.append(
        lambda: pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user)
    )
    if "1 row" not in server.psql("SELECT 1 FROM pg_database WHERE datname = 'portal';"):
        server.psql("CREATE DATABASE portal;")
    if "1 row" not in server.psql("SELECT 1 FROM pg_roles WHERE rolname = 'portal_app';"):
        server.psql("CREATE ROLE portal_app LOGIN;")
    app = server.get_postmaster_info().get_uri(user=APP_ROLE, database="portal")
    return str(server.get_uri("portal")), str(app)


def demo_redis(supervisor: Supervisor, env: dict[str, str]) -> str:
    url = services.redis_url(db=DEMO_REDIS_DB)
    if url:
        return url
    port = services.free_port()
    print(f"Starting redis-server on 127.0.0.1:{port} ...", flush=True)
    supervisor.start("redis", services.redis_command(port), env, log=True)
    if not services.wait_for_port(port):
        raise SystemExit(f"redis-server did not start: see {LOGS / 'redis.log'}")
    return f"redis://127.0.0.1:{port}/0"


def system_ready() -> dict[str, str] | None:
    """The system parts the demo needs (the same helper as `make test`), or None."""
    exports, missing = services.system_parts(services.RUN_PARTS)
    if missing:
        print(f"The demo needs: {', '.join(missing)} (see the messages above)", file=sys.stderr)
        return None
    return exports


def run(supervisor: Supervisor) -> int:
    exports = system_ready()
    if exports is None:
        return 1
    port = int(os.environ.get("DEMO_PORT") or 8000)
    env = {
        **os.environ,
        **exports,
        **demo_secrets(),
        "APP_MODE": "demo",
        "VAR_DIR": str(VAR),
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    if port != 8000:
        env.setdefault("PORTAL_BASE_URL", f"http://localhost:{port}")
    if not env.get("DATABASE_URL"):
        env["DATABASE_OWNER_URL"], env["DATABASE_URL"] = embedded_database(supervisor)
    env["REDIS_URL"] = env.get("REDIS_URL") or demo_redis(supervisor, env)
    # Only migrate and db_grants hold the owner's URL; the rest run as the application.
    owner_env = dict(env)
    env.pop("DATABASE_OWNER_URL", None)

    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([sys.executable, str(ROOT / "scripts" / "messages.py")], check=True)
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=owner_env, check=True)
    if owner_env.get("DATABASE_OWNER_URL"):
        subprocess.run([*manage, "db_grants", "-v", "0"], env=owner_env, check=True)
    subprocess.run([*manage, "demo_prepare"], env=env, check=True)

    celery = [sys.executable, "-m", "celery", "-A", "config"]
    supervisor.start(
        "worker", [*celery, "worker", "--loglevel", "INFO", "--concurrency", "2"], env, log=True
    )
    schedule = str(VAR / "celerybeat-schedule")
    supervisor.start("beat", [*celery, "beat", "--loglevel", "INFO", "-s", schedule], env, log=True)
    supervisor.start(
        "web", [*manage, "runserver", "--noreload", f"localhost:{port}"], env, log=False
    )
    if not services.wait_for_port(port, seconds=60):
        print("The web server did not start: see its messages above", file=sys.stderr)
        return 1
    logs = ", ".join(f"{name} {LOGS / name}.log" for name in supervisor.children if name != "web")
    print(
        f"\nServing http://localhost:{port}  (Ctrl-C stops everything)\n"
        f"Logs: web on this terminal; {logs}; PostgreSQL {VAR / 'pgdata' / 'log'}\n",
        flush=True,
    )
    stopped = supervisor.wait()
    print(f"\n{stopped} exited: stopping the demo", flush=True)
    return 1


def main() -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    signal.signal(signal.SIGINT, _stop_on_signal)
    supervisor = Supervisor()
    try:
        return run(supervisor)
    except Stop:
        print("\nStopping the web server, worker, beat and database ...", flush=True)
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C cannot interrupt this
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop()


if __name__ == "__main__":
    raise SystemExit(main())
