"""The production deployment of README "Running in production", on loopback.

Built from the files an operator installs, not from a copy of them: the commands come
from the ``ExecStart`` lines of ``deploy/systemd/*.service`` and nginx runs
``deploy/nginx/portal.conf`` (with the host name, ports, certificate and log paths
replaced: the replacements below must each match, so an edit of the kit that the
harness does not follow fails loudly). What differs from a real host: no systemd
(each unit's command runs as a child here), a throwaway certificate authority for
``localhost`` (trusted by the worker for SMTP's STARTTLS through SSL_CERT_FILE; the
browser ignores it), and a fresh database on the test PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shlex
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(DEPLOY))
from portal_env import env_file_read  # noqa: E402

VENV_BIN = str(Path(sys.executable).parent)
# The demo uses Redis databases 4 and 5, the tests 0 and 1, the demo's test 8.
REDIS_DB = 6


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- certificates -----------------------------------------------------------------------


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path


def certificates_make(folder: Path) -> Certificates:
    """A throwaway CA and a certificate for localhost (nginx and the SMTP server)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Smoke test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(folder / "ca.pem", folder / "localhost.pem", folder / "localhost-key.pem")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    paths.key.chmod(0o600)
    return paths


# --- the mail relay ---------------------------------------------------------------------


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        # Addresses answered "550" at RCPT (a relay's permanent failure for one mailbox).
        self.refused: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        parsed["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        parsed["X-Was-TLS"] = "yes" if session.ssl else "no"
        parsed["X-Received-At"] = f"{time.time():.3f}"
        self.messages.append(parsed)
        return "250 OK"


class TlsSmtpServer:
    """A mail relay on loopback that requires STARTTLS, as production's must."""

    def __init__(self, certs: Certificates) -> None:
        self.certs = certs
        self.collector = _Collector()
        self.port = free_port()
        self.controller = self._controller()

    def _controller(self) -> Controller:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certs.cert, self.certs.key)
        return Controller(
            self.collector,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
        )

    def restart(self) -> None:
        """Listen again on the same port after ``controller.stop()`` (a relay back up);
        what it received before is kept."""
        self.controller = self._controller()
        self.controller.start()

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages

    def wait_for(self, recipient: str, count: int = 1, seconds: float = 60) -> list[EmailMessage]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m["X-Envelope-To"] == recipient]
            if len(found) >= count:
                return found
            time.sleep(0.3)
        raise AssertionError(f"no e-mail to {recipient} within {seconds} s")


# --- the deployment kit -----------------------------------------------------------------


def unit_lines(unit: str, key: str) -> list[str]:
    """The values of ``key=`` lines of a systemd unit in deploy/systemd."""
    prefix = f"{key}="
    return [
        line[len(prefix) :]
        for line in (DEPLOY / "systemd" / unit).read_text().splitlines()
        if line.startswith(prefix)
    ]


def replaced(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the deployment kit no longer contains {old!r}: update the harness"
        text = text.replace(old, new)
    return text


@dataclass
class Topology:
    """nginx (TLS) -> two gunicorn instances -> PostgreSQL; Celery worker and beat on Redis."""

    folder: Path
    server_url: str  # any database URL on the PostgreSQL server to use
    https_port: int = field(default_factory=free_port)
    web_ports: tuple[int, int] = field(default_factory=lambda: (free_port(), free_port()))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Any Redis server to use (its databases REDIS_DB and the next): the test Redis by
    # default; the fault battery gives its own, so restarting it touches nobody else's.
    redis_server: str = ""
    # Added to portal.env (the battery's shorter retry and lease timings, its file store).
    extra_env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.database = f"portal_smoke_{uuid.uuid4().hex[:8]}"
        self.var = self.folder / "var"
        self.var.mkdir(parents=True)
        self.certs = certificates_make(self.folder)
        self.smtp = TlsSmtpServer(self.certs)
        self.base_url = f"https://localhost:{self.https_port}"
        server = self.redis_server or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
        self.redis_url = urlunsplit(urlsplit(server)._replace(path=f"/{REDIS_DB}"))
        self.admin_url = self._database_url("postgres")
        # The two roles of README "Running in production" step 3 (the server trusts
        # loopback here, so the URLs carry no password).
        self.owner_role = f"{self.database}_owner"
        self.app_role = f"{self.database}_app"

    # -- environment (what /etc/portal/portal.env holds) ---------------------------------

    def _environment(self) -> dict[str, str]:
        import secrets

        signing = self.folder / "signing"
        subprocess.run(
            [sys.executable, "manage.py", "records_demo_certificate", "--directory", str(signing)],
            cwd=ROOT,
            env={**os.environ, "APP_MODE": "test"},
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "audit_signing_key",
                "--new",
                str(signing / "audit-signing-key.pem"),
            ],
            cwd=ROOT,
            env={**os.environ, "APP_MODE": "test"},
            check=True,
            capture_output=True,
        )
        return {
            "APP_MODE": "production",
            "SECRET_KEY": secrets.token_urlsafe(64),
            "AUDIT_SEAL_KEY": secrets.token_urlsafe(48),
            "ENCRYPTION_KEYS": f"smoke-1:{secrets.token_urlsafe(32)}",
            "DATABASE_URL": self._database_url(self.database, role=self.app_role),
            "ALLOWED_HOSTS": "localhost",
            "PORTAL_BASE_URL": self.base_url,
            "WEBAUTHN_RP_ID": "localhost",
            "REDIS_URL": self.redis_url,
            "RECORDS_SIGNING_CERT_FILE": str(signing / "demo-cert.pem"),
            "RECORDS_SIGNING_KEY_FILE": str(signing / "demo-key.pem"),
            "AUDIT_SIGNING_KEY_FILE": str(signing / "audit-signing-key.pem"),
            # Anchors on a file outside the database (a separate volume in production).
            "AUDIT_ANCHOR_SINK": "file",
            "AUDIT_ANCHOR_PATH": str(self.folder / "audit-anchors.jsonl"),
            "RECORDS_PRIVACY_CONTACT": "The Privacy Officer, (555) 010-0100",
            "DEFAULT_FROM_EMAIL": "no-reply@localhost",
            "EMAIL_HOST": "localhost",
            "EMAIL_PORT": str(self.smtp.port),
            "EMAIL_USE_TLS": "true",
            # The relay's certificate is verified: against the throwaway CA here.
            "SSL_CERT_FILE": str(self.certs.ca),
            "TRUSTED_PROXY_COUNT": "1",
            "TRUSTED_PROXY_ADDRESSES": "127.0.0.1",
            "VAR_DIR": str(self.var),
            "GUNICORN_WORKERS": "2",
            "GUNICORN_THREADS": "4",
            **self.extra_env,
        }

    def _write_env_file(self) -> None:
        """/etc/portal/portal.env and owner.env, and the environment systemd would give
        each unit (every unit but the migration step gets portal.env alone)."""
        self.env_file = self.folder / "portal.env"
        lines = [f"{key}={value}" for key, value in self._environment().items()]
        self.env_file.write_text("# written by tests/deploy/topology.py\n" + "\n".join(lines))
        self.owner_env_file = self.folder / "owner.env"
        owner_url = self._database_url(self.database, role=self.owner_role)
        self.owner_env_file.write_text(f"DATABASE_OWNER_URL={owner_url}\n")
        keep = ("HOME", "LANG", "LC_ALL", "TZ")
        self.process_env = {
            **{name: os.environ[name] for name in keep if name in os.environ},
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            "PORTAL_ENV_FILE": str(self.env_file),
        }
        self.env = {**self.process_env, **env_file_read(self.env_file)}

    def run(self, *command: str, owner: bool = False) -> subprocess.CompletedProcess[str]:
        """An operator's command, through deploy/portal_env.py as the README says
        (``owner``: with ``--owner``, as the restore drill runs)."""
        flags = ["--owner"] if owner else []
        return subprocess.run(
            [sys.executable, str(DEPLOY / "portal_env.py"), *flags, *command],
            env={**self.process_env, "PORTAL_OWNER_ENV_FILE": str(self.owner_env_file)},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def _database_url(self, name: str, *, role: str = "") -> str:
        parts = urlsplit(self.server_url)._replace(path=f"/{name}")
        if role:
            parts = parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}")
        return urlunsplit(parts)

    def _unit_env(self, unit: str) -> dict[str, str]:
        """The environment systemd gives ``unit``: its EnvironmentFile= lines, in order."""
        files = {
            "/etc/portal/portal.env": self.env_file,
            "/etc/portal/owner.env": self.owner_env_file,
        }
        env = dict(self.process_env)
        for line in unit_lines(unit, "EnvironmentFile"):
            env.update(env_file_read(files[line]))
        return env

    def _command(self, line: str, instance: str = "") -> list[str]:
        line = line.replace("/opt/portal/.venv/bin", VENV_BIN)
        line = line.replace("/opt/portal", str(ROOT)).replace("/var/lib/portal", str(self.var))
        line = line.replace("%i", instance).replace("%H", "localhost")
        return shlex.split(line)

    # -- processes -----------------------------------------------------------------------

    def _start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        log = (self.folder / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(f"{VENV_BIN}/python", "manage.py", *args)

    def start(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            # The owner creates the restore drill's scratch database too.
            connection.execute(f'CREATE ROLE "{self.owner_role}" LOGIN CREATEDB')
            connection.execute(f'CREATE ROLE "{self.app_role}" LOGIN')
            connection.execute(f'CREATE DATABASE "{self.database}" OWNER "{self.owner_role}"')
        for db in (REDIS_DB, REDIS_DB + 1):  # the broker's and the cache's
            url = urlunsplit(urlsplit(self.redis_url)._replace(path=f"/{db}"))
            redis.Redis.from_url(url).flushdb()
        self._write_env_file()
        self.smtp.controller.start()
        # The upgrade step: migrations and static files (portal-migrate.service).
        migrate_env = self._unit_env("portal-migrate.service")
        for line in unit_lines("portal-migrate.service", "ExecStart"):
            subprocess.run(
                self._command(line), cwd=ROOT, env=migrate_env, check=True, capture_output=True
            )
        for index in range(1, len(self.web_ports) + 1):
            self.web_start(index)
        self.worker_start()
        (beat,) = unit_lines("portal-beat.service", "ExecStart")
        self._start("beat", self._command(beat), self._unit_env("portal-beat.service"))
        self._start("nginx", self._nginx(), self.env)
        self._wait_ready()

    def web_start(self, index: int) -> None:
        """``systemctl start portal-web@<port>`` for web instance ``index`` (1 or 2)."""
        port = self.web_ports[index - 1]
        (bind,) = unit_lines("portal-web@.service", "Environment")
        key, value = bind.replace("%i", str(port)).split("=", 1)
        (command,) = unit_lines("portal-web@.service", "ExecStart")
        web_env = {**self._unit_env("portal-web@.service"), key: value}
        self._start(f"web{index}", self._command(command, str(port)), web_env)

    def worker_start(self) -> None:
        """``systemctl start portal-worker`` (also after a crash: systemd's Restart=)."""
        (worker,) = unit_lines("portal-worker.service", "ExecStart")
        worker = replaced(worker, {"--concurrency 4": "--concurrency 2"})
        self._start("worker", self._command(worker), self._unit_env("portal-worker.service"))

    def _nginx(self) -> list[str]:
        site = replaced(
            (DEPLOY / "nginx" / "portal.conf").read_text(),
            {
                "portal.example.org": "localhost",
                "listen 443 ssl http2;": f"listen 127.0.0.1:{self.https_port} ssl http2;",
                "listen [::]:443 ssl http2;": "",
                "listen 80;": f"listen 127.0.0.1:{free_port()};",
                "listen [::]:80;": "",
                "/etc/ssl/portal/fullchain.pem": str(self.certs.cert),
                "/etc/ssl/portal/privkey.pem": str(self.certs.key),
                "server 127.0.0.1:8001": f"server 127.0.0.1:{self.web_ports[0]}",
                "server 127.0.0.1:8002": f"server 127.0.0.1:{self.web_ports[1]}",
                "/run/portal-nginx/body": str(self.folder / "nginx-body"),
                "/var/log/nginx/portal.access.log": str(self.folder / "nginx-access.log"),
                "/var/log/nginx/portal.error.log": str(self.folder / "nginx-error.log"),
            },
        )
        (self.folder / "portal.conf").write_text(site)
        temp = self.folder / "nginx-temp"
        temp.mkdir()
        main = self.folder / "nginx.conf"
        main.write_text(
            f"""
worker_processes 1;
pid {self.folder / "nginx.pid"};
error_log {self.folder / "nginx-error.log"} warn;
user root;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    proxy_temp_path {temp / "proxy"};
    fastcgi_temp_path {temp / "fastcgi"};
    uwsgi_temp_path {temp / "uwsgi"};
    scgi_temp_path {temp / "scgi"};
    include {self.folder / "portal.conf"};
}}
"""
        )
        nginx = os.environ.get("NGINX_PATH") or "/usr/sbin/nginx"
        return [
            nginx,
            "-c",
            str(main),
            "-e",
            str(self.folder / "nginx-error.log"),
            "-g",
            "daemon off;",
        ]

    def _wait_ready(self, seconds: float = 90) -> None:
        """Until nginx answers and both instances listen (beat's first heartbeat, after
        30 s, is the readiness test's to wait for)."""
        deadline = time.monotonic() + seconds
        status: int | str = "no answer"
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited: {self.log(name)[-2000:]}")
            status = self.get("/healthz")[0]
            if status == 200 and all(self.backend_answers(p) for p in self.web_ports):
                return
            time.sleep(1)
        raise AssertionError(f"the topology is not ready after {seconds} s (last: {status})")

    def backend_answers(self, port: int) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    def heartbeat_forget(self) -> None:
        """Beat's heartbeat gone from the cache, as if beat had stalled (until its next)."""
        cache = redis.Redis.from_url(
            urlunsplit(urlsplit(self.redis_url)._replace(path=f"/{REDIS_DB + 1}"))
        )
        for key in cache.scan_iter("*health:beat-heartbeat*"):
            cache.delete(key)

    def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTPS request through nginx, verifying the throwaway certificate."""
        context = ssl.create_default_context(cafile=str(self.certs.ca))
        request = urllib.request.Request(self.base_url + path, headers=headers or {})  # noqa: S310
        opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), _NoRedirect()
        )
        try:
            with opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()
        except OSError as error:
            return str(error), {}, b""  # type: ignore[return-value]

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self, name: str) -> None:
        """SIGKILL a process and its children (a crashed host's process, not a shutdown)."""
        process = self.processes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.smtp.controller.stop()
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            for role in (self.app_role, self.owner_role):
                connection.execute(f'DROP ROLE IF EXISTS "{role}"')


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def topology_running(
    folder: Path,
    server_url: str,
    *,
    redis_server: str = "",
    extra_env: dict[str, str] | None = None,
) -> Iterator[Topology]:
    topology = Topology(
        folder=folder, server_url=server_url, redis_server=redis_server, extra_env=extra_env or {}
    )
    try:
        topology.start()
        yield topology
    finally:
        topology.stop()
