"""`make run` behaves like production: a worker and beat beside the web server, and
nothing left running after Ctrl-C or SIGTERM, the embedded PostgreSQL included.

Runs scripts/demo.py itself (what `make run` runs) with its files in a temporary
folder and the embedded PostgreSQL, twice on the same data.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import services  # noqa: E402

STARTUP_SECONDS = 240
# The suite's Redis server, database 8 (the demo's own are 4 and 5, the tests' 0 and 1).
REDIS_URL = re.sub(
    r"/\d*$", "/8", os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0", count=1
)


def _demo(var_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "APP_MODE")}
    # Its own Redis databases: no task of the demo's may reach the suite's worker test.
    env.update({"VAR_DIR": str(var_dir), "DEMO_PORT": str(port), "REDIS_URL": REDIS_URL})
    # Its own session, as a terminal's foreground job: signals go to the whole group.
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + STARTUP_SECONDS
    assert process.stdout is not None
    for line in process.stdout:
        if f"Serving http://localhost:{port}" in line:
            return process
        if time.monotonic() > deadline:
            break
    process.kill()
    pytest.fail(f"the demo did not start (exit {process.poll()})")


def _eventually(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def _demo_processes(demo: subprocess.Popen[str], pgdata: Path) -> list[psutil.Process]:
    children = psutil.Process(demo.pid).children(recursive=True)
    postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
    return [*children, psutil.Process(postmaster)]


def _stop(demo: subprocess.Popen[str], signum: int, processes: list[psutil.Process]) -> None:
    os.killpg(demo.pid, signum) if signum == signal.SIGINT else demo.send_signal(signum)
    code = demo.wait(timeout=60)
    said = demo.stdout.read() if demo.stdout else ""
    assert code == 0, f"the demo exited {code}; it said:\n{said[-3000:]}"
    _gone, alive = psutil.wait_procs(processes, timeout=20)
    assert not alive, f"still running after the demo stopped: {[p.info for p in alive]}"


def _query(pgdata: Path, sql: str) -> int:
    from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    assert info is not None
    with psycopg.connect(info.get_uri(database="portal")) as connection:
        row = connection.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


UNSEALED = (
    "SELECT count(*) FROM audit_auditevent e WHERE NOT EXISTS "
    "(SELECT 1 FROM audit_auditseal s WHERE s.event_id = e.id) "
    "AND e.occurred_at < now() - interval '5 seconds'"
)
SEALED = "SELECT count(*) FROM audit_auditseal"
NOTICES_SENT = "SELECT count(*) FROM messaging_delivery WHERE state = 'sent'"
# The web, worker and beat connect as the application's role, as in production.
CONNECTIONS_AS = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = 'portal' "
    "AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND usename {}"
)
APP_ROLE_CAN_TRUNCATE = "SELECT has_table_privilege('portal_app', 'audit_auditevent', 'TRUNCATE')"


@pytest.fixture
def var_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: a concurrent pytest run on the machine prunes old ones
    # (it once removed the data directory under the running PostgreSQL). Readable by the
    # system user pgserver runs PostgreSQL as when we are root.
    tmp_path = Path(tempfile.mkdtemp(prefix="demo-run-"))
    tmp_path.chmod(0o755)
    redis.Redis.from_url(REDIS_URL).flushdb()
    yield tmp_path
    redis.Redis.from_url(REDIS_URL).flushdb()
    # Whatever a failed assertion left behind.
    for process in psutil.process_iter(["cmdline"]):
        if str(tmp_path) in " ".join(process.info["cmdline"] or []):
            process.kill()
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_the_demo_runs_its_jobs_and_stops_everything(var_dir: Path) -> None:
    port = services.free_port()
    pgdata = var_dir / "pgdata"
    demo = _demo(var_dir, port)
    with urllib.request.urlopen(f"http://localhost:{port}/healthz", timeout=10) as response:
        assert response.status == 200
    # The seeded welcome message's notice goes through the worker to the demo outbox.
    assert _eventually(lambda: any((var_dir / "outbox").glob("*.eml")), 60)
    assert _query(pgdata, NOTICES_SENT) == 1
    # Beat prompts sealing every 10 s: nothing older than a few seconds stays unsealed.
    assert _eventually(lambda: _query(pgdata, UNSEALED) == 0 and _query(pgdata, SEALED) > 0, 60)
    processes = _demo_processes(demo, pgdata)
    commands = " ".join(" ".join(p.cmdline()) for p in processes)
    assert all(part in commands for part in ("worker", "beat", "runserver", "postgres"))
    # Every connection but this test's is the application's role, which may not truncate.
    assert _query(pgdata, CONNECTIONS_AS.format("= 'portal_app'")) >= 1
    assert _query(pgdata, CONNECTIONS_AS.format("<> 'portal_app'")) == 0
    assert _query(pgdata, "SELECT count(*) FROM pg_roles WHERE rolname = 'portal_app'") == 1
    assert _query(pgdata, APP_ROLE_CAN_TRUNCATE) == 0
    _stop(demo, signal.SIGTERM, processes)

    # Again on the same data, then Ctrl-C as a terminal sends it (to the whole group).
    demo = _demo(var_dir, port)
    with urllib.request.urlopen(f"http://localhost:{port}/healthz", timeout=10) as response:
        assert response.status == 200
    assert _query(pgdata, NOTICES_SENT) == 1  # seeding again sent nothing twice
    _stop(demo, signal.SIGINT, _demo_processes(demo, pgdata))
