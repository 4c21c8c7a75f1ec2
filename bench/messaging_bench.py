"""Messaging benchmark: secure messages end to end, against plain one-row commits.

Run by ``make bench`` (or ``.venv/bin/python bench/messaging_bench.py``); not a test.
Sends ``BENCH_MESSAGES`` (default 10,000) messages, each with its own subject and body,
to as many patients, through ``messaging.services.message_compose`` (encryption, thread,
message, delivery and audit rows), a real Celery worker (prefork, 2 processes) fed
through Redis, and Django's SMTP backend to an aiosmtpd server on loopback. Prints:

* messages/s end to end: from the first send until the SMTP server holds every notice
  and every delivery row is ``sent``; the send phase (the service alone, the worker
  already draining) and the delivery rate (first to last notice received) apart;
* notices received, distinct Message-IDs and distinct recipients (all must equal the
  count: one notice per message, none twice);
* in the same run, plain one-row PostgreSQL commits/s on the same database (one INSERT,
  one COMMIT, one connection), measured before and after the messages; the target is
  messages/s >= 0.1 x commits/s (their mean);
* messages per hour per CPU next to a commercial service's published 15,000.

Uses ``DATABASE_URL`` as given (``bench/run.py``: ``portal_bench``, migrated) with a
fresh clerk and patients per run (a run tag in every address and MRN), and Redis
database ``BENCH_REDIS_DB`` (default 5) on the ``REDIS_URL`` server, purged first. The
SMTP server runs in a child process so its work is not charged to the sender's GIL.
Environment: ``BENCH_MESSAGES``, ``BENCH_REDIS_DB``, ``BENCH_PROFILE`` (a file: the send
loop runs under cProfile and its stats are written there; the timings then inflate).
"""

from __future__ import annotations

import cProfile
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
WARMUP = 20  # through the whole path before timing: worker up, keys, templates, caches
TARGET_RATIO = 0.1
REFERENCE_PER_HOUR_PER_CPU = 15_000
BASELINE_SECONDS, BASELINE_ROWS = 4.0, 5000
WORKER_CONCURRENCY = 2
STALL_SECONDS = 60.0  # no notice for this long: the run is broken, not slow
PROFILE = os.environ.get("BENCH_PROFILE")
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124"
RUN = uuid.uuid4().hex[:8]

DATABASE_URL = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/portal_bench"
_redis = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
REDIS_URL = urlunsplit(_redis._replace(path="/" + os.environ.get("BENCH_REDIS_DB", "5")))

os.environ.update(
    {
        "APP_MODE": "test",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",  # .delay goes to Redis, to the real worker
    }
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


# --- the SMTP server, in its own process ------------------------------------------------

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.I | re.M)


class _Collector:
    """Counts this run's notices (by recipient tag) and remembers their ids and recipients."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter
        self.tag = "\0"
        self.reset(self.tag)

    def reset(self, tag: str) -> None:
        self.tag = tag
        self.ids: set[bytes] = set()
        self.recipients: set[str] = set()
        self.total = self.foreign = 0
        self.first = self.last = 0.0
        self.counter.value = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.time()
        if not any(self.tag in rcpt for rcpt in envelope.rcpt_tos):
            self.foreign += 1
            return "250 OK"
        head = bytes(envelope.content).split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        self.ids.add(found.group(1) if found else b"")
        self.recipients.update(envelope.rcpt_tos)
        self.first = self.first or now
        self.last = now
        self.total += 1
        self.counter.value = self.total
        return "250 OK"

    def report(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "distinct_ids": len(self.ids - {b""}),
            "distinct_recipients": len(self.recipients),
            "foreign": self.foreign,
            "first": self.first,
            "last": self.last,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _smtp_serve(commands: Connection, counter: Any) -> None:
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # a line per SMTP command else
    collector = _Collector(counter)
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    commands.send(port)
    try:
        while True:
            command, argument = commands.recv()
            if command == "reset":
                collector.reset(argument)
                commands.send(True)
            elif command == "report":
                commands.send(collector.report())
            else:
                break
    finally:
        controller.stop()
        commands.send(True)


class SMTPServer:
    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")  # before Django: no threads, no sockets
        self.counter = context.RawValue("q", 0)
        self.commands, child = context.Pipe()
        self.process = context.Process(target=_smtp_serve, args=(child, self.counter), daemon=True)
        self.process.start()
        self.port: int = self.commands.recv()

    def call(self, command: str, argument: Any = None) -> Any:
        self.commands.send((command, argument))
        return self.commands.recv()

    @property
    def received(self) -> int:
        return int(self.counter.value)

    def stop(self) -> None:
        if self.process.is_alive():
            self.commands.send(("stop", None))
            self.commands.poll(10)
        self.process.join(10)


SMTP = SMTPServer()

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import PatientProfile, Role, User  # noqa: E402
from audit.context import AuditContext, bound, new_correlation_id  # noqa: E402
from config.celery import app  # noqa: E402
from messaging import services  # noqa: E402
from messaging.models import Delivery, DeliveryState  # noqa: E402

# --- setup -----------------------------------------------------------------------------------


def patients_create(clerk: User, count: int) -> list[User]:
    """``count`` verified patient accounts with profiles, in bulk (not timed)."""
    now = timezone.now()
    password = make_password(None)
    users = User.objects.bulk_create(
        (
            User(
                email=f"patient{i:05d}.{RUN}@bench.example.test",
                full_name=f"Bench Patient {i} {RUN}",
                role=Role.PATIENT,
                password=password,
                email_verified_at=now,
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    PatientProfile.objects.bulk_create(
        (
            PatientProfile(
                user=user,
                legal_name=user.full_name,
                date_of_birth=date(1950 + i % 60, 1 + i % 12, 1 + i % 28),
                mrn=f"B{RUN}{i:06d}",
                identity_verified_by=clerk,
                identity_method="photo_id_in_person",
                identity_verified_at=now,
            )
            for i, user in enumerate(users)
        ),
        batch_size=2000,
    )
    # What the service reads of each patient (the profile, for the subject guard) is
    # loaded here, as the compose view has it in hand from its own lookup.
    return list(
        User.objects.filter(role=Role.PATIENT, email__endswith=f".{RUN}@bench.example.test")
        .select_related("patient_profile")
        .order_by("email")
    )


def send_all(clerk: User, patients: list[User], offset: int = 0) -> None:
    """One message per patient through the service, each in a request-like audit context."""
    for i, patient in enumerate(patients, start=offset):
        draft = services.Draft(
            send_key=uuid.uuid4(),
            patient=patient,
            subject=f"Your care team has an update for you (#{i})",
            body=(
                f"Dear {patient.full_name},\n\nMessage {i} of run {RUN}: your recent results "
                f"have been reviewed ({uuid.uuid4().hex}). Please book a follow-up visit "
                "at your convenience and reply here with any questions.\n\nYour care team"
            ),
            category="clinical",
        )
        context = AuditContext(
            request_id=new_correlation_id(), ip="10.0.0.7", user_agent=USER_AGENT, user=clerk
        )
        with bound(context):
            services.message_compose(actor=clerk, draft=draft, attachments=[], send=True)


class Worker:
    """``celery worker`` (prefork) in a subprocess, on this run's Redis database and SMTP port."""

    def __init__(self, log: IO[bytes]) -> None:
        self.log = log
        env = {
            **os.environ,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(SMTP.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_USE_SSL": "false",
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(WORKER_CONCURRENCY),
                "--loglevel",
                "WARNING",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"the worker exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def cpu_seconds(self) -> float:
        return _tree_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children (Linux /proc; 0 elsewhere)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            tasks = Path(f"/proc/{current}/task")
            for task in tasks.iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (OSError, IndexError, ValueError):
            continue
    return total


def _machine_busy_seconds() -> float:
    """CPU-seconds the whole machine spent not idle (every process, ours or not)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _postgres_cpu_seconds() -> dict[int, float]:
    """CPU of every server process serving this database (sender, worker, this poll)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        pids = [row[0] for row in cursor.fetchall()]
    return {pid: _tree_cpu_seconds(pid) for pid in pids if pid}


def wait_until(done: Callable[[], bool], progress: Callable[[], int], worker: Worker) -> None:
    """Poll every 5 ms; fail if the worker died or nothing moved for STALL_SECONDS."""
    last, moved = progress(), time.monotonic()
    while not done():
        time.sleep(0.005)
        now_seen = progress()
        if now_seen != last:
            last, moved = now_seen, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            worker.check()
            raise RuntimeError(f"stalled at {last}: worker log:\n{worker.tail()}")


# --- the baseline ------------------------------------------------------------------------------


def plain_commits_per_second() -> float:
    """One-row INSERT + COMMIT, one connection, a normal (logged) table, same database."""
    import psycopg

    table = f"bench_commit_{RUN}"
    payload = "x" * 200  # about what the audit row of a send carries
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (id bigserial PRIMARY KEY, n integer NOT NULL,"
            " payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        try:
            for n in range(50):  # warm: prepared statement, caches
                conn.execute(f"INSERT INTO {table} (n, payload) VALUES (%s, %s)", (n, payload))
            count, start = 0, time.perf_counter()
            stop = start + BASELINE_SECONDS
            while count < BASELINE_ROWS and time.perf_counter() < stop:
                conn.execute(f"INSERT INTO {table} (n, payload) VALUES (%s, %s)", (count, payload))
                count += 1
            seconds = time.perf_counter() - start
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return count / seconds


# --- the run -----------------------------------------------------------------------------------


def timed_run(
    worker: Worker, clerk: User, warm: list[User], patients: list[User]
) -> dict[str, Any]:
    """Warm-up, baseline, the timed messages, baseline again; figures for the table."""
    SMTP.call("reset", RUN)
    send_all(clerk, warm)
    wait_until(lambda: SMTP.received >= WARMUP, lambda: SMTP.received, worker)
    SMTP.call("reset", RUN)

    commits_before = plain_commits_per_second()

    busy0, worker0, self0 = _machine_busy_seconds(), worker.cpu_seconds(), time.process_time()
    smtp0 = _tree_cpu_seconds(SMTP.process.pid or 0)
    postgres0 = _postgres_cpu_seconds()
    start = time.perf_counter()
    if PROFILE:
        profiler = cProfile.Profile()
        profiler.runcall(send_all, clerk, patients, WARMUP)
        profiler.dump_stats(PROFILE)
    else:
        send_all(clerk, patients, WARMUP)
    sent_at = time.perf_counter()
    backlog = MESSAGES - SMTP.received
    self_cpu = time.process_time() - self0
    wait_until(lambda: SMTP.received >= MESSAGES, lambda: SMTP.received, worker)
    ours = Delivery.objects.filter(message__author=clerk)
    marked = ours.filter(state=DeliveryState.SENT)
    wait_until(lambda: marked.count() >= MESSAGES + WARMUP, marked.count, worker)
    end = time.perf_counter()
    cpu = {
        "machine": _machine_busy_seconds() - busy0,
        "worker": worker.cpu_seconds() - worker0,
        "smtp": _tree_cpu_seconds(SMTP.process.pid or 0) - smtp0,
        "sender": self_cpu,
        "postgres": sum(
            seconds - postgres0.get(pid, 0.0) for pid, seconds in _postgres_cpu_seconds().items()
        ),
    }
    time.sleep(1.0)  # anything sent twice would arrive now
    return {
        "start": start,
        "sent_at": sent_at,
        "end": end,
        "backlog": backlog,
        "cpu": cpu,
        "smtp": SMTP.call("report"),
        "deliveries": ours.count(),
        "marked": marked.count(),
        "commits_before": commits_before,
        "commits_after": plain_commits_per_second(),
    }


def main() -> int:
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    clerk = User.objects.create_user(
        email=f"clerk.{RUN}@bench.example.test",
        password=None,
        full_name=f"Bench Clerk {RUN}",
        role=Role.RECORDS_CLERK,
    )
    patients = patients_create(clerk, WARMUP + MESSAGES)
    warm, timed_patients = patients[:WARMUP], patients[WARMUP:]
    connection.close()  # setup done: the timed sends start on a fresh connection

    app.control.purge()
    with tempfile.TemporaryFile(prefix="bench-worker-") as log:
        worker = Worker(log)
        try:
            run = timed_run(worker, clerk, warm, timed_patients)
        finally:
            worker.stop()
            SMTP.stop()
    smtp, deliveries, marked = run["smtp"], run["deliveries"], run["marked"]
    commits_before, commits_after = run["commits_before"], run["commits_after"]
    end, start, sent_at, backlog = run["end"], run["start"], run["sent_at"], run["backlog"]
    cpu = run["cpu"]

    total_s, send_s = end - start, sent_at - start
    delivery_s = max(smtp["last"] - smtp["first"], 1e-9)
    rate = MESSAGES / total_s
    commits = (commits_before + commits_after) / 2
    ratio = rate / commits
    cpus = os.cpu_count() or 1
    per_hour_cpu = rate * 3600 / cpus
    correct = (
        smtp["total"] == MESSAGES
        and smtp["distinct_ids"] == MESSAGES
        and smtp["distinct_recipients"] == MESSAGES
        and deliveries == MESSAGES + WARMUP
    )
    ms_each = 1000 / MESSAGES
    ours_cpu = cpu["sender"] + cpu["worker"] + cpu["postgres"] + cpu["smtp"]
    lines = [
        (f"messages sent end to end ({MESSAGES:,})", f"{total_s:,.1f} s"),
        ("  messages/s end to end", f"{rate:,.1f}"),
        ("  send phase (service only, worker running)", f"{MESSAGES / send_s:,.1f} messages/s"),
        ("  notices still undelivered when sending ended", f"{backlog:,}"),
        ("  delivery rate (first to last notice received)", f"{smtp['total'] / delivery_s:,.1f}/s"),
        ("  drain after the last send", f"{end - sent_at:,.1f} s"),
        (
            "notices received / distinct Message-IDs / recipients",
            f"{smtp['total']:,} / {smtp['distinct_ids']:,} / {smtp['distinct_recipients']:,}"
            + ("" if correct else "  (WRONG)"),
        ),
        ("delivery rows sent (incl. warm-up)", f"{marked:,} of {deliveries:,}"),
        ("plain one-row commits/s (before, after)", f"{commits_before:,.0f}, {commits_after:,.0f}"),
        (f"  messages/s / commits/s (target >= {TARGET_RATIO})", f"{ratio:.3f}"),
        (f"messages per hour per CPU ({cpus} CPUs, whole box)", f"{per_hour_cpu:,.0f}"),
        ("  published reference (encrypted, per CPU)", f"{REFERENCE_PER_HOUR_PER_CPU:,}/h"),
        (
            "CPU ms per message: sender / worker / PostgreSQL / SMTP",
            f"{cpu['sender'] * ms_each:.1f} / {cpu['worker'] * ms_each:.1f} / "
            f"{cpu['postgres'] * ms_each:.1f} / {cpu['smtp'] * ms_each:.1f}",
        ),
        ("  whole machine, others' work included", f"{cpu['machine'] * ms_each:.1f}"),
        (
            "messages per CPU-hour those four used",
            f"{MESSAGES * 3600 / max(ours_cpu, 1e-9):,.0f}",
        ),
        (
            "  machine busy during the run",
            f"{cpu['machine'] / (total_s * cpus):.0%} of {cpus} CPUs",
        ),
    ]
    if smtp["foreign"]:
        lines.append(("notices for other runs (ignored)", f"{smtp['foreign']:,}"))
    width = max(len(name) for name, _ in lines) + 2
    database = urlsplit(DATABASE_URL).path.lstrip("/")
    redis = urlsplit(REDIS_URL)
    print(
        f"\nMessaging benchmark  (database {database}, Redis {redis.hostname}:{redis.port}"
        f"{redis.path}, run {RUN})"
    )
    if PROFILE:
        print(f"send loop profiled into {PROFILE}: the timings are inflated")
    print("-" * (width + 30))
    for name, value in lines:
        print(f"{name:<{width}}{value}")
    print("-" * (width + 30))
    print(f"total {time.perf_counter() - began:.0f} s (setup, warm-up and baselines included)")
    passed = correct and ratio >= TARGET_RATIO
    print(
        f"target: messages/s end to end >= {TARGET_RATIO} x plain commits/s "
        f"({rate:,.1f} vs {TARGET_RATIO * commits:,.1f}), every notice once: "
        + ("PASS" if passed else "MISS")
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
