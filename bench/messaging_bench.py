"""Messaging benchmark: secure messages end to end, against plain one-row commits.

Run by ``make bench`` (or ``.venv/bin/python bench/messaging_bench.py``); not a test.
Measures two ways of sending, in the same run, each end to end: through the service, a
real Celery worker (prefork, 2 processes) fed through Redis, and Django's SMTP backend
to an aiosmtpd server on loopback.

1. Bulk (the headline, the one the target applies to): ``BENCH_MESSAGES`` (default
   10,000) messages, each with its own subject and body, to as many patients, through
   ``messaging.services.messages_send_bulk`` in calls of ``BENCH_BATCH`` (default 500)
   messages; the worker sends their notices with ``deliveries_send_batch`` (100 per
   task and SMTP connection).
2. One at a time (a clinician's single send): ``BENCH_SINGLE`` (default 1,000; 0 skips
   it) messages through ``messaging.services.message_compose``, each with one attachment
   (a one-page PDF, checked once like an upload, encrypted into the file store per
   send), one call (one request-like audit context) each; the worker sends each notice
   with ``delivery_send``. Target: messages/s >= 0.05 x commits/s.

For each path it prints:

* messages/s end to end: from the first send until the SMTP server holds every notice
  and every delivery row is ``sent``; the send phase (the service alone, the worker
  already draining) and the delivery rate (first to last notice received) apart;
* notices received, distinct Message-IDs and distinct recipients (all must equal the
  count: one notice per message, none twice);
* the ratio to plain one-row PostgreSQL commits/s on the same database (one INSERT, one
  COMMIT, one connection), measured in the same run before, between and after the two
  paths; each path is compared with the mean of the two measurements around it. The
  target is bulk messages/s >= 0.1 x commits/s;
* messages per hour per CPU next to a commercial service's published 15,000, and the
  CPU each part used per message (sender, worker, PostgreSQL, SMTP server, and the
  whole machine, whose other work is not ours: the load is printed too).

Uses ``DATABASE_URL`` as given (``bench/run.py``: ``portal_bench``, migrated) with fresh
clerks (one per path) and patients (a set per path, and for each path's warm-up) per
run, a run tag in every address and MRN; and Redis database ``BENCH_REDIS_DB`` (default
5) on the ``REDIS_URL`` server, whose Celery queue is purged first (the cache uses the
next database and is left alone). The SMTP server runs in a child process so its work
is not charged to the sender's GIL. Exits 0 only if both paths meet their targets and
no path lost or duplicated a notice.

Environment: ``BENCH_MESSAGES``, ``BENCH_BATCH``, ``BENCH_SINGLE``, ``BENCH_REDIS_DB``,
``BENCH_PROFILE`` (a file: the send loops run under cProfile and their stats are written
there, the bulk loop's, and to FILE.single the other's), ``BENCH_WORKER_PROFILE`` (a
directory: each worker pool process runs under cProfile from its start, idle waits
included, and writes ``worker-PID.prof`` there when the worker stops); either inflates
the timings.
"""

from __future__ import annotations

import cProfile
import io
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
BATCH = int(os.environ.get("BENCH_BATCH", "500"))
SINGLE = int(os.environ.get("BENCH_SINGLE", "1000"))
WARMUP = 20  # per path, through the whole path before timing: worker, keys, templates, caches
TARGET_RATIO = 0.1
SINGLE_TARGET_RATIO = 0.05
REFERENCE_PER_HOUR_PER_CPU = 15_000
BASELINE_SECONDS, BASELINE_ROWS = 4.0, 5000
WORKER_CONCURRENCY = 2
STALL_SECONDS = 60.0  # no notice for this long: the run is broken, not slow
PROFILE = os.environ.get("BENCH_PROFILE")
WORKER_PROFILE = os.environ.get("BENCH_WORKER_PROFILE")
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124"
RUN = uuid.uuid4().hex[:8]
if MESSAGES < 1 or BATCH < 1 or SINGLE < 0:
    raise SystemExit("BENCH_MESSAGES and BENCH_BATCH must be at least 1, BENCH_SINGLE at least 0")

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
from encryption.uploads import CheckedUpload, attachment_check  # noqa: E402
from messaging import services  # noqa: E402
from messaging.models import Delivery, DeliveryState  # noqa: E402

# --- setup -----------------------------------------------------------------------------------


def _address_tag(label: str) -> str:
    """What every address of one patient set contains, and nothing else's does."""
    return f".{label}.{RUN}@"


def clerk_create(label: str) -> User:
    return User.objects.create_user(
        email=f"clerk.{label}.{RUN}@bench.example.test",
        password=None,
        full_name=f"Bench Clerk {label} {RUN}",
        role=Role.RECORDS_CLERK,
    )


def patients_create(clerk: User, count: int, label: str) -> list[User]:
    """``count`` verified patient accounts with profiles, in bulk (not timed)."""
    now = timezone.now()
    password = make_password(None)
    tag = _address_tag(label)
    users = User.objects.bulk_create(
        (
            User(
                email=f"patient{i:05d}{tag}bench.example.test",
                full_name=f"Bench Patient {i} {label} {RUN}",
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
                mrn=f"{label.upper()}{RUN}{i:06d}",
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
        User.objects.filter(role=Role.PATIENT, email__contains=tag)
        .select_related("patient_profile")
        .order_by("email")
    )


def _content(i: int, patient: User) -> tuple[str, str]:
    """Message ``i``'s own subject and body (no identifier the subject guard stops)."""
    subject = f"Your care team has an update for you (#{i})"
    body = (
        f"Dear {patient.full_name},\n\nMessage {i} of run {RUN}: your recent results "
        f"have been reviewed ({uuid.uuid4().hex}). Please book a follow-up visit "
        "at your convenience and reply here with any questions.\n\nYour care team"
    )
    return subject, body


def _request_context(clerk: User) -> AuditContext:
    return AuditContext(
        request_id=new_correlation_id(), ip="10.0.0.7", user_agent=USER_AGENT, user=clerk
    )


def _attachment() -> CheckedUpload:
    """A one-page PDF, through the upload check once (the form's work, not the service's)."""
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=612, height=792)
    writer.add_metadata({"/Title": f"Results {RUN}"})
    writer.write(out)
    return attachment_check(name="results.pdf", data=out.getvalue())


def send_one_at_a_time(clerk: User, patients: Sequence[User], offset: int = 0) -> None:
    """One message per patient through ``message_compose``, each with one attachment and
    in its own request context."""
    attachment = _attachment()
    for i, patient in enumerate(patients, start=offset):
        subject, body = _content(i, patient)
        draft = services.Draft(
            send_key=uuid.uuid4(), patient=patient, subject=subject, body=body, category="clinical"
        )
        with bound(_request_context(clerk)):
            services.message_compose(actor=clerk, draft=draft, attachments=[attachment], send=True)


def send_bulk(clerk: User, patients: Sequence[User], offset: int = 0, batch: int = BATCH) -> None:
    """One message per patient through ``messages_send_bulk``, ``batch`` per call, each
    call in its own request context (one submitted list, as a bulk-send form would)."""
    for start in range(0, len(patients), batch):
        items = []
        for i, patient in enumerate(patients[start : start + batch], start=offset + start):
            subject, body = _content(i, patient)
            items.append(
                services.BulkItem(
                    send_key=uuid.uuid4(),
                    patient=patient,
                    subject=subject,
                    body=body,
                    category="clinical",
                )
            )
        with bound(_request_context(clerk)):
            sent = services.messages_send_bulk(actor=clerk, items=items)
        if len(sent) != len(items):
            raise RuntimeError(f"messages_send_bulk sent {len(sent)} of {len(items)}")


# The worker under cProfile (BENCH_WORKER_PROFILE): each pool process profiles itself
# from its start and writes its stats when it exits.
_PROFILED_WORKER = """
import cProfile, os, sys
from celery.signals import worker_process_init, worker_process_shutdown
_profiles, _into = [], sys.argv[1]
@worker_process_init.connect
def _start(**_):
    _profiles.append(cProfile.Profile())
    _profiles[-1].enable()
@worker_process_shutdown.connect
def _stop(**_):
    for profile in _profiles:
        profile.disable()
        profile.dump_stats(os.path.join(_into, f"worker-{os.getpid()}.prof"))
from celery.__main__ import main
sys.argv = ["celery", *sys.argv[2:]]
main()
"""


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
        if WORKER_PROFILE:
            Path(WORKER_PROFILE).mkdir(parents=True, exist_ok=True)
            start = [sys.executable, "-c", _PROFILED_WORKER, WORKER_PROFILE]
        else:
            start = [sys.executable, "-m", "celery"]
        self.process = subprocess.Popen(
            [
                *start,
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


def _load() -> str:
    try:
        return " / ".join(f"{value:.1f}" for value in os.getloadavg())
    except OSError:
        return "?"


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


@dataclass
class SendPath:
    """One way of sending: its service call, its clerk, its warm-up and timed patients."""

    title: str
    label: str
    send: Callable[[User, Sequence[User], int], None]
    count: int
    clerk: User
    warm: list[User]
    patients: list[User]
    profile: str | None

    def deliveries(self) -> Any:
        return Delivery.objects.filter(message__author=self.clerk)


def warm_up(worker: Worker, paths: Sequence[SendPath]) -> None:
    """Each path's warm-up messages through the whole path, until every notice is marked sent."""
    SMTP.call("reset", f".{RUN}@")
    for path in paths:
        # in two calls, so that both pool processes are likely to run each kind of task
        half = len(path.warm) // 2
        path.send(path.clerk, path.warm[:half], 0)
        path.send(path.clerk, path.warm[half:], half)
    expected = sum(len(path.warm) for path in paths)
    wait_until(lambda: SMTP.received >= expected, lambda: SMTP.received, worker)
    for path in paths:
        _wait_marked(worker, path, len(path.warm))


def _wait_marked(worker: Worker, path: SendPath, expected: int) -> None:
    """Until ``expected`` of the path's delivery rows (warm-up included) are ``sent``."""
    marked = path.deliveries().filter(state=DeliveryState.SENT)
    wait_until(lambda: marked.count() >= expected, marked.count, worker)


def path_run(worker: Worker, path: SendPath) -> dict[str, Any]:
    """The timed messages of one path, end to end; its figures (the baseline apart)."""
    SMTP.call("reset", _address_tag(path.label))
    busy0, worker0, self0 = _machine_busy_seconds(), worker.cpu_seconds(), time.process_time()
    smtp0 = _tree_cpu_seconds(SMTP.process.pid or 0)
    postgres0 = _postgres_cpu_seconds()
    load_before = _load()
    start = time.perf_counter()
    if path.profile:
        profiler = cProfile.Profile()
        profiler.runcall(path.send, path.clerk, path.patients, len(path.warm))
        profiler.dump_stats(path.profile)
    else:
        path.send(path.clerk, path.patients, len(path.warm))
    sent_at = time.perf_counter()
    backlog = path.count - SMTP.received
    self_cpu = time.process_time() - self0
    wait_until(lambda: SMTP.received >= path.count, lambda: SMTP.received, worker)
    _wait_marked(worker, path, path.count + len(path.warm))
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
    load_after = _load()
    time.sleep(1.0)  # anything sent twice would arrive now
    return {
        "path": path,
        "start": start,
        "sent_at": sent_at,
        "end": end,
        "backlog": backlog,
        "cpu": cpu,
        "load": (load_before, load_after),
        "smtp": SMTP.call("report"),
        "deliveries": path.deliveries().count(),
        "marked": path.deliveries().filter(state=DeliveryState.SENT).count(),
    }


def timed_run(
    worker: Worker, paths: Sequence[SendPath]
) -> tuple[list[dict[str, Any]], list[float]]:
    """Warm-up; then a baseline before each path and after the last (each path is compared
    with the two around it)."""
    warm_up(worker, paths)
    baselines = [plain_commits_per_second()]
    runs = []
    for path in paths:
        runs.append(path_run(worker, path))
        baselines.append(plain_commits_per_second())
    for i, run in enumerate(runs):
        run["commits"] = (baselines[i], baselines[i + 1])
    return runs, baselines


def path_figures(run: dict[str, Any]) -> tuple[list[tuple[str, str]], float, float, bool]:
    """The table rows of one path; its rate, its ratio to plain commits, whether correct."""
    path: SendPath = run["path"]
    count, smtp, cpu = path.count, run["smtp"], run["cpu"]
    commits_before, commits_after = run["commits"]
    total_s, send_s = run["end"] - run["start"], run["sent_at"] - run["start"]
    delivery_s = max(smtp["last"] - smtp["first"], 1e-9)
    rate = count / total_s
    commits = (commits_before + commits_after) / 2
    ratio = rate / commits
    cpus = os.cpu_count() or 1
    correct = (
        smtp["total"] == count
        and smtp["distinct_ids"] == count
        and smtp["distinct_recipients"] == count
        and run["deliveries"] == count + len(path.warm)
    )
    ms_each = 1000 / count
    ours_cpu = cpu["sender"] + cpu["worker"] + cpu["postgres"] + cpu["smtp"]
    others = max(cpu["machine"] - ours_cpu, 0.0)
    rows = [
        (f"messages sent end to end ({count:,})", f"{total_s:,.1f} s"),
        ("  messages/s end to end", f"{rate:,.1f}"),
        ("  send phase (service only, worker running)", f"{count / send_s:,.1f} messages/s"),
        ("  notices still undelivered when sending ended", f"{run['backlog']:,}"),
        ("  delivery rate (first to last notice received)", f"{smtp['total'] / delivery_s:,.1f}/s"),
        ("  drain after the last send", f"{run['end'] - run['sent_at']:,.1f} s"),
        (
            "notices received / distinct Message-IDs / recipients",
            f"{smtp['total']:,} / {smtp['distinct_ids']:,} / {smtp['distinct_recipients']:,}"
            + ("" if correct else "  (WRONG)"),
        ),
        ("delivery rows sent (incl. warm-up)", f"{run['marked']:,} of {run['deliveries']:,}"),
        ("plain one-row commits/s (before, after)", f"{commits_before:,.0f}, {commits_after:,.0f}"),
        ("  messages/s / commits/s", f"{ratio:.3f}"),
        (f"messages per hour per CPU ({cpus} CPUs, whole box)", f"{rate * 3600 / cpus:,.0f}"),
        ("  published reference (encrypted, per CPU)", f"{REFERENCE_PER_HOUR_PER_CPU:,}/h"),
        (
            "CPU ms per message: sender / worker / PostgreSQL / SMTP",
            f"{cpu['sender'] * ms_each:.2f} / {cpu['worker'] * ms_each:.2f} / "
            f"{cpu['postgres'] * ms_each:.2f} / {cpu['smtp'] * ms_each:.2f}"
            f"  (sum {ours_cpu * ms_each:.2f})",
        ),
        (
            "  whole machine, others' work included",
            f"{cpu['machine'] * ms_each:.2f} (others {others * ms_each:.2f})",
        ),
        ("messages per CPU-hour those four used", f"{count * 3600 / max(ours_cpu, 1e-9):,.0f}"),
        (
            "machine busy during the path (ours, others)",
            f"{cpu['machine'] / (total_s * cpus):.0%} of {cpus} CPUs "
            f"({ours_cpu / (total_s * cpus):.0%}, {others / (total_s * cpus):.0%})",
        ),
        ("load average 1/5/15 min (before, after)", "{}; {}".format(*run["load"])),
    ]
    if smtp["foreign"]:
        rows.append(("notices for other runs or paths (ignored)", f"{smtp['foreign']:,}"))
    return rows, rate, ratio, correct


def main() -> int:
    began = time.perf_counter()
    call_command("migrate", verbosity=0)
    paths = []
    bulk_clerk = clerk_create("bulk")
    paths.append(
        SendPath(
            title=f"BULK: messages_send_bulk, {min(BATCH, MESSAGES):,} per call (the target)",
            label="bulk",
            send=send_bulk,
            count=MESSAGES,
            clerk=bulk_clerk,
            warm=patients_create(bulk_clerk, WARMUP, "bulkwarm"),
            patients=patients_create(bulk_clerk, MESSAGES, "bulk"),
            profile=PROFILE,
        )
    )
    if SINGLE:
        one_clerk = clerk_create("one")
        paths.append(
            SendPath(
                title="ONE AT A TIME: message_compose, one attachment each",
                label="one",
                send=send_one_at_a_time,
                count=SINGLE,
                clerk=one_clerk,
                warm=patients_create(one_clerk, WARMUP, "onewarm"),
                patients=patients_create(one_clerk, SINGLE, "one"),
                profile=f"{PROFILE}.single" if PROFILE else None,
            )
        )
    connection.close()  # setup done: the timed sends start on a fresh connection

    app.control.purge()
    with tempfile.TemporaryFile(prefix="bench-worker-") as log:
        worker = Worker(log)
        try:
            runs, baselines = timed_run(worker, paths)
        finally:
            worker.stop()
            SMTP.stop()

    database = urlsplit(DATABASE_URL).path.lstrip("/")
    redis = urlsplit(REDIS_URL)
    print(
        f"\nMessaging benchmark  (database {database}, Redis {redis.hostname}:{redis.port}"
        f"{redis.path}, run {RUN}, {os.cpu_count()} CPUs, load now {_load()})"
    )
    if PROFILE:
        print(f"send loops profiled into {PROFILE}[.single]: the timings are inflated")
    if WORKER_PROFILE:
        print(f"worker processes profiled into {WORKER_PROFILE}: the timings are inflated")
    tables = [(run["path"], *path_figures(run)) for run in runs]
    width = max(len(name) for _, rows, *_ in tables for name, _ in rows) + 2
    print("-" * (width + 34))
    for path, rows, *_ in tables:
        print(path.title)
        for name, value in rows:
            print(f"  {name:<{width}}{value}")
        print("-" * (width + 34))
    print(
        "plain one-row commits/s, in order: "
        + ", ".join(f"{value:,.0f}" for value in baselines)
        + f"; total {time.perf_counter() - began:.0f} s (setup, warm-up and baselines included)"
    )
    _, _, rate, ratio, correct = tables[0]
    commits = sum(runs[0]["commits"]) / 2
    passed = correct and ratio >= TARGET_RATIO
    print(
        f"target (bulk): messages/s end to end >= {TARGET_RATIO} x plain commits/s "
        f"({rate:,.1f} vs {TARGET_RATIO * commits:,.1f}, ratio {ratio:.3f}), every notice once: "
        + ("PASS" if passed else "MISS")
    )
    for (path, _, rate, ratio, correct), run in zip(tables[1:], runs[1:], strict=True):
        commits = sum(run["commits"]) / 2
        single_passed = correct and ratio >= SINGLE_TARGET_RATIO
        passed = passed and single_passed
        print(
            f"target ({path.label}): messages/s end to end >= {SINGLE_TARGET_RATIO} x plain "
            f"commits/s ({rate:,.1f} vs {SINGLE_TARGET_RATIO * commits:,.1f}, ratio "
            f"{ratio:.3f}), every notice once: " + ("PASS" if single_passed else "MISS")
        )
    return 0 if passed and all(correct for *_, correct in tables) else 1


if __name__ == "__main__":
    raise SystemExit(main())
