"""Verified-TLS delivery benchmark: ``messaging.tls_delivery`` against plain SMTP, same run.

Run by ``make bench`` (or ``.venv/bin/python bench/tls_delivery_bench.py``); not a test.
Delivers ``BENCH_TLS_MESSAGES`` (default 2,000) small messages (one short text part) to
an aiosmtpd server on loopback four ways, each against the same server process:

1. verified TLS, one session per message: ``deliver_verified`` (EHLO, STARTTLS, a full
   handshake with certificate and host-name check, EHLO, MAIL, RCPT, DATA, QUIT);
2. plain SMTP, one connection per message: ``smtplib.SMTP`` + ``send_message`` + QUIT;
3. verified TLS, one session per batch: ``deliver_many`` with ``BENCH_TLS_BATCH``
   (default 100) messages to one domain per call;
4. plain SMTP, one connection per batch of the same size.

For each it prints messages/s; then the TLS/plain ratio for each pairing (like with
like: a connection per message, a connection per batch), and how much a shared session
gains over one per message. The target (TLS >= 0.5 x plain) is judged on the batched
pairing, the way the pipeline will send (a worker's batch of notices); the per-message
ratio is printed for context, since it is mostly the cost of the handshake. Exits 0
only if the batched ratio meets it and the server received every message of every path.

The servers (one with STARTTLS required and a certificate for ``mx.test`` from a CA made
for the run, one without TLS) run in a child process, so their work (aiosmtpd, the
server side of TLS) is not charged to the sender's GIL. The sender trusts only that CA
and verifies the name ``mx.test``, connecting to 127.0.0.1 (``resolve_address``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import smtplib
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from messaging.tls_delivery import TlsReceipt, deliver_many, deliver_verified  # noqa: E402
from tests.messaging.tls_servers import Leaf, ThrowawayCA, smtp_serve  # noqa: E402

MESSAGES = int(os.environ.get("BENCH_TLS_MESSAGES", "2000"))
BATCH = int(os.environ.get("BENCH_TLS_BATCH", "100"))
TARGET_RATIO = 0.5
WARMUP = 20
LOCAL_HOSTNAME = "bench.localhost"


def _serve(leaf: Leaf, pipe: Connection) -> None:
    """Child process: a TLS and a plain server; answers "count" with what each accepted."""
    # aiosmtpd logs every command at INFO; the log would be most of what we measure.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    with (
        smtp_serve(tls=leaf.server_context(), count_only=True) as tls,
        smtp_serve(tls=None, count_only=True) as plain,
    ):
        pipe.send((tls.port, plain.port))
        while (request := pipe.recv()) != "stop":
            assert request == "count"
            pipe.send((tls.recorder.accepted, plain.recorder.accepted))


def _message(number: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "no-reply@clinic.test"
    mail["To"] = f"patient{number}@mail.test"
    mail["Subject"] = "You have a new secure message"
    mail.set_content(f"Message {number}: sign in to the portal to read it.\n")
    return mail


def _timed(label: str, send: Callable[[int], None], count: int) -> float:
    send(WARMUP)
    started = time.perf_counter()
    send(count)
    elapsed = time.perf_counter() - started
    rate = count / elapsed
    print(f"{label:<44} {rate:9.0f} messages/s ({elapsed:.2f} s)", flush=True)
    return rate


def main() -> int:
    ca = ThrowawayCA()
    leaf = ca.leaf("mx.test")
    context = ca.client_context()
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(leaf, child))
    server.start()
    tls_port, plain_port = parent.recv()
    options: dict[str, Any] = {
        "resolve_mx": lambda domain: [(10, "mx.test")],
        "resolve_address": lambda host: "127.0.0.1",
        "port": tls_port,
        "ssl_context": context,
        "relay": "",
    }

    def tls_each(count: int) -> None:
        for number in range(count):
            deliver_verified(_message(number), f"patient{number}@mail.test", **options)

    def plain_each(count: int) -> None:
        for number in range(count):
            with smtplib.SMTP("127.0.0.1", plain_port, local_hostname=LOCAL_HOSTNAME) as smtp:
                smtp.send_message(_message(number))

    def tls_batched(count: int) -> None:
        for start in range(0, count, BATCH):
            items = [
                (_message(number), f"patient{number}@mail.test")
                for number in range(start, min(start + BATCH, count))
            ]
            results = deliver_many(items, **options)
            assert all(isinstance(result, TlsReceipt) for result in results), results

    def plain_batched(count: int) -> None:
        for start in range(0, count, BATCH):
            with smtplib.SMTP("127.0.0.1", plain_port, local_hostname=LOCAL_HOSTNAME) as smtp:
                for number in range(start, min(start + BATCH, count)):
                    smtp.send_message(_message(number))

    print(f"{MESSAGES} messages per path, batches of {BATCH}, {WARMUP} warm-up each")
    try:
        tls_one = _timed("verified TLS, a session per message", tls_each, MESSAGES)
        plain_one = _timed("plain SMTP, a connection per message", plain_each, MESSAGES)
        tls_many = _timed(
            f"verified TLS, a session per {BATCH} (deliver_many)", tls_batched, MESSAGES
        )
        plain_many = _timed(f"plain SMTP, a connection per {BATCH}", plain_batched, MESSAGES)
        parent.send("count")
        tls_received, plain_received = parent.recv()
    finally:
        parent.send("stop")
        server.join(timeout=10)
    expected = 2 * (MESSAGES + WARMUP)
    per_message, batched = tls_one / plain_one, tls_many / plain_many
    print(f"ratio TLS/plain, a connection per message: {per_message:.2f} (context, no target)")
    print(f"ratio TLS/plain, a connection per batch:   {batched:.2f} (target >= {TARGET_RATIO})")
    print(f"deliver_many over deliver_verified:        {tls_many / tls_one:.1f}x")
    print(f"received: TLS {tls_received}/{expected}, plain {plain_received}/{expected}")
    complete = tls_received == plain_received == expected
    return 0 if complete and batched >= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
