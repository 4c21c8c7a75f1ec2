"""Shared fixtures: named personas from one base, signed-in clients, a real SMTP server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import Client
from django.utils import timezone

from accounts.models import (
    AuthenticatorApp,
    CareTeamMember,
    IdentityMethod,
    PatientProfile,
    Role,
    User,
)
from core.sessions import SESSION_AUTH_AT, SESSION_LAST_SEEN, SESSION_OTP_AT, now_ts
from records import signing
from tests.records.factories import Identity, identity_make

PASSWORD = "a long and unusual passphrase 42"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from
# the test body itself are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config: pytest.Config) -> None:
    """Compile the translations as `make test` does, for a pytest run on its own."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "messages.py"
    if shutil.which("msgfmt") and subprocess.run([sys.executable, str(script)]).returncode:
        raise pytest.UsageError("the translations do not compile (see above)")


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    """A request in the test client leaves its language active on the thread (as a server
    thread's next request would reset it); each test starts in the default language."""
    from django.conf import settings
    from django.utils import translation

    yield
    translation.activate(settings.LANGUAGE_CODE)


@dataclass
class Personas:
    patient: User
    other_patient: User
    clinician: User
    records_clerk: User
    privacy_officer: User

    def all(self) -> list[User]:
        return [
            self.patient,
            self.other_patient,
            self.clinician,
            self.records_clerk,
            self.privacy_officer,
        ]


def make_user(email: str, full_name: str, role: str, **extra: Any) -> User:
    user = User.objects.create_user(
        email=email, password=PASSWORD, full_name=full_name, role=role, **extra
    )
    AuthenticatorApp.objects.create(user=user, name="Test app", confirmed=True)
    return user


def make_patient(email: str, full_name: str, mrn: str, verified_by: User) -> User:
    user = make_user(email, full_name, Role.PATIENT, email_verified_at=timezone.now())
    PatientProfile.objects.create(
        user=user,
        legal_name=full_name,
        date_of_birth=date(1980, 1, 2),
        mrn=mrn,
        identity_verified_by=verified_by,
        identity_method=IdentityMethod.PHOTO_ID_IN_PERSON,
        identity_verified_at=timezone.now(),
    )
    return user


@pytest.fixture
def personas(db: Any) -> Iterator[Personas]:
    officer = make_user(
        "olivia.officer@clinic.test", "Olivia Ferreira-Officer", Role.PRIVACY_OFFICER
    )
    clinician = make_user("cedric.clinician@clinic.test", "Cedric Nakamura", Role.CLINICIAN)
    patient = make_patient(
        "penelope.patient@mail.test", "Penelope Quartermaine", "MRN-555001", officer
    )
    # The patient's clinician; the unrelated patient is on nobody's care team.
    CareTeamMember.objects.create(patient=patient, staff=clinician)
    yield Personas(
        privacy_officer=officer,
        clinician=clinician,
        records_clerk=make_user("rhea.records@clinic.test", "Rhea Vantongeren", Role.RECORDS_CLERK),
        patient=patient,
        other_patient=make_patient(
            "ulrich.unrelated@mail.test", "Ulrich Beauregard", "MRN-555002", officer
        ),
    )
    _assert_no_personal_data_in_audit_details()


@pytest.fixture
def proxy_persona(personas: Personas, client_for: Any) -> Client:
    """A client of a guardian of ``personas.patient`` with every scope, acting for them
    (the access matrix's "proxy")."""
    from tests.access import proxy_client

    return proxy_client(client_for, personas, personas.patient)


def _assert_no_personal_data_in_audit_details() -> None:
    """After every test with personas: no name, e-mail, MRN or birth date in any ``details``.

    45 CFR 164.312(b) wants the trail; our rule is that the trail itself holds no PHI.
    Every account and profile in the database at the end of the test is checked, so
    patients created during the test are covered too.
    """
    from audit.models import AuditEvent

    forbidden: set[str] = set()
    for email, name in User.objects.values_list("email", "full_name"):
        forbidden |= {email.lower(), name.lower()}
        forbidden |= {part.lower() for part in name.split() if len(part) > 3}
    for mrn, legal_name, born in PatientProfile.objects.values_list(
        "mrn", "legal_name", "date_of_birth"
    ):
        forbidden |= {mrn.lower(), legal_name.lower(), born.isoformat()}
    for details in AuditEvent.objects.values_list("details", flat=True):
        text = json.dumps(details).lower()
        leaked = sorted(word for word in forbidden if word in text)
        assert not leaked, f"personal data in audit details: {leaked}"


def sign_in_client(client: Client, user: User, *, verified: bool = True) -> Client:
    """A client signed in as ``user``; with ``verified`` its second factor was just confirmed."""
    client.force_login(user)
    session = client.session
    session[SESSION_AUTH_AT] = session[SESSION_LAST_SEEN] = now_ts()
    if verified:
        device = AuthenticatorApp.objects.filter(user=user, confirmed=True).first()
        assert device is not None
        session["otp_device_id"] = device.persistent_id
        session[SESSION_OTP_AT] = now_ts()
    session.save()
    return client


@pytest.fixture
def client_for(db: Any) -> Callable[..., Client]:
    def make(user: User | None, *, verified: bool = True) -> Client:
        client = Client()
        return sign_in_client(client, user, verified=verified) if user else client

    return make


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        parsed["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(parsed)
        return "250 OK"


@dataclass
class SMTPServer:
    host: str
    port: int
    collector: _Collector

    @property
    def messages(self) -> list[EmailMessage]:
        return self.collector.messages


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SMTPServer]:
    """A real SMTP server on loopback; Django's SMTP backend delivers to it."""
    collector = _Collector()
    port = _free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        yield SMTPServer("127.0.0.1", port, collector)
    finally:
        controller.stop()


def page_query_count(client: Client, url: str) -> int:
    """How many SQL queries one GET of ``url`` costs (the page must answer 200), once the
    process's short-lived caches are warm: one GET first, not counted (the current
    policies' ids and the key-encryption key's row are read once per few seconds).

    The fewest of two counted GETs: on a loaded machine a few-second cache can lapse
    between the warm-up and a count, which added its refill to that count (the evidence
    dashboard's guard failed so under load average 14). A page whose queries grow with
    the data grows in both counts."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    assert client.get(url).status_code == 200
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured))
    return min(counts)


def body_text(message: EmailMessage) -> str:
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _dev_null_stays_a_device() -> Iterator[None]:
    """Fails the test after which /dev/null is no longer the null device: a child process
    once deleted it (celery beat removes a schedule file it cannot open, and was given
    "-s /dev/null"), and every later "> /dev/null" on the machine then wrote a file that
    other users cannot (initdb, the demo). Costs one stat per test."""
    yield
    if os.path.exists(os.devnull) and not stat.S_ISCHR(os.stat(os.devnull).st_mode):
        pytest.fail(f"{os.devnull} is no longer a character device after this test")
    if not os.path.exists(os.devnull):
        pytest.fail(f"{os.devnull} was deleted during this test")


@pytest.fixture(scope="session", autouse=True)
def _audit_tables_can_be_flushed_between_transactional_tests() -> Iterator[None]:
    """Transactional tests (the browser's) end with a flush, which TRUNCATEs every table.

    The audit tables refuse TRUNCATE by trigger, as they must; the test database's
    superuser sets ``session_replication_role = replica`` for the flush alone, which is
    exactly what an attacker with superuser rights could do and what audit_verify catches.
    """
    from django.core.management.commands import flush
    from django.db import connections

    original = flush.Command.handle

    def handle(self: Any, **options: Any) -> Any:
        connection = connections[options.get("database", "default")]
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        try:
            return original(self, **options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Per-IP sign-in failure counters live in the cache; no test inherits another's. Nor
    the current policies' ids each process keeps for a few seconds."""
    from django.core.cache import cache

    from compliance.selectors import current_policies_forget

    cache.clear()
    current_policies_forget()
    yield
    cache.clear()
    current_policies_forget()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright (the browser tests, the smoke test)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium not found at {CHROMIUM} (CI=true: no skipping)")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def organisation_identity(tmp_path_factory: pytest.TempPathFactory) -> Identity:
    return identity_make(tmp_path_factory.mktemp("records-signing"))


@pytest.fixture
def signed_as(settings: Any) -> Iterator[Callable[..., None]]:
    """Configure the signing certificate and key, as the environment would."""

    def configure(identity: Identity, *, password: str = "") -> None:
        settings.RECORDS_SIGNING_CERT_FILE = str(identity.cert)
        settings.RECORDS_SIGNING_KEY_FILE = str(identity.key)
        settings.RECORDS_SIGNING_KEY_PASSWORD = password

    signing.signer_reset()
    yield configure
    signing.signer_reset()


@pytest.fixture
def organisation(signed_as: Callable[..., None], organisation_identity: Identity) -> Identity:
    signed_as(organisation_identity)
    return organisation_identity


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The access matrix (tests/access.py): each check runs over the routes of its kind."""
    kind = getattr(metafunc.function, "routes_kind", None)
    if kind and metafunc.cls is not None and "name" in metafunc.fixturenames:
        from tests.access import route_names

        metafunc.parametrize("name", route_names(metafunc.cls.ROUTES, kind))


PDFSIG = shutil.which("pdfsig") or "/usr/bin/pdfsig"


@pytest.fixture
def pdfsig(tmp_path: Path) -> Callable[[bytes], list[str]]:
    """Run poppler's pdfsig on a PDF; its report's lines, stripped.

    HOME is a fresh directory so no user's NSS database or browser profile changes what
    it trusts; -no-ocsp keeps it off the network (our certificate names no responder).
    """
    if not os.path.exists(PDFSIG):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"pdfsig not found at {PDFSIG} (CI=true: no skipping)")
        pytest.skip("pdfsig (Debian poppler-utils) is not installed")

    def run(pdf: bytes) -> list[str]:
        path = tmp_path / "signed.pdf"
        path.write_bytes(pdf)
        result = subprocess.run(
            [PDFSIG, "-no-ocsp", str(path)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return [line.strip() for line in result.stdout.splitlines()]

    return run
