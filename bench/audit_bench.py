"""Audit benchmark (issue 3): recording cost, sealing and verification throughput.

Run by ``make bench`` (or ``.venv/bin/python bench/audit_bench.py``); not a test.
Creates its own database (``portal_bench_audit`` on the ``DATABASE_URL`` server,
dropped and re-created each run) and migrates the ``audit`` app only. Prints one table:

* median cost of ``event_record`` inside a transaction, in a request-like context;
* sealing throughput against a plain hashlib SHA-256 chain over the same rows
  fetched the same way (same SQL, same batches);
* ``audit_verify`` throughput against that plain chain (target ratio >= 0.5);
* whether sealing keeps up with 2,000 events/s from 4 concurrent writer processes.

Environment: ``BENCH_DATABASE_URL`` (a full URL, overrides the above), ``BENCH_ROWS``
(default 200000), ``BENCH_DURABLE_WRITERS=1`` (writers wait for the WAL flush).
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_url() -> str:
    """Its own database on the configured server, so counts and timings start from zero."""
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    server = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/portal"
    return urlunsplit(urlsplit(server)._replace(path="/portal_bench_audit"))


BENCH_URL = _bench_url()
ROWS = int(os.environ.get("BENCH_ROWS", "200000"))
RECORD_SAMPLES = 2000
WRITERS, WRITE_RATE, WRITE_SECONDS = 4, 2000, 5.0
# A 2-core sandbox cannot fsync 2,000 separate commits/s; the writers skip waiting for
# the WAL flush (BENCH_DURABLE_WRITERS=1 to wait) so the load on the sealer is the target.
DURABLE_WRITERS = os.environ.get("BENCH_DURABLE_WRITERS") == "1"
SEAL_INTERVAL = 1.0  # the beat schedule says 10 s; 1 s shows the backlog more finely

os.environ["APP_MODE"] = "test"
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _recreate_database() -> None:
    import psycopg

    parts = urlsplit(BENCH_URL)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        # The append-only triggers make DROP DATABASE the only way to start afresh.
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


_recreate_database()

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from audit import sealing, verification  # noqa: E402
from audit.context import AuditContext, bound, new_correlation_id  # noqa: E402
from audit.models import AuditEvent, AuditSeal  # noqa: E402
from audit.sealing import events_seal  # noqa: E402
from audit.services import event_record  # noqa: E402
from audit.verification import chain_verify  # noqa: E402

logging.getLogger("audit.chain").setLevel(logging.WARNING)
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124"


class _BenchUser:
    """Quacks like a signed-in clinician for ``event_record``; no accounts tables needed."""

    is_authenticated = True
    pk = 4242
    role = "clinician"

    def audit_label(self) -> str:
        return "Dr Bench Example (Clinician)"


def _request_context() -> AuditContext:
    request = RequestFactory().get("/messages/1/", HTTP_USER_AGENT=USER_AGENT)
    request.user = _BenchUser()  # type: ignore[assignment]
    return AuditContext(
        request_id=new_correlation_id(), ip="10.0.0.7", user_agent=USER_AGENT, request=request
    )


def bench_record() -> tuple[float, float]:
    """Median microseconds of event_record alone, and of the whole transaction with commit."""
    inside, whole = [], []
    with bound(_request_context()):
        for i in range(RECORD_SAMPLES):
            start = time.perf_counter()
            with transaction.atomic():
                t0 = time.perf_counter()
                event_record(
                    action="messages.message_viewed",
                    target_type="messages.message",
                    target_id=i,
                    patient_id=5000 + i % 97,
                    details={"thread_id": i % 50},
                )
                inside.append(time.perf_counter() - t0)
            whole.append(time.perf_counter() - start)
    return statistics.median(inside) * 1e6, statistics.median(whole) * 1e6


def populate(rows: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO audit_auditevent (occurred_at, actor_kind, actor_id, actor_role,
                actor_label, action, target_type, target_id, patient_id, outcome, ip,
                user_agent, request_id, details)
            SELECT now() - make_interval(secs => %(rows)s - g), 'user', 1000 + g %% 50,
                'clinician', 'Dr Example ' || (g %% 50) || ' (Clinician)',
                'messages.message_viewed', 'messages.message', (g * 7)::text, 5000 + g %% 997,
                'success', ('10.0.' || (g %% 250) || '.' || (g %% 200))::inet, %(ua)s,
                md5(g::text), jsonb_build_object('thread_id', g %% 1000, 'message_id', g)
            FROM generate_series(1, %(rows)s) g
            """,
            {"rows": rows, "ua": USER_AGENT},
        )
        cursor.execute("ANALYZE audit_auditevent")


def plain_chain(rows: Any) -> int:
    """The yardstick: SHA-256 over each row's repr, chained. No canonical form, no key."""
    head, count = b"", 0
    sha256 = hashlib.sha256
    for row in rows:
        head = sha256(head + repr(row).encode()).digest()
        count += 1
    return count


def plain_seal_pass(batch_size: int = 5000) -> int:
    """Fetch exactly as the sealer does: SEAL_ROWS_SQL batches inside a transaction."""
    last, total = 0, 0
    with transaction.atomic(), connection.cursor() as cursor:
        while True:
            cursor.execute(sealing.SEAL_ROWS_SQL, [last, 2**62, batch_size])
            rows = cursor.fetchall()
            if not rows:
                return total
            total += plain_chain(rows)
            last = rows[-1][sealing._ID_COLUMN]


def plain_verify_pass() -> int:
    """Fetch exactly as the verifier does: VERIFY_ROWS_SQL through the same server-side cursor."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        return plain_chain(verification._stream(sealing.VERIFY_ROWS_SQL, [2**62], "plain"))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _writer(index: int, start_at: float, rate: float, seconds: float, out: Any) -> None:
    """One writer process: one event per short transaction, on a fixed schedule."""
    connections.close_all()
    if not DURABLE_WRITERS:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit = off")
    written, n = 0, int(rate * seconds)
    with bound(_request_context()):
        for i in range(n):
            delay = start_at + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
            with transaction.atomic():
                event_record(action="messages.message_viewed", target_id=i, details={"w": index})
            written += 1
    out.put((written, time.time()))


def bench_keep_up() -> dict[str, float]:
    already = AuditEvent.objects.count()
    events_seal()  # start from a fully sealed chain
    connections.close_all()
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    start_at = time.time() + 0.5
    procs = [
        context.Process(
            target=_writer, args=(i, start_at, WRITE_RATE / WRITERS, WRITE_SECONDS, out)
        )
        for i in range(WRITERS)
    ]
    for proc in procs:
        proc.start()
    busy = 0.0
    max_backlog = 0
    finished: list[tuple[int, float]] = []
    sealed = 0
    while len(finished) < WRITERS:
        time.sleep(max(0.0, SEAL_INTERVAL - 0.0))
        took, report = timed(lambda: events_seal(wait_seconds=2.0))
        busy += took
        sealed += report.sealed
        backlog = AuditEvent.objects.filter(id__gt=report.through_event_id or 0).count()
        max_backlog = max(max_backlog, backlog)
        while not out.empty():
            finished.append(out.get())
    for proc in procs:
        proc.join()
    writers_done = max(at for _, at in finished)
    drain_took, last = timed(lambda: events_seal(wait_seconds=2.0))
    sealed += last.sealed
    written = sum(n for n, _ in finished)
    wall = writers_done - start_at
    return {
        "written": written,
        "write_rate": written / wall,
        "sealed": sealed,
        "seal_busy": busy / (time.time() - start_at),
        "max_backlog": max_backlog,
        "final_drain_ms": drain_took * 1000,
        "unsealed_after": AuditEvent.objects.count() - already - sealed,
    }


def main() -> None:
    began = time.perf_counter()
    call_command("migrate", "audit", verbosity=0)
    record_us, record_tx_us = bench_record()
    events_seal()  # the recording samples, so the throughput runs start clean
    populate(ROWS)

    plain_seal_pass()  # warm the cache for both contenders
    plain_seal_s, n_plain = timed(plain_seal_pass)
    seal_s, seal_report = timed(lambda: events_seal(batch_size=5000))
    assert seal_report.sealed >= ROWS, seal_report
    total = AuditSeal.objects.count()

    verify_times, plain_times = [], []
    for _ in range(3):
        plain_times.append(timed(plain_verify_pass)[0])
        took, report = timed(lambda: chain_verify(record=False))
        assert report.ok, report
        verify_times.append(took)
    plain_verify_s, verify_s = statistics.median(plain_times), statistics.median(verify_times)

    keep = bench_keep_up()
    final = chain_verify(record=False)

    plain_seal_rate = n_plain / plain_seal_s
    seal_rate = seal_report.sealed / seal_s
    plain_verify_rate = total / plain_verify_s
    verify_rate = report.events_checked / verify_s
    keeps_up = keep["unsealed_after"] == 0 and keep["seal_busy"] < 1.0
    lines = [
        ("event_record, median (inside the transaction)", f"{record_us:,.0f} µs"),
        ("event_record + commit, median", f"{record_tx_us:,.0f} µs"),
        (f"sealing ({seal_report.sealed:,} events)", f"{seal_rate:,.0f} events/s"),
        ("plain SHA-256 chain, same fetch", f"{plain_seal_rate:,.0f} events/s"),
        ("  sealing / plain", f"{seal_rate / plain_seal_rate:.2f}"),
        (f"audit_verify ({report.events_checked:,} events)", f"{verify_rate:,.0f} events/s"),
        ("plain SHA-256 chain, same fetch", f"{plain_verify_rate:,.0f} events/s"),
        ("  verify / plain (target >= 0.5)", f"{verify_rate / plain_verify_rate:.2f}"),
        (
            f"writers: {WRITERS} processes, target {WRITE_RATE:,}/s"
            + ("" if DURABLE_WRITERS else " (async commit)"),
            f"{keep['write_rate']:,.0f} events/s achieved ({keep['written']:,.0f} events)",
        ),
        (
            f"sealer every {SEAL_INTERVAL:g} s: busy fraction",
            f"{keep['seal_busy']:.0%} (max backlog {keep['max_backlog']:,.0f} events)",
        ),
        ("backlog sealed after writers stopped in", f"{keep['final_drain_ms']:,.0f} ms"),
        ("sealing keeps up", "yes" if keeps_up else "NO"),
        ("chain verifies after the concurrent run", "yes" if final.ok else "NO"),
    ]
    width = max(len(name) for name, _ in lines) + 2
    print(f"\nAudit benchmark  (PostgreSQL, database {urlsplit(BENCH_URL).path.lstrip('/')})")
    print("-" * (width + 40))
    for name, value in lines:
        print(f"{name:<{width}}{value}")
    print("-" * (width + 40))
    print(f"total {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
