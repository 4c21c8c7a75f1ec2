"""Messaging fixtures: a mail server that refuses or stalls on cue, a real worker, and a
STARTTLS relay whose certificate comes from a CA made for the run."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from django.db import connection

from config.celery import app
from tests.messaging.tls_servers import Leaf, Server, ThrowawayCA, smtp_serve

ROOT = Path(__file__).resolve().parents[2]
WORKER_APPLICATION_NAME = "test-worker"  # pg_stat_activity shows the worker's connections


class ScriptedMailbox:
    """An SMTP handler that keeps what it accepts and answers as the test tells it."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.rcpt_replies: dict[str, str] = {}  # address -> reply, e.g. "550 5.1.1 unknown"
        self.data_reply = ""  # a reply to DATA instead of "250 OK"
        self.mail_reply = ""  # a reply to MAIL FROM (our sender) instead of "250 OK"
        self.hold = threading.Event()  # while set, DATA waits: a conversation stuck mid-send
        self.held = threading.Event()  # set once a DATA is waiting

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: Any
    ) -> str:
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        reply = self.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.hold.is_set():
            self.held.set()
            while self.hold.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Not kept"  # its client is gone; a real server keeps nothing
        if self.data_reply:
            return self.data_reply
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        parsed["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Envelope-To"] == address]


def free_port() -> int:
    """A loopback port nothing listens on (once this returns)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mailbox(settings: Any) -> Iterator[ScriptedMailbox]:
    """A real SMTP server on loopback whose answers each test scripts."""
    handler = ScriptedMailbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield handler
    finally:
        handler.hold.clear()
        controller.stop()


@contextmanager
def celery_configured(**changes: Any) -> Iterator[None]:
    """Change the Celery app's settings for a while (broker, eager mode), then restore them."""
    saved = {key: app.conf[key] for key in changes}
    app.conf.update(changes)
    _broker_connections_drop()
    try:
        yield
    finally:
        app.conf.update(saved)
        _broker_connections_drop()


def _broker_connections_drop() -> None:
    # The app keeps its broker connection pools from first use, so a changed broker_url
    # only counts on fresh ones: the same reset Celery does after a fork. (Not closed:
    # kombu shares pools per URL process-wide, and reuses them.)
    app._pool = None  # type: ignore[attr-defined]
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("REDIS_URL is not set (CI=true: no skipping)")
        pytest.skip("no Redis")
    return url


@pytest.fixture
def worker(redis_url: str, mailbox: ScriptedMailbox, settings: Any) -> Iterator[Any]:
    """A real Celery worker on the test database, fed through Redis (as in production)."""
    with worker_running(redis_url, mailbox, settings, pool=["--pool", "solo"]) as process:
        yield process


@pytest.fixture
def prefork_worker(redis_url: str, mailbox: ScriptedMailbox, settings: Any) -> Iterator[Any]:
    """As ``worker``, with production's pool: prefork (one child process here)."""
    pool = ["--pool", "prefork", "--concurrency", "1"]
    with worker_running(redis_url, mailbox, settings, pool=pool) as process:
        yield process


@contextmanager
def worker_running(
    redis_url: str, mailbox: ScriptedMailbox, settings: Any, *, pool: list[str]
) -> Iterator[Any]:
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    env = {
        **os.environ,
        "APP_MODE": "test",
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": f"postgresql://{db['USER']}@{host}:{db['PORT'] or 5432}/{db['NAME']}"
        f"?application_name={WORKER_APPLICATION_NAME}",  # its connections, told apart
        "EMAIL_HOST": settings.EMAIL_HOST,
        "EMAIL_PORT": str(settings.EMAIL_PORT),
        "MESSAGING_NOTICE_LEASE_SECONDS": str(settings.MESSAGING_NOTICE_LEASE_SECONDS),
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", *pool]
    command += ["--loglevel", "WARNING", "--without-heartbeat", "--without-gossip"]
    command += ["--without-mingle"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        with celery_configured(broker_url=redis_url, task_always_eager=False):
            yield process
    finally:
        mailbox.hold.clear()  # a worker stuck in DATA would never finish a warm shutdown
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- a STARTTLS relay on loopback with a CA made for the run (tests of TLS e-mail) ----


@pytest.fixture(scope="module")
def ca() -> ThrowawayCA:
    return ThrowawayCA()


@pytest.fixture(scope="module")
def leaf(ca: ThrowawayCA) -> Leaf:
    return ca.leaf("localhost")


@pytest.fixture
def trusted(ca: ThrowawayCA, tmp_path: Path, settings: Any) -> None:
    """The client trusts the run's CA alone, as an operator's internal CA would be."""
    path = tmp_path / "ca.pem"
    path.write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))
    settings.EMAIL_TLS_CA_FILE = str(path)


@pytest.fixture
def tls_relay(leaf: Leaf, trusted: None, settings: Any) -> Iterator[Server]:
    with smtp_serve(tls=leaf.server_context()) as server:
        settings.EMAIL_TLS_RELAY = f"localhost:{server.port}"
        yield server


@pytest.fixture
def clear_relay(trusted: None, settings: Any) -> Iterator[Server]:
    """A relay that does not offer STARTTLS."""
    with smtp_serve(tls=None) as server:
        settings.EMAIL_TLS_RELAY = f"localhost:{server.port}"
        yield server
